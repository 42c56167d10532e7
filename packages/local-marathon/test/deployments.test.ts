/** Deployments: rollback, force-cancel, never-healthy plans, rolling restarts within capacity, restarts of crashed tasks. */
import { AddressInfo, createServer } from 'node:net';
import { Loose, TestServer, fastHttpCheck, list, localTasks, num, settled, start, stopAll, str, until } from './helpers';

let s: TestServer;
beforeEach(async () => {
  s = await start();
});
afterEach(stopAll);

/** A Docker app: runs as the built-in stand-in, which answers 200 on its port. */
const web = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  instances: 2,
  cpus: 0.1,
  mem: 32,
  backoffSeconds: 0,
  container: { type: 'DOCKER', docker: { image: 'registry.example.com:5000/team/web:1.0' } },
  networks: [{ mode: 'container/bridge' }],
  healthChecks: [fastHttpCheck],
  ...extra,
});

/** A health check that never passes. */
const neverHealthy = [
  { protocol: 'COMMAND', command: { value: 'exit 1' }, intervalSeconds: 0.2, gracePeriodSeconds: 0, maxConsecutiveFailures: 1 },
];

async function tasks(appId: string): Promise<Loose[]> {
  return list((await s.req('GET', `/v2/apps${appId}/tasks`)).body.tasks);
}

async function deploymentIds(): Promise<string[]> {
  return list((await s.req('GET', '/v2/deployments')).body).map((d) => str(d.id));
}

test('a deployment finishes only when all new tasks are running and healthy (SEMANTICS.md §9 "When a step is done")', async () => {
  const r = await s.req('POST', '/v2/apps', web('/ok'));
  expect(await deploymentIds()).toContain(r.body.deployments[0].id);
  await settled(s);
  const app = (await s.req('GET', '/v2/apps/ok')).body.app;
  expect(app.tasksRunning).toBe(2);
  expect(app.tasksHealthy).toBe(2);
  const local = await localTasks(s);
  for (const t of list(app.tasks)) {
    expect(local.get(str(t.id))?.runner).toBe('stand-in');
    expect(list(t.healthCheckResults)[0].alive).toBe(true);
    const res = await fetch(`http://127.0.0.1:${num(list(t.ports)[0])}/anything`);
    expect(await res.text()).toBe('ok');
  }
});

test('a stand-in answers on its port exactly while its process lives: killed, the port refuses and a replacement answers', async () => {
  await s.req('POST', '/v2/apps', { ...web('/held'), instances: 1 });
  await settled(s);
  const [t0] = await tasks('/held');
  const port = num(list(t0.ports)[0]);
  expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
  process.kill(num((await localTasks(s)).get(str(t0.id))?.pid), 'SIGKILL');
  await until(async () => {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
      return false;
    } catch {
      return true;
    }
  }, "the killed task's port to refuse");
  await until(async () => {
    const now = await tasks('/held');
    return now.length === 1 && str(now[0].id) !== str(t0.id) && list(now[0].healthCheckResults).some((h) => (h.alive as unknown) === true);
  }, 'a healthy replacement');
  const [t1] = await tasks('/held');
  expect(await (await fetch(`http://127.0.0.1:${num(list(t1.ports)[0])}/`)).text()).toBe('ok');
  expect((await s.req('GET', '/v2/apps/held')).body.app.lastTaskFailure.taskId).toBe(t0.id);
});

test('a stand-in whose port is taken dies, as a server that cannot bind its port does: recorded as a task failure', async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as AddressInfo).port;
  try {
    await s.req('POST', '/v2/apps', {
      ...web('/taken'),
      instances: 1,
      networks: [{ mode: 'host' }],
      requirePorts: true,
      portDefinitions: [{ port }],
    });
    const failure = await until(async () => (await s.req('GET', '/v2/apps/taken')).body.app?.lastTaskFailure, 'a task failure');
    expect(failure.state).toBe('TASK_FAILED');
  } finally {
    holder.close();
  }
});

test('a deployment whose tasks never get healthy stays listed while tasks are relaunched (SEMANTICS.md §9 "Deployments never fail on their own")', async () => {
  const r = await s.req('POST', '/v2/apps', { ...web('/sick'), instances: 1, healthChecks: neverHealthy });
  const seen = new Set<string>();
  await until(async () => {
    for (const t of await tasks('/sick')) seen.add(str(t.id));
    return seen.size >= 3;
  }, 'three task incarnations');
  expect(await deploymentIds()).toEqual([r.headers.get('marathon-deployment-id')]);
  const app = (await s.req('GET', '/v2/apps/sick')).body.app;
  expect(app.lastTaskFailure.state).toBe('TASK_KILLED');
  expect(app.deployments).toEqual([{ id: r.headers.get('marathon-deployment-id') }]);
});

