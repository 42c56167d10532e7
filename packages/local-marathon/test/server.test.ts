/** Auth, the event stream, fault injection, persistence, task processes (env, image store) and shutdown. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Loose, alive, eventStream, fastHttpCheck, list, localTasks, num, settled, start, stopAll, str, until } from './helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lm-test-'));
});
afterEach(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const sleeper = (id: string, instances = 1) => ({ id, cmd: 'sleep 30', instances, backoffSeconds: 0, portDefinitions: [] });

describe('auth (SEMANTICS.md §2, §16.12)', () => {
  test('basic: every path needs credentials; 401 is Jetty HTML with WWW-Authenticate Basic realm="Mesosphere"', async () => {
    const s = await start({ credentials: 'ops:secret' });
    for (const path of ['/ping', '/v2/info', '/v2/apps']) {
      const r = await s.req('GET', path);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="Mesosphere"');
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(() => JSON.parse(r.text)).toThrow();
    }
    const wrong = await s.req('GET', '/v2/apps', undefined, { Authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` });
    expect(wrong.status).toBe(401);
    const ok = await s.req('GET', '/v2/apps', undefined, { Authorization: `Basic ${Buffer.from('ops:secret').toString('base64')}` });
    expect(ok.status).toBe(200);
  });

  test('token: Authorization: token=<t> is required; Bearer is not accepted', async () => {
    const s = await start({ token: 'jwt-123' });
    expect((await s.req('GET', '/v2/apps')).status).toBe(401);
    expect((await s.req('GET', '/v2/apps', undefined, { Authorization: 'Bearer jwt-123' })).status).toBe(401);
    expect((await s.req('GET', '/v2/apps', undefined, { Authorization: 'token=jwt-123' })).status).toBe(200);
  });
});

test('SSE /v2/events delivers deployment, status and health events; event_type filters (SEMANTICS.md §14)', async () => {
  const s = await start();
  const allStream = eventStream(s.url);
  const filteredStream = eventStream(s.url, '?event_type=deployment_success&event_type=status_update_event');
  const succeeded = (evs: Loose[]) => evs.some((e) => str(e.eventType) === 'deployment_success');
  const all = allStream.until(succeeded);
  const filtered = filteredStream.until(succeeded);
  await Promise.all([allStream.attached, filteredStream.attached]);
  const r = await s.req('POST', '/v2/apps', {
    id: '/ev',
    instances: 1,
    cmd: 'sleep 30',
    healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' }, intervalSeconds: 0.2 }],
    portDefinitions: [],
  });
  const [events, filteredEvents] = await Promise.all([all, filtered]);
  allStream.close();
  filteredStream.close();
  expect(allStream.contentType()).toBe('text/event-stream');
  expect(filteredStream.contentType()).toBe('text/event-stream');
  expect([...allStream.mismatched, ...filteredStream.mismatched]).toEqual([]);
  expect(str(events[0].eventType)).toBe('event_stream_attached');
  const types = events.map((e) => str(e.eventType));
  for (const t of [
    'event_stream_attached',
    'api_post_event',
    'deployment_info',
    'status_update_event',
    'health_status_changed_event',
    'deployment_step_success',
    'deployment_success',
  ]) {
    expect(types).toContain(t);
  }
  const success = events.find((e) => str(e.eventType) === 'deployment_success') as Loose;
  expect(success.id).toBe(r.headers.get('marathon-deployment-id'));
  expect(str(success.timestamp)).toMatch(/\.\d{3}Z$/);
  const running = events.find((e) => str(e.eventType) === 'status_update_event') as Loose;
  expect(running).toMatchObject({ appId: '/ev', taskStatus: 'TASK_RUNNING', host: '127.0.0.1' });
  expect(events.find((e) => str(e.eventType) === 'health_status_changed_event')).toMatchObject({ appId: '/ev', alive: true });
  const only = filteredEvents.map((e) => str(e.eventType));
  expect(new Set(only)).toEqual(new Set(['status_update_event', 'deployment_success']));
});

test('a forced deployment emits deployment_failed for the one it supersedes (SEMANTICS.md §9, §14)', async () => {
  const s = await start();
  await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/f' });
  const first = await s.req('POST', '/v2/apps', sleeper('/f', 0));
  const stream = eventStream(s.url, '?event_type=deployment_failed');
  const got = stream.until((evs) => evs.length > 0);
  await stream.attached;
  await s.req('PUT', '/v2/apps/f?force=true', { instances: 1 });
  const [failed] = await got;
  stream.close();
  expect(failed.id).toBe(first.headers.get('marathon-deployment-id'));
});

describe('fault injection (/__local/faults)', () => {
  test('status, reset and delay faults apply to the next N requests, then switch off', async () => {
    const s = await start();
    const f = await s.req('POST', '/__local/faults', { kind: 'status', status: 503, count: 2 });
    expect(f.status).toBe(201);
    expect(f.body).toMatchObject({ kind: 'status', status: 503, count: 2, remaining: 2 });
    expect(str(f.body.id)).toMatch(/^\S+$/);
    expect(list((await s.req('GET', '/__local/faults')).body.faults)).toHaveLength(1);
    const a = await s.req('GET', '/v2/apps');
    expect(a.status).toBe(503);
    expect(typeof a.body.message).toBe('string');
    expect((await s.req('GET', '/v2/apps')).status).toBe(503);
    expect((await s.req('GET', '/v2/apps')).status).toBe(200);
    expect(list((await s.req('GET', '/__local/faults')).body.faults)).toHaveLength(0);

    await s.req('POST', '/__local/faults', { kind: 'reset', count: 1 });
    await expect(s.req('GET', '/v2/apps')).rejects.toThrow();
    expect((await s.req('GET', '/v2/apps')).status).toBe(200);

    // The delayed request is overtaken by one sent after it (an ordering, not a measured time).
    await s.req('POST', '/__local/faults', { kind: 'delay', ms: 1000, count: 1 });
    const order: string[] = [];
    const delayed = s.req('GET', '/ping').then((r) => order.push(`delayed ${r.status}`));
    await until(async () => list((await s.req('GET', '/__local/faults')).body.faults).length === 0, 'the delay fault to be taken');
    await s.req('GET', '/ping').then((r) => order.push(`next ${r.status}`));
    await delayed;
    expect(order).toEqual(['next 200', 'delayed 200']);
  });

  test('faults are bounded: count 1..1000, seconds up to 600; they expire; DELETE clears', async () => {
    const s = await start();
    expect((await s.req('POST', '/__local/faults', { kind: 'status', count: 1001 })).status).toBe(422);
    expect((await s.req('POST', '/__local/faults', { kind: 'status', seconds: 601 })).status).toBe(422);
    expect((await s.req('POST', '/__local/faults', { kind: 'explode' })).status).toBe(422);
    expect((await s.req('POST', '/__local/faults', { kind: 'crash' })).status).toBe(422);
    await s.req('POST', '/__local/faults', { kind: 'status', count: 5, seconds: 0.1 });
    expect(list((await s.req('GET', '/__local/faults')).body.faults)).toHaveLength(1);
    await until(async () => list((await s.req('GET', '/__local/faults')).body.faults).length === 0, 'the fault to expire');
    expect((await s.req('GET', '/v2/apps')).status).toBe(200);
    await s.req('POST', '/__local/faults', { kind: 'status', count: 5 });
    expect((await s.req('DELETE', '/__local/faults')).status).toBe(200);
    expect((await s.req('GET', '/v2/apps')).status).toBe(200);
  });

  test('crash kills the app tasks now (they are relaunched); hang keeps the next deployment listed', async () => {
    const s = await start();
    await s.req('POST', '/v2/apps', sleeper('/x', 2));
    await settled(s);
    const before = list((await s.req('GET', '/v2/apps/x/tasks')).body.tasks).map((t) => str(t.id));
    expect((await s.req('POST', '/__local/faults', { kind: 'crash', appId: '/x' })).status).toBe(201);
    await until(async () => {
      const now = list((await s.req('GET', '/v2/apps/x/tasks')).body.tasks);
      return now.length === 2 && now.every((t) => !before.includes(str(t.id)) && str(t.state) === 'TASK_RUNNING');
    }, 'relaunch after crash');
    expect((await s.req('GET', '/v2/apps/x')).body.app.lastTaskFailure.state).toBe('TASK_FAILED');

    await s.req('POST', '/__local/faults', { kind: 'hang', appId: 'x', count: 1 });
    const hung = await s.req('PUT', '/v2/apps/x', { instances: 1 });
    // The step's work gets done (one task left), yet the plan stays: a later deployment of another app, which needs
    // scheduler passes of its own to finish, finishes while the hung one is still listed.
    await until(async () => list((await s.req('GET', '/v2/apps/x/tasks')).body.tasks).length === 1, 'the scale-down');
    const later = await s.req('POST', '/v2/apps', sleeper('/y', 1));
    await until(async () => !list((await s.req('GET', '/v2/deployments')).body).some((d) => d.id === later.body.deployments[0].id), 'y');
    expect(list((await s.req('GET', '/v2/deployments')).body).map((d) => d.id)).toEqual([hung.body.deploymentId]);
    const state = (await s.req('GET', '/__local/state')).body;
    expect(list(state.deployments)[0].hung).toBe(true);
  });
});

test('stateDir: a restarted server keeps apps, versions and service ports, and relaunches tasks', async () => {
  const stateDir = join(dir, 'state');
  const s1 = await start({ stateDir });
  await s1.req('POST', '/v2/apps', { ...sleeper('/keep'), portDefinitions: [{ port: 0 }] });
  await s1.req('PUT', '/v2/apps/keep', { labels: { a: 'b' } });
  await settled(s1);
  const app1 = (await s1.req('GET', '/v2/apps/keep')).body.app;
  const versions1 = (await s1.req('GET', '/v2/apps/keep/versions')).body.versions;
  await s1.m.close();
  expect(readdirSync(stateDir).sort()).toEqual(['apps.json', 'deployments.json', 'service-ports.json']);
  const s2 = await start({ stateDir });
  const app2 = (await s2.req('GET', '/v2/apps/keep')).body.app;
  expect(app2.version).toBe(app1.version);
  expect(app2.versionInfo).toEqual(app1.versionInfo);
  expect(app2.portDefinitions).toEqual(app1.portDefinitions);
  expect((await s2.req('GET', '/v2/apps/keep/versions')).body.versions).toEqual(versions1);
  await until(async () => ((await s2.req('GET', '/v2/apps/keep')).body.app.tasksRunning as unknown) === 1, 'relaunched task');
});

test('close() stops every task process group: no pid survives', async () => {
  const s = await start();
  // The shell starts a child of its own: the kill must reach the whole group.
  await s.req('POST', '/v2/apps', {
    id: '/tree',
    // The pid file appears whole (a rename): `echo $! > file` creates it empty first, and a read then gets no pid.
    cmd: `sleep 60 & echo $! > ${dir}/.child-$MESOS_TASK_ID && mv ${dir}/.child-$MESOS_TASK_ID ${dir}/child-$MESOS_TASK_ID.pid; wait`,
    instances: 2,
    portDefinitions: [],
  });
  await s.req('POST', '/v2/apps', { id: '/stand', instances: 1, container: { docker: { image: 'nginx' } } });
  await settled(s);
  const ts = list((await s.req('GET', '/__local/tasks')).body.tasks);
  await until(async () => readdirSync(dir).filter((f) => f.startsWith('child-')).length === 2, 'grandchild pids');
  const grandchildren = readdirSync(dir)
    .filter((f) => f.startsWith('child-'))
    .map((f) => Number(readFileSync(join(dir, f), 'utf8').trim()));
  const pids = [...ts.map((t) => num(t.pid)), ...grandchildren];
  expect(pids).toHaveLength(5);
  const state = (await s.req('GET', '/__local/state')).body;
  expect(list(state.tasks)).toHaveLength(3);
  expect(grandchildren.every((p) => p > 0)).toBe(true);
  for (const p of pids) expect(alive(p)).toBe(true);
  await s.m.close();
  for (const p of pids) expect(alive(p)).toBe(false);
});

test("task environment: PORT0, PORT_<NAME>, PORT, HOST, MARATHON_APP_ID/VERSION, MESOS_TASK_ID, env (which wins over Marathon's names, as in TaskBuilder) and secret placeholders", async () => {
  const s = await start({ enableFeatures: ['secrets'] });
  const out = join(dir, 'env.txt');
  const r = await s.req('POST', '/v2/apps', {
    id: '/envy',
    cmd: `env > ${out}.tmp && mv ${out}.tmp ${out} && sleep 30`,
    portDefinitions: [
      { port: 0, name: 'http' },
      { port: 0, name: 'admin-api' },
    ],
    env: { GREETING: 'hi', DB_PASSWORD: { secret: 'db' }, HOST: 'envy.internal' },
    secrets: { db: { source: '/prod/db/password' } },
  });
  await settled(s);
  await until(async () => (readdirSync(dir).includes('env.txt') ? true : undefined), 'env file');
  const env = Object.fromEntries(
    readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const [task] = list((await s.req('GET', '/v2/apps/envy/tasks')).body.tasks);
  const ports = list(task.ports).map(num);
  expect(env.PORT0).toBe(String(ports[0]));
  expect(env.PORT1).toBe(String(ports[1]));
  expect(env.PORT_HTTP).toBe(String(ports[0]));
  expect(env.PORT_ADMIN_API).toBe(String(ports[1]));
  expect(env.PORT).toBe(String(ports[0]));
  expect(env.HOST).toBe('envy.internal');
  expect(env.MARATHON_APP_ID).toBe('/envy');
  expect(env.MARATHON_APP_VERSION).toBe(r.body.version);
  expect(env.MESOS_TASK_ID).toBe(task.id);
  expect(env.GREETING).toBe('hi');
  expect(env.DB_PASSWORD).toBe('local-secret:/prod/db/password');
  expect((await localTasks(s)).get(str(task.id))?.runner).toBe('cmd');
});

test('image store: registry.host:5000/a/b:tag runs <store>/a/b/<tag>/run; cmd overrides it', async () => {
  const image = join(dir, 'images', 'team', 'api', '1.2');
  mkdirSync(image, { recursive: true });
  writeFileSync(
    join(image, 'run'),
    `#!/bin/sh\nexec node -e "require('http').createServer((q, r) => r.end('image:' + process.cwd())).listen(+process.env.PORT0, '127.0.0.1')"\n`,
  );
  chmodSync(join(image, 'run'), 0o755);
  const s = await start({ imageStore: join(dir, 'images') });
  await s.req('POST', '/v2/apps', {
    id: '/img',
    container: { type: 'DOCKER', docker: { image: 'registry.example.com:5000/team/api:1.2' } },
    portDefinitions: [{ port: 0 }],
    healthChecks: [fastHttpCheck],
  });
  await s.req('POST', '/v2/apps', {
    id: '/img-cmd',
    cmd: 'echo override > marker && sleep 30',
    container: { type: 'DOCKER', docker: { image: 'localhost/team/api:1.2' } },
    portDefinitions: [],
  });
  await settled(s);
  const [t] = list((await s.req('GET', '/v2/apps/img/tasks')).body.tasks);
  expect((await localTasks(s)).get(str(t.id))?.runner).toBe('image-store');
  const body = await (await fetch(`http://127.0.0.1:${num(list(t.ports)[0])}/`)).text();
  expect(body).toBe(`image:${image}`);
  const [t2] = list((await s.req('GET', '/v2/apps/img-cmd/tasks')).body.tasks);
  expect((await localTasks(s)).get(str(t2.id))?.runner).toBe('image-store');
  await until(async () => (readdirSync(image).includes('marker') ? true : undefined), 'cmd ran in the image directory');
  expect((await s.req('GET', '/__local/info')).body.imageStore).toBe(join(dir, 'images'));
  expect((await s.req('GET', '/v2/info')).body).not.toHaveProperty('local');
});
