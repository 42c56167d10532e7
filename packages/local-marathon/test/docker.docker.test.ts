/**
 * Docker apps against the real engine (`npm run test:docker`): containers from a test image built on the project's base
 * image, port mappings, the task environment, labels, `cmd` vs `args`, health checks (COMMAND ones run inside the
 * container), kills with the grace period, pull failures, and cleanup on close and after `kill -9` of a server.
 * Every container and image a test makes carries `local-marathon.test=<run id>` (or its server's instance label) and is
 * removed in afterAll.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stop } from 'esbuild';
import { Loose, TestServer, bundleCli, list, num, start, stopAll, str, until } from './helpers';

const root = join(__dirname, '../../..');
const runId = randomUUID().slice(0, 8);
const TEST_LABEL = `local-marathon.test=${runId}`;
let dir: string;
let image: string;
let s: TestServer;
const children = new Set<ChildProcess>();

/** Runs the docker CLI (asynchronously: an in-process server must keep answering meanwhile). */
function docker(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Container ids carrying a label filter (`key=value`). */
async function containers(label: string): Promise<string[]> {
  const r = await docker(['ps', '-aq', '--filter', `label=${label}`]);
  return r.stdout.split('\n').filter(Boolean);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * The test image: a Node HTTP server on the port given as its first argument (or $LISTEN_PORT, or 8080) with
 * `/health`, `/env` (its environment) and `/argv`; on SIGTERM it logs `got SIGTERM` and exits after $TERM_DELAY_MS,
 * or never with TERM_DELAY_MS=never.
 */
const SERVER = `
const http = require('node:http');
const port = Number(process.argv[2] || process.env.LISTEN_PORT || 8080);
http.createServer((req, res) => {
  if (req.url === '/env') return res.end(JSON.stringify(process.env));
  if (req.url === '/argv') return res.end(JSON.stringify(process.argv.slice(2)));
  res.end('ok');
}).listen(port, '0.0.0.0', () => console.log('listening on ' + port));
process.on('SIGTERM', () => {
  console.log('got SIGTERM');
  const delay = process.env.TERM_DELAY_MS || '0';
  if (delay !== 'never') setTimeout(() => process.exit(0), Number(delay));
});
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lm-docker-'));
  const base = await new Promise<string>((resolve, reject) => {
    execFile('npm', ['run', '--silent', 'base-image', '--', '--json'], { cwd: root }, (err, stdout, stderr) =>
      err ? reject(new Error(`npm run base-image failed: ${stderr}`)) : resolve((JSON.parse(stdout) as { image: string }).image),
    );
  });
  const ctx = join(dir, 'image');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'server.js'), SERVER);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    `FROM ${base}\nCOPY server.js /app/server.js\nLABEL local-marathon.test=${runId}\nENTRYPOINT ["node", "/app/server.js"]\n`,
  );
  image = `local-marathon-test/web:${runId}`;
  const built = await docker(['build', '-q', '-t', image, ctx]);
  if (built.code !== 0) throw new Error(`docker build failed: ${built.stderr}`);
  s = await start({ docker: 'auto' });
}, 300000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stopAll();
  const left = await containers(TEST_LABEL);
  if (left.length) await docker(['rm', '-f', ...left]);
  await docker(['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
  // esbuild's service process (bundleCli) would outlive the file in this jest worker.
  await stop();
}, 120000);

/** A Docker app of the test image; the test label goes onto its containers. */
function app(id: string, extra: Record<string, unknown> = {}, docker: Record<string, unknown> = {}): Record<string, unknown> {
  const { labels, container, ...rest } = extra as { labels?: Record<string, string>; container?: object };
  return {
    id,
    instances: 1,
    cpus: 0.1,
    mem: 64,
    container: { type: 'DOCKER', docker: { image, ...docker }, ...container },
    labels: { 'local-marathon.test': runId, ...labels },
    backoffSeconds: 1,
    backoffFactor: 1,
    ...rest,
  };
}

const httpCheck = { protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 0.2, gracePeriodSeconds: 30, timeoutSeconds: 1 };

/** The app's tasks once `n` of them are healthy (or running, without health checks). */
async function healthyTasks(appId: string, n = 1, timeoutMs = 60000): Promise<Loose[]> {
  return until(
    async () => {
      const a = (await s.req('GET', `/v2/apps${appId}`)).body.app;
      const tasks = list(a?.tasks);
      const hcs = list(a?.healthChecks).length;
      const ok = tasks.filter((t) => str(t.state) === 'TASK_RUNNING' && (hcs === 0 || list(t.healthCheckResults).every((h) => h.alive)));
      return ok.length === n && (hcs === 0 || ok.every((t) => list(t.healthCheckResults).length === hcs)) ? ok : undefined;
    },
    `${n} healthy task(s) of ${appId}`,
    timeoutMs,
  );
}

async function getJson(url: string): Promise<Loose> {
  return (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json()) as Loose;
}

async function localTask(taskId: string): Promise<Loose> {
  const tasks = list((await s.req('GET', '/__local/tasks')).body.tasks);
  return tasks.find((t) => str(t.id) === taskId) as Loose;
}

describe('a bridge app', () => {
  const id = `/docker/bridge-${runId}`;
  let task: Loose;
  let hostPort: number;
  let env: Record<string, string>;

  beforeAll(async () => {
    const res = await s.req(
      'POST',
      '/v2/apps',
      app(id, {
        networks: [{ mode: 'container/bridge' }],
        container: { portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }] },
        env: { GREETING: 'hello' },
        labels: { team: 'payments', 'lb.vhost': 'shop.test' },
        healthChecks: [httpCheck],
      }),
    );
    expect(res.status).toBe(201);
    [task] = await healthyTasks(id);
    hostPort = num(list(task.ports)[0]);
    env = (await getJson(`http://127.0.0.1:${hostPort}/env`)) as unknown as Record<string, string>;
  }, 120000);

  test('runs in a container whose containerPort is published on the task host port (hostPort 0), on 127.0.0.1 only', async () => {
    expect(hostPort).toBeGreaterThan(0);
    const local = await localTask(str(task.id));
    expect(local.runner).toBe('docker');
    const name = str(local.container);
    const inspect = JSON.parse((await docker(['inspect', name])).stdout) as {
      HostConfig: { NetworkMode: string; PortBindings: Record<string, { HostIp: string; HostPort: string }[]> };
    }[];
    expect(inspect[0].HostConfig.NetworkMode).toBe('bridge');
    expect(inspect[0].HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] });
  });

  test('environment: PORT0/PORT/PORTS/PORT_<NAME>/PORT_<containerPort> are host ports, Marathon and Mesos variables, env', () => {
    expect(env).toMatchObject({
      PORT0: String(hostPort),
      PORT: String(hostPort),
      PORTS: String(hostPort),
      PORT_HTTP: String(hostPort),
      PORT_8080: String(hostPort),
      HOST: '127.0.0.1',
      MARATHON_APP_ID: id,
      MARATHON_APP_VERSION: str(task.version),
      MARATHON_APP_DOCKER_IMAGE: image,
      MARATHON_APP_RESOURCE_CPUS: '0.1',
      MARATHON_APP_RESOURCE_MEM: '64',
      MARATHON_APP_RESOURCE_DISK: '0',
      MARATHON_APP_RESOURCE_GPUS: '0',
      MARATHON_APP_LABEL_TEAM: 'payments',
      MARATHON_APP_LABEL_LB_VHOST: 'shop.test',
      MESOS_TASK_ID: str(task.id),
      MESOS_SANDBOX: '/mnt/mesos/sandbox',
      GREETING: 'hello',
    });
    expect(env.MARATHON_APP_LABELS.split(' ').sort()).toEqual(['LB_VHOST', 'LOCAL_MARATHON_TEST', 'TEAM']);
    // The host's own environment does not leak into the container.
    expect(env.PATH).not.toBe(process.env.PATH);
  });

  test('app labels and the server, task and app labels are on the container; the sandbox is mounted', async () => {
    const name = str((await localTask(str(task.id))).container);
    const info = JSON.parse((await docker(['inspect', name])).stdout) as {
      Config: { Labels: Record<string, string> };
      Mounts: { Source: string; Destination: string }[];
    }[];
    const instanceId = str((await s.req('GET', '/__local/info')).body.instanceId);
    expect(info[0].Config.Labels).toMatchObject({
      team: 'payments',
      'lb.vhost': 'shop.test',
      'local-marathon.instance': instanceId,
      'local-marathon.task': str(task.id),
      'local-marathon.app': id,
    });
    const sandbox = str((await localTask(str(task.id))).sandbox);
    expect(info[0].Mounts).toEqual(
      expect.arrayContaining([expect.objectContaining({ Source: sandbox, Destination: '/mnt/mesos/sandbox' })]),
    );
    // The container's output goes to the sandbox, as with the Mesos Docker executor.
    await until(async () => readFileSync(join(sandbox, 'stdout'), 'utf8').includes('listening on 8080'), 'the log line');
  });

  test('Marathon responses carry no Docker details', async () => {
    const a = (await s.req('GET', `/v2/apps${id}`)).body.app;
    expect(Object.keys(list(a.tasks)[0])).not.toContain('container');
    const name = str((await localTask(str(task.id))).container);
    expect(JSON.stringify(a)).not.toContain(name);
    expect(JSON.stringify(list((await s.req('GET', '/v2/tasks')).body.tasks))).not.toContain(name);
  });
});