test('DELETE /v2/deployments/{id} rolls back to the previous definition with a new version (SEMANTICS.md §11 A, §16.8)', async () => {
  await s.req('POST', '/v2/apps', { ...web('/rb'), labels: { gen: '1' } });
  await settled(s);
  const before = (await s.req('GET', '/v2/apps/rb')).body.app;
  const bad = await s.req('PUT', '/v2/apps/rb', { labels: { gen: '2' }, healthChecks: neverHealthy });
  expect(bad.status).toBe(200);
  const r = await s.req('DELETE', `/v2/deployments/${str(bad.body.deploymentId)}`);
  expect(r.status).toBe(200);
  expect(Object.keys(r.body).sort()).toEqual(['deploymentId', 'version']);
  expect(r.headers.get('marathon-deployment-id')).toBe(r.body.deploymentId);
  const ids = await deploymentIds();
  expect(ids).not.toContain(bad.body.deploymentId);
  const app = (await s.req('GET', '/v2/apps/rb')).body.app;
  expect(app.labels).toEqual({ gen: '1' });
  expect(app.healthChecks).toEqual(before.healthChecks);
  expect(app.version).toBe(r.body.version);
  expect(app.version).not.toBe(before.version);
  await settled(s);
  const after = (await s.req('GET', '/v2/apps/rb')).body.app;
  expect(after.tasksHealthy).toBe(2);
  for (const t of list(after.tasks)) expect(t.version).toBe(r.body.version);
});

test('rolling back a create plan deletes the app (SEMANTICS.md §11 A)', async () => {
  const c = await s.req('POST', '/v2/apps', { ...web('/new'), healthChecks: neverHealthy });
  const r = await s.req('DELETE', `/v2/deployments/${c.headers.get('marathon-deployment-id')}`);
  expect(r.status).toBe(200);
  expect((await s.req('GET', '/v2/apps/new')).status).toBe(404);
  await settled(s);
  expect(list((await s.req('GET', '/v2/tasks')).body.tasks).filter((t) => str(t.appId) === '/new')).toEqual([]);
});

test('DELETE /v2/deployments/{id}?force=true: 202, no body, definition stays at the target (SEMANTICS.md §11 B)', async () => {
  const c = await s.req('POST', '/v2/apps', { ...web('/stop'), labels: { x: 'new' }, healthChecks: neverHealthy });
  const r = await s.req('DELETE', `/v2/deployments/${c.headers.get('marathon-deployment-id')}?force=true`);
  expect(r.status).toBe(202);
  expect(r.text).toBe('');
  expect(await deploymentIds()).toEqual([]);
  expect((await s.req('GET', '/v2/apps/stop')).body.app.labels).toEqual({ x: 'new' });
});

test('rolling restart never runs more than floor(n*(1+maximumOverCapacity)) tasks (SEMANTICS.md §9 RestartApplication)', async () => {
  const upgradeStrategy = { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 };
  await s.req('POST', '/v2/apps', web('/roll', { instances: 4, upgradeStrategy }));
  await settled(s);
  const r = await s.req('PUT', '/v2/apps/roll', { labels: { rev: '2' } });
  let max = 0;
  let minHealthy = Infinity;
  let done = false;
  while (!done) {
    const ts = (await tasks('/roll')).filter((t) => str(t.state) !== 'TASK_KILLING');
    max = Math.max(max, ts.length);
    minHealthy = Math.min(minHealthy, ts.filter((t) => list(t.healthCheckResults).some((h) => (h.alive as unknown) === true)).length);
    done = !(await deploymentIds()).includes(str(r.body.deploymentId));
  }
  expect(max).toBeLessThanOrEqual(4);
  expect(minHealthy).toBeGreaterThanOrEqual(2);
  const final = (await tasks('/roll')).filter((t) => str(t.state) !== 'TASK_KILLING');
  expect(final.map((t) => t.version)).toEqual(Array(4).fill(r.body.version));
});

test('with the default strategy all new tasks start side by side, then old ones stop (SEMANTICS.md §9)', async () => {
  await s.req('POST', '/v2/apps', web('/side', { instances: 2 }));
  await settled(s);
  const r = await s.req('PUT', '/v2/apps/side', { labels: { rev: '2' } });
  let max = 0;
  while ((await deploymentIds()).includes(str(r.body.deploymentId))) {
    max = Math.max(max, (await tasks('/side')).filter((t) => str(t.state) !== 'TASK_KILLING').length);
  }
  // Old tasks are only killed once new ones are healthy, so all four ran side by side at some point.
  expect(max).toBe(4);
  const live = (await tasks('/side')).filter((t) => str(t.state) !== 'TASK_KILLING');
  expect(live.map((t) => t.version)).toEqual([r.body.version, r.body.version]);
});

