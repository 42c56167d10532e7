/**
 * Benchmarks of the local Marathon, printed as figures:
 * (a) PUT-to-finished-deployment of a 3-instance app with an HTTP health check every second, against the timing the
 *     health check implies; (b) requests/second of `GET /v2/apps` with 30 apps; (c) startup time, in-process and CLI.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
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

/** Runs the local Marathon benchmarks and prints their figures. */
export async function main(): Promise<void> {
  await deployTiming(9);
  await appsThroughput(3000, 16, 'in-process');
  await appsThroughput(3000, 16, 'child');
  await startup(7);
}