test('a fixed hostPort is used as it is', async () => {
  const fixed = await freePort();
  const id = `/docker/fixed-${runId}`;
  await s.req(
    'POST',
    '/v2/apps',
    app(id, {
      networks: [{ mode: 'container/bridge' }],
      container: { portMappings: [{ containerPort: 8080, hostPort: fixed }] },
      healthChecks: [httpCheck],
    }),
  );
  const [task] = await healthyTasks(id);
  expect(list(task.ports)).toEqual([fixed]);
  expect(await (await fetch(`http://127.0.0.1:${fixed}/health`)).text()).toBe('ok');
  expect((await s.req('DELETE', `/v2/apps${id}`)).status).toBe(200);
}, 120000);

test('the legacy container.docker.network BRIDGE form publishes its portMappings too', async () => {
  const id = `/docker/legacy-${runId}`;
  const body = app(id, { healthChecks: [httpCheck] }, { network: 'BRIDGE', portMappings: [{ containerPort: 8080, hostPort: 0 }] });
  expect((await s.req('POST', '/v2/apps', body)).status).toBe(201);
  const [task] = await healthyTasks(id);
  const port = num(list(task.ports)[0]);
  expect((await getJson(`http://127.0.0.1:${port}/env`)).PORT_8080).toBe(String(port));
  await s.req('DELETE', `/v2/apps${id}`);
}, 120000);