test('crashed tasks are restarted and recorded as lastTaskFailure (SEMANTICS.md §9, §12)', async () => {
  await s.req('POST', '/v2/apps', { id: '/crash', cmd: 'sleep 30', instances: 2, backoffSeconds: 0, portDefinitions: [] });
  await settled(s);
  const first = await tasks('/crash');
  process.kill(num((await localTasks(s)).get(str(first[0].id))?.pid), 'SIGKILL');
  await until(async () => {
    const now = await tasks('/crash');
    return now.length === 2 && now.every((t) => str(t.state) === 'TASK_RUNNING') && !now.some((t) => str(t.id) === str(first[0].id));
  }, 'replacement task');
  const app = (await s.req('GET', '/v2/apps/crash')).body.app;
  expect(app.lastTaskFailure.taskId).toBe(first[0].id);
  expect(app.lastTaskFailure.state).toBe('TASK_FAILED');
  // §12: no health checks, so tasksHealthy stays 0 even though every task runs.
  expect(app.tasksRunning).toBe(2);
  expect(app.tasksHealthy).toBe(0);
});

test('a task failing maxConsecutiveFailures checks past the grace period is killed and replaced (SEMANTICS.md §12)', async () => {
  await s.req('POST', '/v2/apps', {
    id: '/flappy',
    cmd: 'sleep 30',
    instances: 1,
    backoffSeconds: 0,
    portDefinitions: [],
    healthChecks: [
      { protocol: 'COMMAND', command: { value: 'true' }, intervalSeconds: 0.2, gracePeriodSeconds: 0, maxConsecutiveFailures: 2 },
    ],
  });
  await settled(s);
  const [t0] = await tasks('/flappy');
  await s.req('POST', '/__local/faults', { kind: 'unhealthy', appId: '/flappy', count: 2 });
  await until(async () => {
    const ts = await tasks('/flappy');
    return ts.length === 1 && str(ts[0].id) !== str(t0.id) && list(ts[0].healthCheckResults).some((h) => (h.alive as unknown) === true);
  }, 'replacement after failed checks');
  const app = (await s.req('GET', '/v2/apps/flappy')).body.app;
  expect(app.lastTaskFailure.taskId).toBe(t0.id);
  expect(app.lastTaskFailure.message).toMatch(/health/);
});

test('tasks endpoints: list, status filter, kill with and without scale (SEMANTICS.md §3)', async () => {
  await s.req('POST', '/v2/apps', {
    id: '/k',
    cmd: 'sleep 30',
    instances: 3,
    backoffSeconds: 0,
    portDefinitions: [{ port: 0, name: 'http' }],
  });
  await settled(s);
  const all = list((await s.req('GET', '/v2/tasks?status=running')).body.tasks);
  expect(all).toHaveLength(3);
  expect(list((await s.req('GET', '/v2/tasks?status=staging')).body.tasks)).toHaveLength(0);
  for (const t of all) {
    expect(t.host).toBe('127.0.0.1');
    expect(list(t.servicePorts)).toHaveLength(1);
    expect(list(t.ports)).toHaveLength(1);
  }
  const one = await s.req('DELETE', `/v2/apps/k/tasks/${str(all[0].id)}`);
  expect(one.status).toBe(200);
  expect(one.body.task.id).toBe(all[0].id);
  expect((await s.req('DELETE', '/v2/apps/k/tasks/nope')).status).toBe(404);
  await until(async () => (await tasks('/k')).filter((t) => str(t.state) === 'TASK_RUNNING').length === 3, 'replacement');

  const scaled = await s.req('DELETE', `/v2/apps/k/tasks/${str(all[1].id)}?scale=true`);
  expect(Object.keys(scaled.body).sort()).toEqual(['deploymentId', 'version']);
  expect(scaled.headers.get('marathon-deployment-id')).toBe(scaled.body.deploymentId);
  let app = (await s.req('GET', '/v2/apps/k')).body.app;
  expect(app.instances).toBe(2);
  expect(app.versionInfo.lastScalingAt).toBe(scaled.body.version);
  await settled(s);

  const current = await tasks('/k');
  const drained = await s.req('POST', '/v2/tasks/delete?scale=true', { ids: [current[0].id] });
  expect(drained.status).toBe(200);
  expect(drained.body).toHaveProperty('deploymentId');
  await settled(s);
  app = (await s.req('GET', '/v2/apps/k')).body.app;
  expect(app.instances).toBe(1);
  expect(app.tasksRunning).toBe(1);

  // A task killed above may still be listed as TASK_KILLING until its process exits: kill a running one.
  const running = list(app.tasks).filter((t) => str(t.state) === 'TASK_RUNNING');
  expect(running).toHaveLength(1);
  const plain = await s.req('POST', '/v2/tasks/delete', { ids: [running[0].id] });
  expect(list(plain.body.tasks)).toHaveLength(1);
  const killAll = await s.req('DELETE', '/v2/apps/k/tasks');
  expect(killAll.status).toBe(200);
});
