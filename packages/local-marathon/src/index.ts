/**
 * A local Marathon-compatible server for development and tests. It speaks Marathon's REST API as written
 * down in reference/marathon-api/SEMANTICS.md and runs tasks as real local processes. It shares no code with the
 * project's Marathon client, so the client's tests against it check the protocol, not shared assumptions.
 */
import { createServer } from 'node:http';
import { Socket } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { LocalMarathonConfigError } from './errors';
import { EventBus } from './events';
import { Faults } from './faults';
import { FetcherConnectTo } from './fetcher';
import { marathonInfo } from './info';
import { createHandler } from './http';
import { JsonObject } from './json';
import { Marathon } from './marathon';
import { ProcessRecord, reapStaleWorkDirs } from './orphans';
import { Runner } from './task-runner';
import { Scheduler } from './scheduler';
import { Store } from './store';

export { LocalMarathonConfigError } from './errors';
export type { ConfigErrorCode } from './errors';
export type { FetcherConnectTo } from './fetcher';

/** Marathon's `--enable_features` values (Marathon 1.10's Features); anything else is refused at startup, as there. */
export const KNOWN_FEATURES = ['vips', 'task_killing', 'external_volumes', 'secrets', 'gpu_resources', 'maintenance_mode'] as const;

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
  /**
   * Host names (without port) accepted in the `Host` header besides the loopback ones (127.0.0.1, localhost, [::1]);
   * any other `Host` gets 403, so a web page cannot reach the server through DNS rebinding. @default []
   */
  allowedHosts?: string[];
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
  /**
   * The fetcher's connection table, as curl's `--connect-to HOST:PORT:ADDR:PORT2`: a fetch URI on `HOST:PORT` is
   * downloaded from `ADDR:PORT2`, with its `Host` header (and TLS server name) still `HOST:PORT`. The stand-in for an
   * agent's DNS (and a load balancer's service port): a harness that serves a cluster-internal name here (the
   * artifact server's `artifacts.marathon.internal:5001`) routes the fetcher to it without changing the app. Only
   * the fetcher's connections change: the app's `fetch[].uri`, what the API reports and the fetcher's log keep the URI
   * as submitted. @default [] (none: every URI's host is resolved as written)
   */
  fetcherConnectTo?: readonly FetcherConnectTo[];
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

const WORK_DIR_PREFIX = 'local-marathon-';

/** The process record of a state directory; a state directory that a live server owns is refused. */
function stateDirRecord(stateDir: string): ProcessRecord {
  const record = new ProcessRecord(stateDir);
  const owner = record.owner();
  if (owner !== undefined) {
    throw new LocalMarathonConfigError(
      'STATE_IN_USE',
      `--state ${stateDir} is in use by the local Marathon with pid ${owner}`,
      'stop that server first, or give another directory',
    );
  }
  return record;
}

function isDirectory(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch {
    return undefined;
  }
}

/** A host name, an IPv4 address or a bracketed IPv6 address. */
const HOST_NAME = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/i;

/** Checks the options before anything is created; throws {@link LocalMarathonConfigError}. */
export function checkOptions(options: LocalMarathonOptions): void {
  if (options.stateDir !== undefined && isDirectory(options.stateDir) === false) {
    throw new LocalMarathonConfigError(
      'STATE_NOT_A_DIRECTORY',
      `--state ${options.stateDir} is a file, not a directory`,
      'give a directory (it is created when missing)',
    );
  }
  // A store that does not exist yet is fine in-process (a harness may fill it after start); the CLI requires it.
  if (options.imageStore !== undefined && isDirectory(options.imageStore) === false) {
    throw new LocalMarathonConfigError(
      'IMAGES_NOT_A_DIRECTORY',
      `--images ${options.imageStore} is not a directory`,
      'give an image store directory: <dir>/<name>/<tag>/run',
    );
  }
  const unknown = (options.enableFeatures ?? []).filter((f) => !(KNOWN_FEATURES as readonly string[]).includes(f));
  if (unknown.length) {
    throw new LocalMarathonConfigError(
      'UNKNOWN_FEATURE',
      `unknown feature${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in --enable-features`,
      `choose from ${KNOWN_FEATURES.join(', ')}`,
    );
  }
  if (options.credentials !== undefined && !/^[^:]+:.+$/.test(options.credentials)) {
    throw new LocalMarathonConfigError('BAD_CREDENTIALS', "credentials must look like 'user:password'", 'e.g. ops:s3cret');
  }
  for (const c of options.fetcherConnectTo ?? []) {
    const port = (p: number) => Number.isInteger(p) && p > 0 && p <= 65535;
    if (!HOST_NAME.test(c.host) || !port(c.port) || !HOST_NAME.test(c.to.host) || !port(c.to.port)) {
      throw new LocalMarathonConfigError(
        'BAD_CONNECT_TO',
        `fetcherConnectTo: '${c.host}:${c.port}' -> '${c.to.host}:${c.to.port}' is not HOST:PORT -> ADDR:PORT`,
        'e.g. { host: "artifacts.marathon.internal", port: 5001, to: { host: "127.0.0.1", port: 41234 } }',
      );
    }
  }
  for (const h of options.allowedHosts ?? []) {
    if (!HOST_NAME.test(h)) {
      throw new LocalMarathonConfigError('BAD_ALLOWED_HOST', `--allowed-hosts: '${h}' is not a host name`, 'e.g. marathon.test,[::2]');
    }
  }
}

