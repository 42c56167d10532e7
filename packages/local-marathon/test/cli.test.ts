/** Black-box tests of the `local-marathon` CLI: URL on stdout, /ping, clean SIGTERM with no orphans, --help, exit codes. */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, stop } from 'esbuild';
import { alive, bundleCli, list, num, startTime, until } from './helpers';

let dir: string;
let cli: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lm-cli-'));
  cli = await bundleCli(dir);
});
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  // esbuild's service process would outlive the file in this jest worker.
  await stop();
});

function run(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  // Its own process group, as a shell job would be: a signal meant for the test runner's group never reaches it.
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    detached: true,
  });
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
    '--credentials-file',
    'LOCAL_MARATHON_CREDENTIALS',
    '--token-file',
    'LOCAL_MARATHON_TOKEN',
    '--allowed-hosts',
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

test('--docker never runs Docker apps without an engine; another value is exit 2 naming the flag and the choices', async () => {
  const bad = run(['--docker', 'maybe']);
  expect(await bad.exit).toBe(2);
  expect(bad.err()).toBe(
    "local-marathon: --docker 'maybe': expected auto or never\nhint: use --docker never to run Docker apps without an engine\n",
  );
  const p = run(['--port', '0', '--json', '--docker', 'never']);
  const url = await urlOf(p);
  const info = (await (await fetch(`${url}/__local/info`)).json()) as { dockerEngine: boolean; dockerTasks: string };
  expect(info).toMatchObject({ dockerEngine: false, dockerTasks: 'stand-in' });
  p.child.kill('SIGTERM');
  expect(await p.exit).toBe(0);
});

/** Waits for the URL line of a server started with --json. */
async function urlOf(p: ReturnType<typeof run>): Promise<string> {
  const line = await until(async () => (p.out().includes('\n') ? p.out() : undefined), 'the URL line', 5000);
  return (JSON.parse(line.trim()) as { url: string }).url;
}

