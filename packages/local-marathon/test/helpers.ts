/** Shared helpers for the local Marathon tests: start/stop servers, a small fetch wrapper, polling. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ClientRequest, request } from 'node:http';
import { LocalMarathon, LocalMarathonOptions, startLocalMarathon } from '../src';

/** A JSON value read from a response, indexable without casts at every step. */
export interface Loose {
  [key: string]: Loose;
}

/** A response: status, headers, raw text and the parsed body (`{}` when not JSON). */
export interface Res {
  status: number;
  headers: Headers;
  text: string;
  body: Loose;
}

/** Treats a JSON value as an array. */
export function list(v: Loose | undefined): Loose[] {
  return Array.isArray(v) ? (v as unknown as Loose[]) : [];
}

/** Treats a JSON value as a string. */
export function str(v: Loose | undefined): string {
  return v as unknown as string;
}

/** Treats a JSON value as a number. */
export function num(v: Loose | undefined): number {
  return v as unknown as number;
}

/** A started server plus a request helper bound to it. */
export interface TestServer {
  m: LocalMarathon;
  url: string;
  req: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Res>;
}

const started = new Set<LocalMarathon>();

/** Starts a server on 127.0.0.1:0 with Docker disabled; `stopAll` in afterEach/afterAll closes it. */
export async function start(options: LocalMarathonOptions = {}): Promise<TestServer> {
  const m = await startLocalMarathon({ docker: 'never', ...options });
  started.add(m);
  const req = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const h: Record<string, string> = { ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    const r = await fetch(`${m.url}${path}`, { method, headers: h, body: payload, signal: AbortSignal.timeout(10000) });
    const text = await r.text();
    let parsed: Loose = {};
    try {
      parsed = text ? (JSON.parse(text) as Loose) : {};
    } catch {
      parsed = {};
    }
    return { status: r.status, headers: r.headers, text, body: parsed };
  };
  return { m, url: m.url, req };
}

/** How each task runs (`/__local/tasks`: runner kind, pid, sandbox), by task id. */
export async function localTasks(s: TestServer): Promise<Map<string, Loose>> {
  const tasks = list((await s.req('GET', '/__local/tasks')).body.tasks);
  return new Map(tasks.map((t) => [str(t.id), t]));
}

/** Closes every server started by `start`. */
export async function stopAll(): Promise<void> {
  const all = [...started];
  started.clear();
  await Promise.all(all.map((m) => m.close()));
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function until<T>(fn: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until no deployment is listed. */
export async function settled(s: TestServer, timeoutMs = 15000): Promise<void> {
  await until(async () => list((await s.req('GET', '/v2/deployments')).body).length === 0, 'deployments to finish', timeoutMs);
}

/** Fields 3 on of /proc/<pid>/stat (state first, start time at index 19), or undefined when the process is gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The start time of process `pid` (clock ticks since boot), or undefined when it is gone. */
export function startTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

/**
 * Whether a process is alive: `process.kill(pid, 0)` succeeds and it is not a zombie. A killed grandchild is
 * re-parented to PID 1, which in some containers never reaps it; such a zombie no longer runs. With `started` (its
 * start time when the test saw it), a process that got the pid later is not it: the pid was handed out again.
 * A pid that is not a process id (0 signals the test's own group, -1 everything) is a mistake of the test: it throws.
 */
export function alive(pid: number, started?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`alive(${pid}): not the pid of a task`);
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const fields = procStat(pid);
  if (!fields) return true;
  return fields[0] !== 'Z' && (started === undefined || fields[19] === started);
}

/** A fast health check for test apps (0.2 s interval). */
export const fastHttpCheck = {
  protocol: 'HTTP',
  path: '/',
  portIndex: 0,
  intervalSeconds: 0.2,
  gracePeriodSeconds: 5,
  timeoutSeconds: 1,
  maxConsecutiveFailures: 3,
};

/** A subscription to `/v2/events`, collecting frames; tests assert on what it collected, never inside its callbacks. */
export interface EventStream {
  /**
   * Resolves once the subscription is live: on the `event_stream_attached` event when the filter lets it through,
   * otherwise on the response headers (the server registers the subscriber before it flushes them, §14).
   */
  attached: Promise<void>;
  /** Parsed `data:` of every frame, in order. */
  events: Loose[];
  /** The response's Content-Type. */
  contentType: () => string | undefined;
  /** Frames whose `event:` line differs from the data's `eventType`. */
  mismatched: string[];
  /** Resolves with the events so far once `done(events)` holds (checked on every frame). */
  until(done: (events: Loose[]) => boolean): Promise<Loose[]>;
  close(): void;
}

/** Subscribes to `<url>/v2/events<query>` with a plain HTTP client. */
export function eventStream(url: string, query = '', headers: Record<string, string> = {}): EventStream {
  const events: Loose[] = [];
  const mismatched: string[] = [];
  const waiters: { done: (events: Loose[]) => boolean; resolve: (events: Loose[]) => void }[] = [];
  const filters = new URLSearchParams(query.replace(/^\?/, '')).getAll('event_type');
  const announcesAttach = filters.length === 0 || filters.includes('event_stream_attached');
  let contentType: string | undefined;
  let onAttached: () => void = () => undefined;
  let onError: (e: Error) => void = () => undefined;
  const attached = new Promise<void>((resolve, reject) => {
    onAttached = resolve;
    onError = reject;
  });
  const check = () => {
    for (const w of [...waiters]) {
      if (w.done(events)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve([...events]);
      }
    }
  };
  let buf = '';
  const req: ClientRequest = request(`${url}/v2/events${query}`, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
    contentType = res.headers['content-type'];
    if (!announcesAttach) onAttached();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const type = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (!data) continue;
        const ev = JSON.parse(data) as Loose;
        if (str(ev.eventType) !== type) mismatched.push(frame);
        events.push(ev);
        if (str(ev.eventType) === 'event_stream_attached') onAttached();
      }
      check();
    });
  });
  req.on('error', (e) => onError(e));
  req.end();
  return {
    attached,
    events,
    contentType: () => contentType,
    mismatched,
    until: (done) =>
      new Promise((resolve) => {
        waiters.push({ done, resolve });
        check();
      }),
    close: () => req.destroy(),
  };
}

/** Bundles the CLI (src/cli.ts) into `dir` and returns the file to run with node, as the package's bin runs it. */
export async function bundleCli(dir: string): Promise<string> {
  const cli = join(dir, 'local-marathon.js');
  await build({
    entryPoints: [join(__dirname, '../src/cli.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: cli,
    logLevel: 'error',
  });
  return cli;
}