test('host networking: cmd runs as /bin/sh -c <cmd> on the host network and listens on $PORT0', async () => {
  const id = `/docker/host-${runId}`;
  const body = app(id, {
    cmd: 'exec node /app/server.js "$PORT_WEB"',
    portDefinitions: [{ port: 0, name: 'web' }],
    healthChecks: [httpCheck],
  });
  expect((await s.req('POST', '/v2/apps', body)).status).toBe(201);
  const [task] = await healthyTasks(id);
  const port = num(list(task.ports)[0]);
  const env = await getJson(`http://127.0.0.1:${port}/env`);
  expect(env.PORT0).toBe(String(port));
  const servicePort = num(list((await s.req('GET', `/v2/apps${id}`)).body.app.portDefinitions)[0].port);
  expect(env[`PORT_${servicePort}`]).toBe(String(port));
  const name = str((await localTask(str(task.id))).container);
  const inspect = JSON.parse((await docker(['inspect', name])).stdout) as {
    HostConfig: { NetworkMode: string };
    Path: string;
    Args: string[];
  }[];
  expect(inspect[0].HostConfig.NetworkMode).toBe('host');
  expect([inspect[0].Path, ...inspect[0].Args]).toEqual(['/bin/sh', '-c', 'exec node /app/server.js "$PORT_WEB"']);
  await s.req('DELETE', `/v2/apps${id}`);
}, 120000);

test('args go to the image entrypoint', async () => {
  const id = `/docker/args-${runId}`;
  const body = app(id, {
    args: ['9090', 'extra'],
    networks: [{ mode: 'container/bridge' }],
    container: { portMappings: [{ containerPort: 9090, hostPort: 0 }] },
    healthChecks: [httpCheck],
  });
  expect((await s.req('POST', '/v2/apps', body)).status).toBe(201);
  const [task] = await healthyTasks(id);
  expect(await getJson(`http://127.0.0.1:${num(list(task.ports)[0])}/argv`)).toEqual(['9090', 'extra']);
  await s.req('DELETE', `/v2/apps${id}`);
}, 120000);