describe('credentials and tokens never come from argv (ps shows it)', () => {
  test('--credentials and --token on the command line are exit 2 with one line and a hint', async () => {
    for (const args of [['--credentials', 'ops:secret'], ['--credentials=ops:secret'], ['--token', 't']]) {
      const p = run(args);
      expect(await p.exit).toBe(2);
      expect(p.err()).toMatch(
        /^local-marathon: --(credentials|token) is not accepted: a value on the command line shows in ps\nhint: set LOCAL_MARATHON_/,
      );
      expect(p.out()).toBe('');
    }
  });

  test('LOCAL_MARATHON_CREDENTIALS turns on basic auth', async () => {
    const p = run(['--port', '0', '--json', '--no-docker'], { LOCAL_MARATHON_CREDENTIALS: 'ops:secret' });
    const url = await urlOf(p);
    expect((await fetch(`${url}/v2/apps`)).status).toBe(401);
    const auth = { Authorization: `Basic ${Buffer.from('ops:secret').toString('base64')}` };
    expect((await fetch(`${url}/v2/apps`, { headers: auth })).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });

  test('--token-file turns on token auth (the trailing newline is not part of it)', async () => {
    writeFileSync(join(dir, 'token'), 'jwt-42\n');
    const p = run(['--port', '0', '--json', '--no-docker', '--token-file', join(dir, 'token')]);
    const url = await urlOf(p);
    expect((await fetch(`${url}/__local/info`)).status).toBe(401);
    expect((await fetch(`${url}/__local/info`, { headers: { Authorization: 'token=jwt-42' } })).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });
});

describe('CLI mistakes are exit 2 with one line, and nothing is written', () => {
  /** Every file under `d` with its content, to show that a refused start changed nothing. */
  const snapshot = (d: string): Record<string, string> =>
    Object.fromEntries(readdirSync(d, { recursive: true, encoding: 'utf8' }).map((f) => [f, readFileSync(join(d, f), 'utf8')]));

  const refused = async (args: string[], message: RegExp): Promise<void> => {
    // The server's work directory goes to TMPDIR: a fresh one shows that nothing was created there either.
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const p = run(args, { TMPDIR: tmp });
    expect(await p.exit).toBe(2);
    expect(p.err()).toMatch(message);
    expect(p.err().trim().split('\n')).toHaveLength(2);
    expect(p.err().split('\n')[1]).toMatch(/^hint: /);
    expect(p.out()).toBe('');
    expect(readdirSync(tmp)).toEqual([]);
  };

  test('--state naming a file', async () => {
    writeFileSync(join(dir, 'state-file'), 'not a directory');
    await refused(
      ['--state', join(dir, 'state-file'), '--port', '0'],
      /^local-marathon: --state .*state-file is a file, not a directory\n/,
    );
    expect(readFileSync(join(dir, 'state-file'), 'utf8')).toBe('not a directory');
  });

  test('a corrupt apps.json in the state directory, named in the message', async () => {
    const state = join(dir, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'apps.json'), '[{"id": "/a", ');
    writeFileSync(join(state, 'deployments.json'), '[]');
    const before = snapshot(state);
    await refused(['--state', state, '--port', '0'], new RegExp(`^local-marathon: state file ${join(state, 'apps.json')} is corrupt: `));
    expect(snapshot(state)).toEqual(before);
    writeFileSync(join(state, 'apps.json'), '{"apps": []}');
    await refused(['--state', state, '--port', '0'], /apps\.json is corrupt: expected a JSON array/);
  });

  test('--images that does not exist, --enable-features with an unknown feature, empty paths, unknown flags', async () => {
    await refused(['--images', join(dir, 'nonexistent'), '--port', '0'], /^local-marathon: --images .*nonexistent is not a directory\n/);
    await refused(
      ['--enable-features', 'secrets,bogus', '--port', '0'],
      /^local-marathon: unknown feature bogus in --enable-features\nhint: choose from vips, /,
    );
    await refused(['--state', '', '--port', '0'], /^local-marathon: --state needs a path/);
    await refused(['--port', '0', '--verbos'], /^local-marathon: Unknown option '--verbos'/);
    await refused(['--port', '0', 'extra'], /^local-marathon: Unexpected argument 'extra'/);
  });

  test('a missing --credentials-file', async () => {
    await refused(['--credentials-file', join(dir, 'nope'), '--port', '0'], /^local-marathon: --credentials-file .*nope: ENOENT\n/);
  });
});

describe('no orphans: a server killed with kill -9 leaves tasks; the next one of the same directory kills them', () => {
  /** A process the test saw, with its start time then. */
  interface Seen {
    pid: number;
    started: string | undefined;
  }

  /**
   * Starts an app whose tasks each run a shell and a grandchild; returns every process (leaders and grandchildren) with
   * its start time, so that `alive` never takes a process that got one of their pids later for it.
   */
  async function orphanable(url: string, pidDir: string): Promise<Seen[]> {
    const post = await fetch(`${url}/v2/apps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        id: '/orph',
        // The pid file appears whole (a rename): `echo $! > file` creates it empty first, and a read then gets no pid.
        cmd: `sleep 300 & echo $! > ${pidDir}/.child-$MESOS_TASK_ID && mv ${pidDir}/.child-$MESOS_TASK_ID ${pidDir}/child-$MESOS_TASK_ID; wait`,
        instances: 2,
        portDefinitions: [],
      }),
    });
    expect(post.status).toBe(201);
    const leaders = await until(async () => {
      const tasks = list(((await (await fetch(`${url}/__local/tasks`)).json()) as { tasks: never }).tasks);
      return tasks.length === 2 && tasks.every((t) => t.pid) ? tasks.map((t) => num(t.pid)) : undefined;
    }, 'two running tasks');
    const children = await until(async () => {
      const files = readdirSync(pidDir).filter((f) => f.startsWith('child-'));
      return files.length === 2 ? files.map((f) => Number(readFileSync(join(pidDir, f), 'utf8'))) : undefined;
    }, 'the grandchildren');
    return [...leaders, ...children].map((pid) => ({ pid, started: startTime(pid) }));
  }
  const running = (ps: Seen[]) => ps.map((p) => [p.pid, alive(p.pid, p.started)]);
  const gone = (ps: Seen[]) => ps.every((p) => !alive(p.pid, p.started));

  test('with --state: the restart kills them; a second server on a live state directory is refused', async () => {
    const state = join(dir, 'orphan-state');
    const pidDir = mkdtempSync(join(dir, 'pids-'));
    const p1 = run(['--port', '0', '--json', '--no-docker', '--state', state]);
    const pids = await orphanable(await urlOf(p1), pidDir);
    const busy = run(['--port', '0', '--json', '--no-docker', '--state', state]);
    expect(await busy.exit).toBe(2);
    expect(busy.err()).toContain(`is in use by the local Marathon with pid ${p1.child.pid}`);

    p1.child.kill('SIGKILL');
    await p1.exit;
    expect(running(pids)).toEqual(pids.map((p) => [p.pid, true]));

    const p2 = run(['--port', '0', '--json', '--no-docker', '--state', state]);
    await urlOf(p2);
    await until(async () => gone(pids), 'the orphans to be killed');
    p2.child.kill('SIGTERM');
    expect(await p2.exit).toBe(0);
    expect(readdirSync(state).sort()).toEqual(['apps.json', 'deployments.json', 'service-ports.json']);
  });

  test('without --state: the next server in the same temp directory kills them and removes the dead work directory', async () => {
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const pidDir = mkdtempSync(join(dir, 'pids-'));
    const p1 = run(['--port', '0', '--json', '--no-docker'], { TMPDIR: tmp });
    const pids = await orphanable(await urlOf(p1), pidDir);
    const [deadWorkDir] = readdirSync(tmp);
    p1.child.kill('SIGKILL');
    await p1.exit;
    expect(running(pids)).toEqual(pids.map((p) => [p.pid, true]));

    const p2 = run(['--port', '0', '--json', '--no-docker'], { TMPDIR: tmp });
    await urlOf(p2);
    await until(async () => gone(pids), 'the orphans to be killed');
    expect(readdirSync(tmp)).not.toContain(deadWorkDir);
    p2.child.kill('SIGTERM');
    expect(await p2.exit).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

test('stopOnSignals: a harness interrupted with SIGINT stops its servers and their tasks, then exits 130', async () => {
  const harness = join(dir, 'harness.js');
  await build({
    stdin: {
      contents: `
        import { startLocalMarathon, stopOnSignals } from '../src';
        stopOnSignals();
        void (async () => {
          const m = await startLocalMarathon({ docker: 'never' });
          await fetch(m.url + '/v2/apps', { method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ id: '/h', cmd: 'sleep 300', instances: 2, portDefinitions: [] }) });
          for (;;) {
            const { tasks } = await (await fetch(m.url + '/__local/tasks')).json();
            if (tasks.length === 2 && tasks.every((t) => t.pid)) { console.log(JSON.stringify(tasks.map((t) => t.pid))); break; }
            await new Promise((r) => setTimeout(r, 50));
          }
        })();`,
      resolveDir: __dirname,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: harness,
    logLevel: 'error',
  });
  const child = spawn(process.execPath, [harness], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pids = JSON.parse(await until(async () => (out.includes('\n') ? out : undefined), 'the task pids')) as number[];
  for (const pid of pids) expect(alive(pid)).toBe(true);
  child.kill('SIGINT');
  expect(await exit).toBe(130);
  for (const pid of pids) expect([pid, alive(pid)]).toEqual([pid, false]);
});
