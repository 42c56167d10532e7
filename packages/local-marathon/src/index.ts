/**
 * A local Marathon-compatible server for development and tests. It speaks Marathon's REST API as written
 * down in reference/marathon-api/SEMANTICS.md and runs tasks as real local processes. It shares no code with the
 * project's Marathon client, so the client's tests against it check the protocol, not shared assumptions.
 */
import { createServer } from 'node:http';
import { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { EventBus } from './events';
import { Faults } from './faults';
import { createHandler } from './http';
import { JsonObject } from './json';
import { Marathon } from './marathon';
import { Runner } from './runner';
import { Scheduler } from './scheduler';
import { Store } from './store';

/** Options of {@link startLocalMarathon}. */
export interface LocalMarathonOptions {
  /** TCP port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** Directory for apps, versions, deployments and service ports (JSON files). @default - memory only */
  stateDir?: string;
  /** `user:pass`: HTTP basic auth on every path, with Jetty's non-JSON 401. @default - no auth */
  credentials?: string;
  /** DC/OS mode: require `Authorization: token=<token>`. @default - no token */
  token?: string;
  /** Directory of local "images": `<imageStore>/<name>/<tag>/run`. @default - none */
  imageStore?: string;
  /** Marathon's `--enable_features`, e.g. `['secrets']`. @default [] */
  enableFeatures?: string[];
  /** 'auto' runs Docker apps with `docker run` when an engine answers; 'never' always uses the stand-in. @default 'auto' */
  docker?: 'auto' | 'never';
  /** Receives log lines. @default - silent */
  log?: (line: string) => void;
}

/** A running local Marathon. */
export interface LocalMarathon {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Stops every task process group, ends event streams, closes the listener. */
  close(): Promise<void>;
}

/** Thrown when the port cannot be bound (in use, or not permitted). */
export class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
  constructor(port: number, cause: unknown) {
    super(`Port ${port} on 127.0.0.1 is not available; pick another with --port or use 0 for a free one`, { cause });
    this.name = 'PortInUseError';
  }
}

/** Starts the server; resolves once it listens. */
export async function startLocalMarathon(options: LocalMarathonOptions = {}): Promise<LocalMarathon> {
  const log = options.log ?? (() => undefined);
  const features = options.enableFeatures ?? [];
  const workDir = mkdtempSync(join(tmpdir(), 'local-marathon-'));
  const store = new Store(options.stateDir);
  const runner = new Runner({ workDir, imageStore: options.imageStore, docker: options.docker ?? 'auto' });
  const events = new EventBus();
  const faults = new Faults();
  const scheduler = new Scheduler(store, runner, events, faults, log);
  const marathon = new Marathon(store, scheduler, events, faults, features);
  const frameworkId = `${randomUUID()}-0000`;
  let port = options.port ?? 0;

  const info = async (): Promise<JsonObject> => {
    const docker = await runner.dockerAvailable();
    return {
      name: 'marathon',
      version: '1.10.26',
      buildref: 'local-marathon',
      elected: true,
      leader: `127.0.0.1:${port}`,
      frameworkId,
      marathon_config: {
        access_control_allow_origin: [],
        checkpoint: true,
        decline_offer_duration: 120000,
        env_vars_prefix: '',
        executor: '//cmd',
        failover_timeout: 604800,
        features,
        framework_name: 'marathon',
        ha: false,
        hostname: '127.0.0.1',
        launch_token: 100,
        launch_token_refresh_interval: 30000,
        leader_proxy_connection_timeout_ms: 5000,
        leader_proxy_read_timeout_ms: 10000,
        local_port_max: 20000,
        local_port_min: 10000,
        master: 'local',
        max_instances_per_offer: 5,
        mesos_bridge_name: 'mesos-bridge',
        mesos_heartbeat_failure_threshold: 5,
        mesos_heartbeat_interval: 15000,
        mesos_leader_ui_url: '',
        mesos_role: '*',
        mesos_user: process.env.USER ?? 'nobody',
        min_revive_offers_interval: 5000,
        offer_matching_timeout: 3000,
        on_elected_prepare_timeout: 180000,
        reconciliation_initial_delay: 15000,
        reconciliation_interval: 600000,
        scale_apps_initial_delay: 15000,
        scale_apps_interval: 300000,
        store_cache: true,
        task_launch_confirm_timeout: 300000,
        task_launch_timeout: 300000,
        task_lost_expunge_initial_delay: 300000,
        task_lost_expunge_interval: 30000,
        task_reservation_timeout: 20000,
        webui_url: `http://127.0.0.1:${port}`,
      },
      zookeeper_config: {
        zk: 'local',
        zk_compression: true,
        zk_compression_threshold: 65536,
        zk_connection_timeout: 10000,
        zk_max_node_size: 1024000,
        zk_max_versions: 50,
        zk_session_timeout: 10000,
        zk_timeout: 10000,
      },
      http_config: { http_port: port, https_port: 8443 },
      // Not in real Marathon: how this server runs tasks.
      local: {
        dockerTasks: docker ? 'docker' : options.imageStore ? 'image-store, else stand-in' : 'stand-in',
        dockerEngine: docker,
        imageStore: options.imageStore ?? null,
        stateDir: options.stateDir ?? null,
        auth: options.credentials ? 'basic' : options.token ? 'token' : 'none',
        faults: '/__local/faults',
        runners: ['cmd', 'image-store', 'docker', 'stand-in'],
      },
    };
  };

  const handler = createHandler({ marathon, credentials: options.credentials, token: options.token, port: () => port, info, log });
  const server = createServer({ keepAliveTimeout: 5000 }, handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PortInUseError(port, e)));
    server.listen(port, '127.0.0.1', () => resolve());
  }).catch(async (e: unknown) => {
    rmSync(workDir, { recursive: true, force: true });
    throw e;
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : port;
  scheduler.start();
  log(`local Marathon listening on http://127.0.0.1:${port}`);

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= (async () => {
        events.closeAll();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await scheduler.close();
        store.persist();
        await closed;
        rmSync(workDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
