// A stand-in for marathon-lb (the main job, the docker tests and the benchmark use it; the product never imports it):
// see README.md in this folder.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { RawApp, renderHaproxyConfig } from './render';

export { mergeDeploymentGroups, renderHaproxyConfig } from './render';
export type { RawApp, RawTask } from './render';

/** What to install when `haproxy` is missing (Debian's package, which puts the binary in /usr/sbin). */
export const HAPROXY_INSTALL = 'sudo apt-get install haproxy';

/** The `haproxy` binary on `path` (a PATH value), or undefined when no directory of it holds one. */
export function findHaproxy(path: string): string | undefined {
  for (const dir of path.split(delimiter)) if (dir && existsSync(join(dir, 'haproxy'))) return join(dir, 'haproxy');
  return undefined;
}

/** A running stand-in for marathon-lb: real HAProxy, configured from the local Marathon's state. */
export interface MarathonLbHarness {
  /** marathon-lb's stats page (`/haproxy?stats;csv`), as zdd.py's `--marathon-lb`. */
  readonly statsUrl: string;
  /** The virtual-host frontend (marathon-lb's port 80). */
  readonly httpUrl: string;
  /** HAProxy reloads so far. */
  reloads(): number;
  /** The configuration HAProxy runs now. */
  config(): string;
  close(): Promise<void>;
}

/** A free loopback port (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Sends one command to HAProxy's stats socket and returns its answer ('' when the socket is not there yet). */
function socketCommand(path: string, command: string): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const c = createConnection(path);
    c.on('data', (d) => (out += d.toString()));
    c.on('end', () => resolve(out));
    c.on('error', () => resolve(''));
    c.end(`${command}\n`);
  });
}

/**
 * Starts the harness: polls `GET /v2/apps?embed=apps.tasks` every `pollMs` (marathon-lb listens to the event stream
 * and re-reads the same endpoint), renders the configuration, and when it changed saves the servers' state through
 * the stats socket and reloads HAProxy the way marathon-lb does: a new process that takes the listening sockets
 * (`-x`) and tells the old one to finish its connections (`-sf`).
 */
export async function startMarathonLb(
  marathonUrl: string,
  options: { /** The binary (see findHaproxy). */ haproxy: string; pollMs?: number },
): Promise<MarathonLbHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'c2c-mlb-'));
  const opts = { statsPort: await freePort(), httpPort: await freePort(), socket: join(dir, 'socket'), stateFile: join(dir, 'state') };
  const cfgPath = join(dir, 'haproxy.cfg');
  const procs = new Set<ChildProcess>();
  let current: ChildProcess | null = null;
  let config = '';
  let reloads = 0;
  let closed = false;

  const reload = async (next: string) => {
    if (current) writeFileSync(opts.stateFile, await socketCommand(opts.socket, 'show servers state'));
    else writeFileSync(opts.stateFile, '');
    writeFileSync(cfgPath, next);
    const args = ['-db', '-f', cfgPath];
    if (current?.pid) args.push('-x', opts.socket, '-sf', String(current.pid));
    const p = spawn(options.haproxy, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr?.on('data', (d) => (stderr += d.toString()));
    procs.add(p);
    p.on('exit', () => procs.delete(p));
    await waitReady(p, opts.socket, () => stderr);
    current = p;
    config = next;
    reloads++;
  };

  const tick = async () => {
    const res = await fetch(`${marathonUrl}/v2/apps?embed=apps.tasks`, { signal: AbortSignal.timeout(3000) });
    const apps = ((await res.json()) as { apps: RawApp[] }).apps;
    const next = renderHaproxyConfig(apps, opts);
    if (next !== config) await reload(next);
  };

  await tick();
  const loop = (async () => {
    while (!closed) {
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
      if (!closed) await tick().catch(() => undefined);
    }
  })();

  return {
    statsUrl: `http://127.0.0.1:${opts.statsPort}`,
    httpUrl: `http://127.0.0.1:${opts.httpPort}`,
    reloads: () => reloads,
    config: () => config,
    async close() {
      closed = true;
      await loop;
      await Promise.all(
        [...procs].map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : (p.once('exit', r), p.kill('SIGTERM'))))),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the new process owns the stats socket (`show info` gives its pid), or fails with its stderr if it exits. */
async function waitReady(p: ChildProcess, socket: string, stderr: () => string): Promise<void> {
  for (;;) {
    if (p.exitCode !== null) throw new Error(`haproxy exited ${p.exitCode}: ${stderr()}`);
    const info = await socketCommand(socket, 'show info');
    if (new RegExp(`^Pid: ${p.pid}$`, 'm').test(info)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
