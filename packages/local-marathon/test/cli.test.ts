/** Black-box tests of the `local-marathon` CLI: URL on stdout, /ping, clean SIGTERM with no orphans, --help, exit codes. */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { alive, list, num, until } from './helpers';

let dir: string;
let cli: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lm-cli-'));
  cli = join(dir, 'local-marathon.js');
  await build({
    entryPoints: [join(__dirname, '../src/cli.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: cli,
    logLevel: 'error',
  });
});
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

test('--help documents the options and exit codes and exits 0', async () => {
  const p = run(['--help']);
  expect(await p.exit).toBe(0);
  for (const s of [
    '--port',
    '--state',
    '--credentials',
    '--token',
    '--images',
    '--enable-features',
    '--json',
    'Exit codes',
    '/__local/faults',
  ])
    expect(p.out()).toContain(s);
});

test('a bad flag exits 2', async () => {
  const p = run(['--bogus']);
  expect(await p.exit).toBe(2);
  expect(p.err()).toMatch(/unknown option '--bogus'/i);
  expect(await run(['--port', 'abc']).exit).toBe(2);
});

test('a port in use exits 2 with a one-line message', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const p = run(['--port', String(port)]);
  expect(await p.exit).toBe(2);
  expect(p.err()).toContain(`Port ${port}`);
  await new Promise((r) => blocker.close(r));
});

test('--port 0 --json prints its URL, answers /ping, runs tasks, and SIGTERM stops it and every task', async () => {
  const p = run(['--port', '0', '--json', '--no-docker']);
  const line = await until(async () => (p.out().includes('\n') ? p.out() : undefined), 'the URL line', 5000);
  const { url } = JSON.parse(line.trim()) as { url: string };
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(await (await fetch(`${url}/ping`)).text()).toBe('pong');
  const post = (body: unknown) =>
    fetch(`${url}/v2/apps`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect((await post({ id: '/sh', cmd: 'sleep 60', instances: 2, portDefinitions: [] })).status).toBe(201);
  expect((await post({ id: '/img', instances: 1, container: { docker: { image: 'nginx:1' } } })).status).toBe(201);
  const pids = await until(async () => {
    const tasks = list(((await (await fetch(`${url}/__local/tasks`)).json()) as { tasks: never }).tasks);
    return tasks.length === 3 && tasks.every((t) => t.pid) ? tasks.map((t) => num(t.pid)) : undefined;
  }, 'three running tasks');
  for (const pid of pids) expect(alive(pid)).toBe(true);
  p.child.kill('SIGTERM');
  expect(await p.exit).toBe(0);
  for (const pid of pids) expect(alive(pid)).toBe(false);
});