test('COMMAND health checks run inside the container: a file only the image has passes, a missing one fails', async () => {
  const check = (value: string) => ({
    protocol: 'COMMAND',
    command: { value },
    intervalSeconds: 0.3,
    gracePeriodSeconds: 0,
    maxConsecutiveFailures: 0,
  });
  const good = `/docker/cmd-ok-${runId}`;
  const bad = `/docker/cmd-bad-${runId}`;
  const bridge = { networks: [{ mode: 'container/bridge' }], container: { portMappings: [{ containerPort: 8080, hostPort: 0 }] } };
  await s.req(
    'POST',
    '/v2/apps',
    app(good, { ...bridge, healthChecks: [check('[ -f /app/server.js ] && [ "$MARATHON_APP_ID" = "' + good + '" ]')] }),
  );
  await s.req('POST', '/v2/apps', app(bad, { ...bridge, healthChecks: [check('[ -f /app/missing.js ]')] }));
  await healthyTasks(good);
  const result = await until(
    async () => {
      const t = list((await s.req('GET', `/v2/apps${bad}`)).body.app.tasks)[0];
      const h = list(t?.healthCheckResults)[0];
      return h && h.alive === (false as unknown as Loose) ? h : undefined;
    },
    'the failing COMMAND check',
    60000,
  );
  expect(str(result.lastFailureCause)).toBe('Command exited with status 1');
  await s.req('DELETE', `/v2/apps${good}`);
  await s.req('DELETE', `/v2/apps${bad}`);
}, 120000);

describe('kills', () => {
  /**
   * Kills the one task of `id` and returns how long until it is gone (no container left, no task listed), and what the
   * engine did to its container, in order, from its own event log: `kill 15`, `kill 9`, `die 137`, ...
   */
  async function killAndTime(id: string): Promise<{ ms: number; task: Loose; stdout: string; engine: string[] }> {
    const [task] = await healthyTasks(id);
    const local = await localTask(str(task.id));
    const t0 = Date.now();
    const res = await s.req('DELETE', `/v2/apps${id}/tasks/${str(task.id)}?scale=true`);
    expect(res.status).toBe(200);
    await until(async () => list((await s.req('GET', `/v2/apps${id}`)).body.app.tasks).length === 0, 'the task to be gone', 60000);
    const ms = Date.now() - t0;
    expect(await containers(`local-marathon.task=${str(task.id)}`)).toEqual([]);
    const events = await docker([
      'events',
      '--since',
      String(Math.floor(t0 / 1000) - 1),
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'type=container',
      '--filter',
      `label=local-marathon.task=${str(task.id)}`,
      '--format',
      '{{.Action}} {{index .Actor.Attributes "signal"}}{{index .Actor.Attributes "exitCode"}}',
    ]);
    const engine = events.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^(kill|die) /.test(l));
    return { ms, task, stdout: readFileSync(join(str(local.sandbox), 'stdout'), 'utf8'), engine };
  }

  const bridge = { networks: [{ mode: 'container/bridge' }], container: { portMappings: [{ containerPort: 8080, hostPort: 0 }] } };

  test('a container that handles SIGTERM and exits after 300 ms is gone well before its 10 s grace period', async () => {
    const id = `/docker/term-${runId}`;
    await s.req(
      'POST',
      '/v2/apps',
      app(id, { ...bridge, env: { TERM_DELAY_MS: '300' }, taskKillGracePeriodSeconds: 10, healthChecks: [httpCheck] }),
    );
    const { ms, stdout, engine } = await killAndTime(id);
    expect(stdout).toContain('got SIGTERM');
    expect(ms).toBeGreaterThanOrEqual(300);
    // It exited by itself after SIGTERM: no SIGKILL was needed (the grace period did not run out).
    expect(engine).toEqual(['kill 15', 'die 0']);
    await s.req('DELETE', `/v2/apps${id}`);
  }, 120000);

  test('a container that ignores SIGTERM is killed at the grace period (2 s), not before', async () => {
    const id = `/docker/ignore-${runId}`;
    await s.req(
      'POST',
      '/v2/apps',
      app(id, { ...bridge, env: { TERM_DELAY_MS: 'never' }, taskKillGracePeriodSeconds: 2, healthChecks: [httpCheck] }),
    );
    const events: Loose[] = [];
    const ac = new AbortController();
    const stream = fetch(`${s.url}/v2/events?event_type=status_update_event`, {
      headers: { Accept: 'text/event-stream' },
      signal: ac.signal,
    }).then(
      async (r) => {
        const reader = (r.body as ReadableStream<Uint8Array>).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += Buffer.from(value).toString();
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const data = buf
              .slice(0, i)
              .split('\n')
              .find((l) => l.startsWith('data:'));
            buf = buf.slice(i + 2);
            if (data) events.push(JSON.parse(data.slice(5)) as Loose);
          }
        }
      },
      () => undefined,
    );
    const { ms, stdout, task, engine } = await killAndTime(id);
    ac.abort();
    await stream.catch(() => undefined);
    expect(stdout).toContain('got SIGTERM');
    expect(ms).toBeGreaterThanOrEqual(2000);
    // SIGTERM first; SIGKILL only when the grace period ran out; then the container died of it.
    expect(engine).toEqual(['kill 15', 'kill 9', 'die 137']);
    expect(events.filter((e) => e.taskId === task.id).map((e) => str(e.taskStatus))).toContain('TASK_KILLED');
    await s.req('DELETE', `/v2/apps${id}`);
  }, 120000);

  test("a container that exits on its own fails the task with the container's status", async () => {
    const id = `/docker/exit-${runId}`;
    await s.req('POST', '/v2/apps', app(id, { cmd: 'exit 3', portDefinitions: [], backoffSeconds: 30 }));
    const failure = await until(async () => (await s.req('GET', `/v2/apps${id}`)).body.app.lastTaskFailure, 'lastTaskFailure', 60000);
    expect(failure).toMatchObject({ state: 'TASK_FAILED', message: 'Container exited with status 3' });
    await s.req('DELETE', `/v2/apps${id}?force=true`);
  }, 120000);
});

