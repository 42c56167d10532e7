/**
 * Benchmarks of the local Marathon, printed as figures:
 * (a) PUT-to-finished-deployment of a 3-instance app with an HTTP health check every second, against the timing the
 *     health check implies; (b) requests/second of `GET /v2/apps` with 30 apps; (c) startup time, in-process and CLI;
 * (e) the same PUT-to-healthy with real Docker containers against stand-in tasks.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startLocalMarathon, stopOnSignals } from '../src';

/** CLI servers this benchmark started, stopped on Ctrl-C with every in-process server (see stopOnSignals). */
const children = new Set<ChildProcess>();
// The bench process (bench/index.ts imports this module) leaves no server or task behind when interrupted.
stopOnSignals(async () => {
  await Promise.all(
    [...children].map((c) => {
      if (c.exitCode !== null || c.signalCode !== null) return undefined;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      return exited;
    }),
  );
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const fmt = (ms: number) => `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms`;

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as unknown) : null };
}

async function deploymentGone(base: string, id: string): Promise<void> {
  for (;;) {
    const { json } = await call(base, 'GET', '/v2/deployments');
    if (!(json as { id: string }[]).some((d) => d.id === id)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** (a) PUT of a new 3-instance app with an HTTP check every 1 s until its deployment is gone. */
async function deployTiming(runs: number): Promise<void> {
  const m = await startLocalMarathon({ docker: 'never' });
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const id = `/bench/web-${i}`;
      const t0 = performance.now();
      const r = await call(m.url, 'PUT', `/v2/apps${id}`, {
        instances: 3,
        cpus: 0.1,
        mem: 32,
        container: { type: 'DOCKER', docker: { image: 'registry.example.com/bench/web:1' } },
        networks: [{ mode: 'container/bridge' }],
        healthChecks: [{ protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 1, timeoutSeconds: 1, gracePeriodSeconds: 10 }],
      });
      await deploymentGone(m.url, (r.json as { deploymentId: string }).deploymentId);
      times.push(performance.now() - t0);
      await call(m.url, 'DELETE', `/v2/apps${id}`);
    }
  } finally {
    await m.close();
  }
  const med = median(times);
  console.log(`(a) PUT -> deployment finished, 3 instances, HTTP check intervalSeconds 1 (${runs} runs, built-in stand-in tasks)`);
  console.log(`    median ${fmt(med)}, min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))}`);
  console.log(
    `    implied by the check: tasks are healthy at the first check, 1 interval (1000 ms) after launch -> ~1000 ms; ` +
      `measured minus implied: ${fmt(med - 1000)} (target: within 1000 ms)`,
  );
}

/** The package's built bin (packages/local-marathon/dist/cli.js), found from wherever this file was bundled to. */
function builtCli(): string {
  for (let d = __dirname; ; d = dirname(d)) {
    const candidate = join(d, 'packages', 'local-marathon', 'dist', 'cli.js');
    if (existsSync(candidate) || dirname(d) === d) return candidate;
  }
}

/** Starts the built CLI as a child process (the server then has a core of its own); undefined when not built. */
async function startCli(): Promise<{ url: string; close: () => Promise<void> } | undefined> {
  const cli = builtCli();
  if (!existsSync(cli)) return undefined;
  const child = spawn(process.execPath, [cli, '--port', '0', '--json', '--no-docker'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString()));
    child.once('error', reject);
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    url: (JSON.parse(line) as { url: string }).url,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** (b) GET /v2/apps with 30 apps: fixed number of requests over a keep-alive agent at fixed concurrency. */
async function appsThroughput(total: number, concurrency: number, where: 'in-process' | 'child'): Promise<void> {
  const m = where === 'child' ? await startCli() : await startLocalMarathon({ docker: 'never' });
  if (!m) {
    console.log('    (server in a child process: CLI not built; run node scripts/build.mjs first)');
    return;
  }
  try {
    for (let i = 0; i < 30; i++) {
      await call(m.url, 'POST', '/v2/apps', {
        id: `/bench/svc-${i}`,
        cmd: 'sleep 600',
        instances: 1,
        cpus: 0.1,
        mem: 16,
        labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `svc-${i}.example.com` },
        env: { NODE_ENV: 'production' },
      });
    }
    for (;;) {
      const { json } = await call(m.url, 'GET', '/v2/deployments');
      if ((json as unknown[]).length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const one = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${m.url}/v2/apps`, { agent }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(n));
        });
        req.on('error', reject);
        req.end();
      });
    await Promise.all(Array.from({ length: 200 }, one));
    let sent = 0;
    let bytes = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < total) {
          sent++;
          bytes = await one();
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    agent.destroy();
    const label = where === 'child' ? 'server in its own process (the CLI)' : 'server and client in one process';
    if (where === 'in-process')
      console.log(`(b) GET /v2/apps, 30 apps (${bytes} bytes/response), ${total} requests, concurrency ${concurrency}, keep-alive agent`);
    console.log(
      `    ${label}: ${(total / secs).toFixed(0)} requests/s (target >= 2000/s), ${((secs * 1000) / total).toFixed(2)} ms/request`,
    );
  } finally {
    await m.close();
  }
}

/** (c) Startup: in-process `startLocalMarathon` until it listens, and the CLI from spawn to its printed URL. */
async function startup(runs: number): Promise<void> {
  const inproc: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const m = await startLocalMarathon({ docker: 'never' });
    inproc.push(performance.now() - t0);
    await m.close();
  }
  console.log(`(c) startup, median of ${runs}: in-process ${fmt(median(inproc))}`);
  const cli = builtCli();
  if (!existsSync(cli)) {
    console.log(`    CLI: ${cli} not built; run node scripts/build.mjs first`);
    return;
  }
  const cliTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, '--port', '0', '--json', '--no-docker'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    children.add(child);
    child.once('exit', () => children.delete(child));
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('error', reject);
    });
    cliTimes.push(performance.now() - t0);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  console.log(`    CLI (node ${cli} --port 0 --json, spawn to URL printed): ${fmt(median(cliTimes))} (target < 300 ms)`);
}

/** POST of a one-instance app until its task runs (for an app with `fetch`: fetched and extracted), in ms. */
async function launchTime(base: string, app: Record<string, unknown>): Promise<number> {
  const t0 = performance.now();
  const r = await call(base, 'POST', '/v2/apps', { instances: 1, cpus: 0.1, mem: 16, cmd: 'sleep 600', ...app });
  if (r.status !== 201) throw new Error(`POST /v2/apps: ${r.status} ${JSON.stringify(r.json)}`);
  for (;;) {
    const { json } = await call(base, 'GET', `/v2/apps${String(app.id)}`);
    const a = (json as { app: { tasksRunning: number; lastTaskFailure?: { message: string } } }).app;
    if (a.tasksRunning === 1) break;
    if (a.lastTaskFailure) throw new Error(a.lastTaskFailure.message);
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  await call(base, 'DELETE', `/v2/apps${String(app.id)}`);
  return ms;
}

/** (d) A 20 MB .tar.gz (incompressible content) from a loopback HTTP server, extracted; then again with `cache: true`. */
export async function fetchTiming(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-fetch-'));
  const src = join(dir, 'src', 'app');
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(src, `part-${i}.bin`), randomBytes(1 << 20));
  const tarball = join(dir, 'app.tar.gz');
  execFileSync('tar', ['-C', join(dir, 'src'), '-czf', tarball, 'app']);
  const body = readFileSync(tarball);
  let hits = 0;
  const files = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const uri = `http://127.0.0.1:${(files.address() as AddressInfo).port}/app.tar.gz`;
  const m = await startLocalMarathon({ docker: 'never' });
  try {
    const none: number[] = [];
    const direct: number[] = [];
    const cached: number[] = [];
    let n = 0;
    for (let i = 0; i < runs; i++) none.push(await launchTime(m.url, { id: `/bench/plain-${n++}` }));
    for (let i = 0; i < runs; i++) direct.push(await launchTime(m.url, { id: `/bench/fetch-${n++}`, fetch: [{ uri }] }));
    const before = hits;
    const first = await launchTime(m.url, { id: `/bench/cache-${n++}`, fetch: [{ uri, cache: true }] });
    for (let i = 0; i < runs; i++) cached.push(await launchTime(m.url, { id: `/bench/cache-${n++}`, fetch: [{ uri, cache: true }] }));
    const downloads = hits - before;
    const mb = (statSync(tarball).size / 2 ** 20).toFixed(1);
    const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `(d) fetch: ${mb} MB .tar.gz (20 x 1 MiB random files) from a loopback HTTP server, extracted; POST to task running, median of ${runs}`,
    );
    console.log(`    no fetch (baseline launch): ${sec(median(none))}`);
    console.log(`    fetch + extract, no cache: ${sec(median(direct))}`);
    console.log(
      `    cache: true: first launch (download into the cache) ${sec(first)}, then from the cache ${sec(median(cached))} ` +
        `(${downloads} download for ${runs + 1} launches)`,
    );
  } finally {
    await m.close();
    files.closeAllConnections();
    await new Promise((r) => files.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the local Marathon benchmarks and prints their figures. */
/** The project's base image (`npm run base-image -- --json` at the repository root), or undefined without Docker. */
function baseImage(): string | undefined {
  for (let d = __dirname; dirname(d) !== d; d = dirname(d)) {
    if (!existsSync(join(d, 'scripts', 'base-image.ts'))) continue;
    try {
      const out = execFileSync('npm', ['run', '--silent', 'base-image', '--', '--json'], {
        cwd: d,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return (JSON.parse(out) as { image: string }).image;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * (e) PUT -> deployment finished (all healthy) for a 3-instance bridge app with an HTTP check every 0.5 s: real Docker
 * containers (a Node HTTP server in the base image) against the same app run by stand-in tasks.
 */
export async function dockerTiming(runs: number): Promise<void> {
  const image = baseImage();
  if (!image) {
    console.log('(e) Docker vs stand-in: skipped (no Docker engine or no base image)');
    return;
  }
  const server = "require('http').createServer((q, s) => s.end('ok')).listen(8080)";
  const definition = {
    instances: 3,
    cpus: 0.1,
    mem: 64,
    cmd: `exec node -e "${server}"`,
    container: { type: 'DOCKER', docker: { image }, portMappings: [{ containerPort: 8080, hostPort: 0 }] },
    networks: [{ mode: 'container/bridge' }],
    labels: { 'local-marathon.bench': 'docker' },
    healthChecks: [{ protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 0.5, timeoutSeconds: 1, gracePeriodSeconds: 30 }],
  };
  const results: Record<string, number[]> = {};
  for (const docker of ['never', 'auto'] as const) {
    const m = await startLocalMarathon({ docker });
    const times: number[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        const id = `/bench/docker-${i}`;
        const t0 = performance.now();
        const r = await call(m.url, 'PUT', `/v2/apps${id}`, definition);
        await deploymentGone(m.url, (r.json as { deploymentId: string }).deploymentId);
        times.push(performance.now() - t0);
        const d = await call(m.url, 'DELETE', `/v2/apps${id}`);
        await deploymentGone(m.url, (d.json as { deploymentId: string }).deploymentId);
      }
    } finally {
      await m.close();
    }
    results[docker] = times;
  }
  const line = (name: string, t: number[]) =>
    `    ${name}: median ${fmt(median(t))}, min ${fmt(Math.min(...t))}, max ${fmt(Math.max(...t))}`;
  console.log(`(e) PUT -> deployment finished, 3 instances, bridge, HTTP check intervalSeconds 0.5 (${runs} runs each)`);
  console.log(line('stand-in tasks        ', results.never));
  console.log(line(`Docker (${image})`, results.auto));
  console.log(`    Docker minus stand-in (medians): ${fmt(median(results.auto) - median(results.never))}`);
}

export async function main(): Promise<void> {
  await deployTiming(9);
  await appsThroughput(3000, 16, 'in-process');
  await appsThroughput(3000, 16, 'child');
  await startup(7);
  await fetchTiming(5);
  await dockerTiming(5);
}
