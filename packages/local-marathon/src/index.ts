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
import { marathonInfo } from './info';
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
  /**
   * The environment tasks inherit the basics of (PATH, HOME, LANG, LC_ALL, TMPDIR, USER, SHELL, TERM); `PATH` is also
   * where the `docker` binary is looked for. @default - this process's environment
   */
  hostEnv?: Record<string, string | undefined>;
  /**
   * A fetch download that receives nothing for this long fails the task (Mesos' `--fetcher_stall_timeout`).
   * @default 60
   */
  fetcherStallTimeoutSeconds?: number;
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
  const hostEnv = options.hostEnv ?? process.env;
  const runner = new Runner({
    workDir,
    imageStore: options.imageStore,
    docker: options.docker ?? 'auto',
    path: hostEnv.PATH ?? '',
    fetcherStallTimeoutMs: options.fetcherStallTimeoutSeconds === undefined ? undefined : options.fetcherStallTimeoutSeconds * 1000,
  });
  const events = new EventBus();
  const faults = new Faults();
  const scheduler = new Scheduler(store, runner, events, faults, log, hostEnv);
  const marathon = new Marathon(store, scheduler, events, faults, features);
  const frameworkId = `${randomUUID()}-0000`;
  let port = options.port ?? 0;

  const info = async (): Promise<JsonObject> => ({
    ...marathonInfo({ port, frameworkId, features, mesosUser: hostEnv.USER ?? 'nobody' }),
    // Not in real Marathon: how this server runs tasks.
    local: {
      dockerTasks: (await runner.dockerAvailable()) ? 'docker' : options.imageStore ? 'image-store, else stand-in' : 'stand-in',
      dockerEngine: await runner.dockerAvailable(),
      imageStore: options.imageStore ?? null,
      stateDir: options.stateDir ?? null,
      auth: options.credentials ? 'basic' : options.token ? 'token' : 'none',
      faults: '/__local/faults',
      runners: runner.kinds(),
    },
  });

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