test("an image that cannot be pulled fails the task with Mesos' message, and the deployment keeps retrying", async () => {
  const closed = await freePort();
  const nope = `127.0.0.1:${closed}/nope:1`;
  const id = `/docker/nope-${runId}`;
  const body = { ...app(id, { portDefinitions: [] }), container: { type: 'DOCKER', docker: { image: nope } } };
  expect((await s.req('POST', '/v2/apps', body)).status).toBe(201);
  const first = await until(async () => (await s.req('GET', `/v2/apps${id}`)).body.app.lastTaskFailure, 'lastTaskFailure', 60000);
  expect(first.state).toBe('TASK_FAILED');
  expect(str(first.message)).toMatch(
    new RegExp(
      `^Failed to launch container: Failed to run 'docker -H \\S+ pull ${nope.replace(/\./g, '\\.')}': exited with status 1; stderr='[^]*connection refused[^]*'$`,
    ),
  );
  // Retried with backoff: a later task fails the same way, and the deployment is still there.
  const second = await until(
    async () => {
      const f = (await s.req('GET', `/v2/apps${id}`)).body.app.lastTaskFailure;
      return f && f.taskId !== first.taskId ? f : undefined;
    },
    'a second failed launch',
    60000,
  );
  expect(str(second.message)).toContain(`pull ${nope}`);
  expect(list((await s.req('GET', '/v2/deployments')).body).some((d) => list(d.affectedApps).includes(id as unknown as Loose))).toBe(true);
  await s.req('DELETE', `/v2/apps${id}?force=true`);
}, 120000);

test('close() removes every container of the server before it resolves', async () => {
  const other = await start({ docker: 'auto' });
  const instanceId = str((await other.req('GET', '/__local/info')).body.instanceId);
  const id = `/docker/close-${runId}`;
  const body = app(id, {
    instances: 2,
    env: { TERM_DELAY_MS: 'never' },
    networks: [{ mode: 'container/bridge' }],
    container: { portMappings: [{ containerPort: 8080, hostPort: 0 }] },
  });
  expect((await other.req('POST', '/v2/apps', body)).status).toBe(201);
  await until(async () => (await containers(`local-marathon.instance=${instanceId}`)).length === 2, 'two containers', 60000);
  await until(
    async () => list((await other.req('GET', `/v2/apps${id}`)).body.app.tasks).every((t) => str(t.state) === 'TASK_RUNNING'),
    'running',
  );
  await other.m.close();
  expect(await containers(`local-marathon.instance=${instanceId}`)).toEqual([]);
}, 120000);