/**
 * Starts the server; resolves once it listens. Bad options throw {@link LocalMarathonConfigError} before anything is
 * created or written.
 */
export async function startLocalMarathon(options: LocalMarathonOptions = {}): Promise<LocalMarathon> {
  checkOptions(options);
  const log = options.log ?? (() => undefined);
  const features = options.enableFeatures ?? [];
  const store = new Store(options.stateDir);
  const record = options.stateDir ? stateDirRecord(options.stateDir) : undefined;
  // Without a state directory, the work directories of servers that died (kill -9) are found in the temp directory.
  if (!record) reapStaleWorkDirs(tmpdir(), WORK_DIR_PREFIX, log);
  const workDir = mkdtempSync(join(tmpdir(), WORK_DIR_PREFIX));
  const processes = record ?? new ProcessRecord(workDir);
  const reaped = processes.reap() ?? [];
  if (reaped.length) log(`killed ${reaped.length} task(s) left by a previous server of ${processes.dir}`);
  const hostEnv = options.hostEnv ?? process.env;
  const runner = new Runner({
    workDir,
    imageStore: options.imageStore,
    docker: options.docker ?? 'auto',
    path: hostEnv.PATH ?? '',
    dockerEnv: hostEnv,
    log,
    fetcherStallTimeoutMs: options.fetcherStallTimeoutSeconds === undefined ? undefined : options.fetcherStallTimeoutSeconds * 1000,
    fetcherConnectTo: options.fetcherConnectTo ?? [],
    processes,
  });
  const events = new EventBus();
  const faults = new Faults();
  const scheduler = new Scheduler(store, runner, events, faults, log, hostEnv);
  const marathon = new Marathon(store, scheduler, events, faults, features);
  const frameworkId = `${randomUUID()}-0000`;
  let port = options.port ?? 0;

  const info = async (): Promise<JsonObject> => marathonInfo({ port, frameworkId, features, mesosUser: hostEnv.USER ?? 'nobody' });
  /** `GET /__local/info`: how this server runs tasks (not in real Marathon, so not in `/v2/info`). */
  const localInfo = async (): Promise<JsonObject> => {
    const docker = await runner.dockerAvailable();
    return {
      dockerTasks: docker ? 'docker' : options.imageStore ? 'image-store, else stand-in' : 'stand-in',
      dockerEngine: docker,
      instanceId: runner.instanceId(),
      imageStore: options.imageStore ?? null,
      stateDir: options.stateDir ?? null,
      auth: options.credentials ? 'basic' : options.token ? 'token' : 'none',
      faults: '/__local/faults',
      runners: runner.kinds(),
    };
  };

  const handler = createHandler({
    marathon,
    credentials: options.credentials,
    token: options.token,
    allowedHosts: options.allowedHosts ?? [],
    port: () => port,
    info,
    localInfo,
    log,
  });
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
  processes.claim();
  scheduler.start();
  log(`local Marathon listening on http://127.0.0.1:${port}`);

  let closing: Promise<void> | undefined;
  const started: LocalMarathon = {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      running.delete(started);
      closing ??= (async () => {
        events.closeAll();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await scheduler.close();
        await runner.close();
        store.persist();
        processes.release();
        await closed;
        rmSync(workDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
  running.add(started);
  return started;
}

/** Every server started in this process and not closed yet. */
const running = new Set<LocalMarathon>();
let signalsHandled = false;

/**
 * For harnesses (benchmarks, demos) that start servers in-process: on the first SIGINT or SIGTERM, closes every
 * server started in this process (and runs `also`, e.g. to stop child processes). Task process groups get SIGTERM at
 * once. Then, unless the process has other listeners for the signal (they own the exit), it exits 130 or 143. Installed
 * once per process; the server never installs it on its own.
 */
export function stopOnSignals(also: () => Promise<void> = async () => undefined): void {
  if (signalsHandled) return;
  signalsHandled = true;
  const stop = (signal: NodeJS.Signals, code: number) => {
    void Promise.allSettled([...[...running].map((m) => m.close()), also()]).then(() => {
      if (process.listenerCount(signal) === 0) process.exit(code);
    });
  };
  process.once('SIGINT', () => stop('SIGINT', 130));
  process.once('SIGTERM', () => stop('SIGTERM', 143));
}