test('after kill -9 of a server, the next server removes its containers', async () => {
  const cli = await bundleCli(dir);
  const tmp = mkdtempSync(join(dir, 'tmp-'));
  const runCli = () => {
    const child = spawn(process.execPath, [cli, '--port', '0', '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TMPDIR: tmp },
    });
    children.add(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const url = until(
      async () => (out.includes('\n') ? (JSON.parse(out.trim()) as { url: string }).url : undefined),
      'the URL line',
      10000,
    );
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, url, exit };
  };
  const first = runCli();
  const url = await first.url;
  const instanceId = str(((await (await fetch(`${url}/__local/info`)).json()) as Loose).instanceId);
  const id = `/docker/orphan-${runId}`;
  const body = app(id, { instances: 2, portDefinitions: [], cmd: 'exec node /app/server.js 0' });
  const posted = await fetch(`${url}/v2/apps`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(posted.status).toBe(201);
  await until(
    async () =>
      (await docker(['ps', '-q', '--filter', `label=local-marathon.instance=${instanceId}`])).stdout.trim().split('\n').filter(Boolean)
        .length === 2,
    'two running containers',
    60000,
  );
  first.child.kill('SIGKILL');
  await first.exit;
  // The containers outlive their server...
  expect(await containers(`local-marathon.instance=${instanceId}`)).toHaveLength(2);
  // ...until the next server starts.
  const second = runCli();
  await second.url;
  await until(
    async () => (await containers(`local-marathon.instance=${instanceId}`)).length === 0,
    'the orphan containers to be removed',
    60000,
  );
  second.child.kill('SIGTERM');
  expect(await second.exit).toBe(0);
}, 180000);

describe('pulls from a registry on a loopback port', () => {
  let registry: ChildProcess;
  let host: string;

  beforeAll(async () => {
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    const config = join(dir, 'registry.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: ${host}\n`,
    );
    registry = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
    children.add(registry);
    await until(async () => (await fetch(`http://${host}/v2/`).catch(() => undefined))?.status === 200, 'the registry', 20000);
  }, 60000);

  test('a missing image is pulled before it runs; forcePullImage pulls even when the image is there', async () => {
    const pushed = `${host}/lm-test/web:${runId}`;
    expect((await docker(['tag', image, pushed])).code).toBe(0);
    const push = await docker(['push', pushed]);
    expect(push.stderr).toBe('');
    expect((await docker(['rmi', pushed])).code).toBe(0);
    const id = `/docker/pulled-${runId}`;
    await s.req('POST', '/v2/apps', {
      ...app(id, { healthChecks: [httpCheck], networks: [{ mode: 'container/bridge' }] }),
      container: { type: 'DOCKER', docker: { image: pushed }, portMappings: [{ containerPort: 8080 }] },
    });
    await healthyTasks(id);
    expect((await docker(['image', 'inspect', pushed])).code).toBe(0);
    await s.req('DELETE', `/v2/apps${id}`);

    // Only here locally, not in the registry: it runs, unless forcePullImage asks the registry for it.
    const localOnly = `${host}/lm-test/local-only:${runId}`;
    expect((await docker(['tag', image, localOnly])).code).toBe(0);
    try {
      const forced = `/docker/forced-${runId}`;
      await s.req('POST', '/v2/apps', {
        ...app(forced, { portDefinitions: [] }),
        container: { type: 'DOCKER', docker: { image: localOnly, forcePullImage: true } },
      });
      const failure = await until(async () => (await s.req('GET', `/v2/apps${forced}`)).body.app.lastTaskFailure, 'lastTaskFailure', 60000);
      expect(str(failure.message)).toMatch(
        new RegExp(
          `^Failed to launch container: Failed to run 'docker -H \\S+ pull ${localOnly.replace(/\./g, '\\.')}': exited with status 1; stderr='[^]*not found`,
        ),
      );
      await s.req('DELETE', `/v2/apps${forced}?force=true`);
      const plain = `/docker/not-forced-${runId}`;
      await s.req('POST', '/v2/apps', {
        ...app(plain, { portDefinitions: [], cmd: 'exec node /app/server.js 0' }),
        container: { type: 'DOCKER', docker: { image: localOnly } },
      });
      await healthyTasks(plain);
      await s.req('DELETE', `/v2/apps${plain}`);
    } finally {
      await docker(['rmi', '-f', localOnly, pushed]);
    }
  }, 180000);
});
