/** The apps resource: CRUD, status codes and bodies, partial updates, versions, locks. */
import { TestServer, list, settled, start, stopAll, str, until } from './helpers';

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const sleeper = (id: string, extra: Record<string, unknown> = {}) => ({ id, cmd: 'sleep 30', instances: 1, cpus: 0.1, mem: 16, ...extra });

let s: TestServer;
beforeEach(async () => {
  s = await start();
});
afterEach(stopAll);

describe('POST /v2/apps', () => {
  test('201 with Location, Marathon-Deployment-Id, zeroed counters, deployments, no versionInfo (SEMANTICS.md §3, §16.3)', async () => {
    const r = await s.req('POST', '/v2/apps', sleeper('web'));
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${s.url}/web`);
    const dep = r.headers.get('marathon-deployment-id');
    expect(dep).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.id).toBe('/web');
    expect(str(r.body.version)).toMatch(TS);
    expect(r.body.versionInfo).toBeUndefined();
    expect([r.body.tasksStaged, r.body.tasksRunning, r.body.tasksHealthy, r.body.tasksUnhealthy]).toEqual([0, 0, 0, 0]);
    expect(r.body.deployments).toEqual([{ id: dep }]);
    // §3: service ports still read 0 in the POST echo; a GET shows the assigned one.
    expect(r.body.portDefinitions).toEqual([{ port: 0, protocol: 'tcp', name: 'default' }]);
    expect(r.headers.get('x-marathon-leader')).toBe(s.url);
  });

  test('the create plan is [StartApplication],[ScaleApplication] (SEMANTICS.md §7, §9)', async () => {
    // The hang fault keeps the plan listed so that its shape can be read.
    await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/two' });
    const r = await s.req('POST', '/v2/apps', { ...sleeper('/two'), instances: 0 });
    const deps = await s.req('GET', '/v2/deployments');
    const mine = list(deps.body).find((d) => str(d.id) === r.headers.get('marathon-deployment-id'));
    expect(mine?.steps).toEqual([
      { actions: [{ action: 'StartApplication', app: '/two' }] },
      { actions: [{ action: 'ScaleApplication', app: '/two' }] },
    ]);
    expect(mine?.totalSteps).toBe(2);
    expect(mine?.currentStep).toBe(1);
    expect(mine?.currentActions).toEqual([{ action: 'StartApplication', app: '/two', readinessCheckResults: [] }]);
    expect(mine?.affectedApps).toEqual(['/two']);
  });

  test('409 when the id exists (SEMANTICS.md §3)', async () => {
    await s.req('POST', '/v2/apps', sleeper('/dup'));
    const r = await s.req('POST', '/v2/apps', sleeper('/dup'));
    expect(r.status).toBe(409);
    expect(r.body).toEqual({ message: 'An app with id [/dup] already exists.' });
  });

  test('relative ids become absolute, dots resolve (SEMANTICS.md §5)', async () => {
    const r = await s.req('POST', '/v2/apps', sleeper('a/b/../c'));
    expect(r.body.id).toBe('/a/c');
  });

  test('GET output shape: defaults present, empty/old fields absent, service port assigned from 10000 (SEMANTICS.md §6, §16.10)', async () => {
    await s.req('POST', '/v2/apps', { ...sleeper('/shape'), ports: [0], uris: ['file:///nonexistent/y.tgz'], env: {}, args: [] });
    const app = (await s.req('GET', '/v2/apps/shape')).body.app;
    for (const k of [
      'labels',
      'networks',
      'upgradeStrategy',
      'unreachableStrategy',
      'killSelection',
      'role',
      'requirePorts',
      'executor',
      'gpus',
      'disk',
      'backoffSeconds',
      'backoffFactor',
      'maxLaunchDelaySeconds',
    ]) {
      expect(app).toHaveProperty(k);
    }
    for (const k of ['ports', 'uris', 'ipAddress', 'env', 'args', 'constraints', 'healthChecks', 'user']) expect(app).not.toHaveProperty(k);
    expect(app.networks).toEqual([{ mode: 'host' }]);
    expect(app.upgradeStrategy).toEqual({ minimumHealthCapacity: 1, maximumOverCapacity: 1 });
    expect(app.maxLaunchDelaySeconds).toBe(300);
    expect(app.fetch).toEqual([{ uri: 'file:///nonexistent/y.tgz', extract: true, executable: false, cache: false }]);
    expect(app.portDefinitions).toEqual([{ port: 10000, protocol: 'tcp' }]);
    expect(str(app.versionInfo.lastConfigChangeAt)).toMatch(TS);
  });

  test('old docker.network BRIDGE input becomes networks + container.portMappings (SEMANTICS.md §6)', async () => {
    await s.req('POST', '/v2/apps', {
      id: '/old',
      instances: 0,
      container: {
        type: 'DOCKER',
        docker: { image: 'nginx', network: 'BRIDGE', portMappings: [{ containerPort: 80, hostPort: 0, protocol: 'tcp' }] },
      },
    });
    const app = (await s.req('GET', '/v2/apps/old')).body.app;
    expect(app.networks).toEqual([{ mode: 'container/bridge' }]);
    expect(app.container.docker).toEqual({ forcePullImage: false, image: 'nginx', parameters: [], privileged: false });
    expect(app.container.portMappings).toEqual([{ containerPort: 80, hostPort: 0, labels: {}, protocol: 'tcp', servicePort: 10000 }]);
    expect(app).not.toHaveProperty('portDefinitions');
  });

  test('secrets are rejected without the secrets feature, accepted with it (SEMANTICS.md §6)', async () => {
    const body = { ...sleeper('/sec'), secrets: { s1: { source: '/db/pw' } }, env: { PW: { secret: 's1' } } };
    const r = await s.req('POST', '/v2/apps', body);
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('Object is not valid');
    expect(r.body.details).toEqual([{ path: '/', errors: ['Feature secrets is not enabled. Enable with --enable_features secrets)'] }]);
    const s2 = await start({ enableFeatures: ['secrets'] });
    expect((await s2.req('POST', '/v2/apps', body)).status).toBe(201);
  });
});

describe('error shapes', () => {
  test('422 Invalid JSON with Play paths and codes (SEMANTICS.md §4)', async () => {
    const r = await s.req('POST', '/v2/apps', {
      id: 'Bad_Id',
      cmd: 'x',
      portDefinitions: [{ port: 'eighty' }],
      upgradeStrategy: { minimumHealthCapacity: 1.5, maximumOverCapacity: 1 },
      env: { A: 1 },
      labels: { n: 80 },
      instances: -1,
    });
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('Invalid JSON');
    const byPath = Object.fromEntries(list(r.body.details).map((d) => [str(d.path), d.errors]));
    expect(byPath['/id']).toEqual(['error.pattern']);
    expect(byPath['/portDefinitions(0)/port']).toEqual(['error.expected.jsnumber']);
    expect(byPath['/upgradeStrategy/minimumHealthCapacity']).toEqual(['error.max']);
    expect(byPath['/labels/n']).toEqual(['error.expected.jsstring']);
    expect(byPath['/instances']).toEqual(['error.min']);
    expect(byPath['/env/A']).toBeDefined();
  });

  test('"id":123 is 422 error.expected.jsstring, a missing id error.path.missing (SEMANTICS.md §4)', async () => {
    expect((await s.req('POST', '/v2/apps', { id: 123, cmd: 'x' })).body).toEqual({
      message: 'Invalid JSON',
      details: [{ path: '/id', errors: ['error.expected.jsstring'] }],
    });
    expect((await s.req('POST', '/v2/apps', { cmd: 'x' })).body.details).toEqual([{ path: '/id', errors: ['error.path.missing'] }]);
  });

  test('422 Object is not valid for semantic rules (SEMANTICS.md §4, §12)', async () => {
    const noCmd = await s.req('POST', '/v2/apps', { id: '/nocmd' });
    expect(noCmd.status).toBe(422);
    expect(noCmd.body).toEqual({
      message: 'Object is not valid',
      details: [{ path: '/', errors: ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."] }],
    });
    const badIndex = await s.req('POST', '/v2/apps', {
      ...sleeper('/hc'),
      portDefinitions: [],
      healthChecks: [{ protocol: 'HTTP', portIndex: 0 }],
    });
    expect(badIndex.body.details).toEqual([
      {
        path: '/healthChecks(0)',
        errors: ['Health check port indices must address an element of the ports array or container port mappings.'],
      },
    ]);
    const reserved = await s.req('POST', '/v2/apps', sleeper('/a/restart'));
    expect(reserved.status).toBe(422);
    expect(list(reserved.body.details)[0].path).toBe('/id');
  });

  test('400 for unparsable and empty bodies, details is a string (SEMANTICS.md §4)', async () => {
    const bad = await s.req('POST', '/v2/apps', '{"id":');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('Invalid JSON');
    expect(typeof bad.body.details).toBe('string');
    const empty = await s.req('POST', '/v2/apps', '');
    expect(empty.status).toBe(400);
    expect(empty.body.message).toBe('Please specify data in JSON format');
  });

  test('415 without a JSON content type (SEMANTICS.md §1)', async () => {
    const r = await s.req('POST', '/v2/apps', JSON.stringify(sleeper('/t')), { 'Content-Type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.body).toEqual({ message: 'Unsupported Media Type' });
    expect((await s.req('PUT', '/v2/apps/t', 'x', { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(415);
  });

  test('406 when Accept excludes JSON (SEMANTICS.md §1)', async () => {
    const r = await s.req('GET', '/v2/apps', undefined, { Accept: 'text/html' });
    expect(r.status).toBe(406);
    expect(r.body).toEqual({ message: 'Not Acceptable' });
    expect((await s.req('GET', '/v2/apps', undefined, { Accept: 'application/json' })).status).toBe(200);
  });

  test('404 shapes for apps, versions and deployments; 500 URI not found (SEMANTICS.md §1, §4)', async () => {
    expect((await s.req('GET', '/v2/apps/nope')).body).toEqual({ message: "App '/nope' does not exist" });
    expect((await s.req('GET', '/v2/apps/nope/versions')).status).toBe(404);
    expect((await s.req('DELETE', '/v2/apps/nope')).status).toBe(404);
    expect((await s.req('DELETE', '/v2/deployments/abc')).body).toEqual({ message: 'DeploymentPlan abc does not exist' });
    const unmatched = await s.req('GET', '/v2/nothing-here');
    expect(unmatched.status).toBe(500);
    expect(unmatched.body).toEqual({ message: 'URI not found' });
  });
});

describe('PUT /v2/apps/{id}', () => {
  test('creates with 201 + Location, updates with 200 D-result; body id ignored (SEMANTICS.md §3)', async () => {
    const c = await s.req('PUT', '/v2/apps/put-me', { ...sleeper('/ignored') });
    expect(c.status).toBe(201);
    expect(c.headers.get('location')).toBe(`${s.url}/put-me`);
    expect(Object.keys(c.body).sort()).toEqual(['deploymentId', 'version']);
    expect(c.headers.get('marathon-deployment-id')).toBe(c.body.deploymentId);
    expect((await s.req('GET', '/v2/apps/ignored')).status).toBe(404);
    await settled(s);
    const u = await s.req('PUT', '/v2/apps/put-me', { cmd: 'sleep 31' });
    expect(u.status).toBe(200);
    expect(u.headers.get('location')).toBeNull();
  });

  test('partial update replaces top-level keys whole, keeps absent ones; partialUpdate=false resets to defaults (SEMANTICS.md §7)', async () => {
    await s.req('POST', '/v2/apps', { ...sleeper('/m'), labels: { a: '1', b: '2' }, env: { X: '1' }, mem: 64 });
    await settled(s);
    await s.req('PUT', '/v2/apps/m?force=true', { labels: { c: '3' } });
    let app = (await s.req('GET', '/v2/apps/m')).body.app;
    expect(app.labels).toEqual({ c: '3' });
    expect(app.env).toEqual({ X: '1' });
    expect(app.mem).toBe(64);
    await s.req('PUT', '/v2/apps/m?force=true', { env: {} });
    app = (await s.req('GET', '/v2/apps/m')).body.app;
    expect(app).not.toHaveProperty('env');
    await s.req('PUT', '/v2/apps/m?partialUpdate=false&force=true', { cmd: 'sleep 30' });
    app = (await s.req('GET', '/v2/apps/m')).body.app;
    expect(app.labels).toEqual({});
    expect(app.mem).toBe(128);
    expect(app.instances).toBe(1);
  });

  test('PATCH is a partial update and 404s for a missing app (SEMANTICS.md §3)', async () => {
    expect((await s.req('PATCH', '/v2/apps/none', { instances: 2 })).status).toBe(404);
    await s.req('POST', '/v2/apps', sleeper('/p'));
    await settled(s);
    const r = await s.req('PATCH', '/v2/apps/p', { labels: { x: 'y' } });
    expect(r.status).toBe(200);
    expect((await s.req('GET', '/v2/apps/p')).body.app.labels).toEqual({ x: 'y' });
  });

  test('versionInfo: config change, scale, restart, no-op (SEMANTICS.md §7, §8, §16.5)', async () => {
    const created = await s.req('POST', '/v2/apps', { ...sleeper('/v'), instances: 0 });
    await settled(s);
    const v0 = str(created.body.version);
    const cfg = await s.req('PUT', '/v2/apps/v', { labels: { a: 'b' } });
    await settled(s);
    let app = (await s.req('GET', '/v2/apps/v')).body.app;
    expect(app.version).toBe(cfg.body.version);
    expect(app.versionInfo).toEqual({ lastScalingAt: cfg.body.version, lastConfigChangeAt: cfg.body.version });
    expect(str(app.version) > v0).toBe(true);

    const scale = await s.req('PUT', '/v2/apps/v', { instances: 0, cpus: 0.1 });
    expect(scale.status).toBe(200);
    app = (await s.req('GET', '/v2/apps/v')).body.app;
    // Same content: no-op keeps the version but still returns a fresh deployment id (§7).
    expect(app.version).toBe(cfg.body.version);
    expect(scale.body.deploymentId).not.toBe(cfg.body.deploymentId);

    await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/v' });
    const up = await s.req('PUT', '/v2/apps/v', { instances: 1 });
    app = (await s.req('GET', '/v2/apps/v')).body.app;
    expect(app.versionInfo).toEqual({ lastScalingAt: up.body.version, lastConfigChangeAt: cfg.body.version });
    const deps = list((await s.req('GET', '/v2/deployments')).body);
    const scaleDep = deps.find((d) => d.id === up.body.deploymentId);
    expect(scaleDep?.steps).toEqual([{ actions: [{ action: 'ScaleApplication', app: '/v' }] }]);

    const rs = await s.req('POST', '/v2/apps/v/restart?force=true');
    expect(rs.status).toBe(200);
    app = (await s.req('GET', '/v2/apps/v')).body.app;
    expect(app.versionInfo).toEqual({ lastScalingAt: up.body.version, lastConfigChangeAt: rs.body.version });
    const versions = list((await s.req('GET', '/v2/apps/v/versions')).body.versions).map(str);
    expect(versions).toHaveLength(4);
    for (const v of versions) expect(v).toMatch(TS);
    await settled(s);
  });

  test('re-submitting port 0 keeps the assigned service port and is a no-op (SEMANTICS.md §6)', async () => {
    await s.req('POST', '/v2/apps', { ...sleeper('/sp'), instances: 0, portDefinitions: [{ port: 0, name: 'http' }] });
    await settled(s);
    const before = (await s.req('GET', '/v2/apps/sp')).body.app;
    const r = await s.req('PUT', '/v2/apps/sp?partialUpdate=false', {
      ...sleeper('/sp'),
      instances: 0,
      portDefinitions: [{ port: 0, name: 'http' }],
    });
    const after = (await s.req('GET', '/v2/apps/sp')).body.app;
    expect(after.portDefinitions).toEqual(before.portDefinitions);
    expect(after.version).toBe(before.version);
    expect(r.body.version).not.toBe(before.version);
  });

  test('version rollback body restores a stored version as a config change; 422 when combined (SEMANTICS.md §7, §11 C)', async () => {
    const c = await s.req('POST', '/v2/apps', { ...sleeper('/rb'), instances: 0, labels: { gen: '1' } });
    await settled(s);
    await s.req('PUT', '/v2/apps/rb', { labels: { gen: '2' } });
    await settled(s);
    const combined = await s.req('PUT', '/v2/apps/rb', { version: c.body.version, labels: {} });
    expect(combined.status).toBe(422);
    expect(combined.body).toEqual({
      message: 'Object is not valid',
      details: [{ path: '/', errors: ["The 'version' field may only be combined with the 'id' field."] }],
    });
    const rb = await s.req('PUT', '/v2/apps/rb', { id: '/rb', version: c.body.version });
    expect(rb.status).toBe(200);
    const app = (await s.req('GET', '/v2/apps/rb')).body.app;
    expect(app.labels).toEqual({ gen: '1' });
    expect(app.version).toBe(rb.body.version);
    expect(app.versionInfo.lastConfigChangeAt).toBe(rb.body.version);
    const missing = await s.req('PUT', '/v2/apps/rb', { version: '2001-01-01T00:00:00.000Z' });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe("App '/rb' does not exist in version 2001-01-01T00:00:00.000Z");
    await settled(s);
  });

  test('GET /versions/{ts} returns the bare app; unknown version 404 (SEMANTICS.md §8)', async () => {
    const c = await s.req('POST', '/v2/apps', { ...sleeper('/ver'), instances: 0 });
    const v = await s.req('GET', `/v2/apps/ver/versions/${str(c.body.version)}`);
    expect(v.status).toBe(200);
    expect(v.body.id).toBe('/ver');
    expect(v.body.version).toBe(c.body.version);
    expect(v.body.versionInfo).toBeDefined();
    expect(v.body).not.toHaveProperty('app');
    expect(v.body).not.toHaveProperty('tasks');
    const nf = await s.req('GET', '/v2/apps/ver/versions/2001-01-01T00:00:00.000Z');
    expect(nf.body).toEqual({ message: "App '/ver' does not exist in version 2001-01-01T00:00:00.000Z" });
  });

  test('409 lock with the literal message; force=true supersedes (SEMANTICS.md §4, §9, §16.7)', async () => {
    // A health check that never passes keeps the create deployment running.
    const c = await s.req('POST', '/v2/apps', {
      ...sleeper('/lock'),
      healthChecks: [
        { protocol: 'COMMAND', command: { value: 'exit 1' }, intervalSeconds: 0.2, gracePeriodSeconds: 0, maxConsecutiveFailures: 0 },
      ],
    });
    const locked = await s.req('PUT', '/v2/apps/lock', { instances: 2 });
    expect(locked.status).toBe(409);
    expect(locked.body).toEqual({
      message:
        "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
      deployments: [{ id: c.headers.get('marathon-deployment-id') }],
    });
    const forced = await s.req('PUT', '/v2/apps/lock?force=true', { instances: 2 });
    expect(forced.status).toBe(200);
    const ids = list((await s.req('GET', '/v2/deployments')).body).map((d) => d.id);
    expect(ids).toEqual([forced.body.deploymentId]);
    expect((await s.req('DELETE', '/v2/apps/lock')).status).toBe(200);
  });
});

describe('other app endpoints', () => {
  test('GET /v2/apps filters by id/cmd substring and label selector; embed=apps.tasks (SEMANTICS.md §3)', async () => {
    await s.req('POST', '/v2/apps', { ...sleeper('/prod/api'), labels: { tier: 'web' } });
    await s.req('POST', '/v2/apps', { ...sleeper('/prod/worker'), cmd: 'sleep 29' });
    await settled(s);
    const ids = async (q: string) => list((await s.req('GET', `/v2/apps${q}`)).body.apps).map((a) => a.id);
    expect(await ids('?id=API')).toEqual(['/prod/api']);
    expect(await ids('?cmd=29')).toEqual(['/prod/worker']);
    expect(await ids('?label=tier==web')).toEqual(['/prod/api']);
    expect(await ids('?label=tier')).toEqual(['/prod/api']);
    const plain = list((await s.req('GET', '/v2/apps')).body.apps)[0];
    expect(plain).not.toHaveProperty('tasks');
    expect(plain).toHaveProperty('tasksRunning');
    expect(plain).toHaveProperty('deployments');
    const embedded = list((await s.req('GET', '/v2/apps?embed=apps.tasks')).body.apps)[0];
    expect(list(embedded.tasks)).toHaveLength(1);
    // The listing is reused between changes; it must still follow task and deployment changes.
    const running = async () => list((await s.req('GET', '/v2/apps?id=worker')).body.apps)[0];
    expect((await running()).tasksRunning).toBe(1);
    await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/prod/worker' });
    const scale = await s.req('PUT', '/v2/apps/prod/worker', { instances: 2 });
    expect((await running()).deployments).toEqual([{ id: scale.body.deploymentId }]);
    await until(async () => ((await running()).tasksRunning as unknown) === 2, 'listing shows 2 running');
    await s.req('DELETE', `/v2/deployments/${str(scale.body.deploymentId)}?force=true`);
    expect((await running()).deployments).toEqual([]);
    const group = await s.req('GET', '/v2/apps/prod/*');
    expect(
      list(group.body['*'])
        .map((a) => a.id)
        .sort(),
    ).toEqual(['/prod/api', '/prod/worker']);
  });

  test('DELETE app: 200 D-result, StopApplication, app gone at once (SEMANTICS.md §3, §9)', async () => {
    await s.req('POST', '/v2/apps', sleeper('/del'));
    await settled(s);
    await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/del' });
    const r = await s.req('DELETE', '/v2/apps/del');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['deploymentId', 'version']);
    expect(r.headers.get('marathon-deployment-id')).toBe(r.body.deploymentId);
    expect((await s.req('GET', '/v2/apps/del')).status).toBe(404);
    const dep = list((await s.req('GET', '/v2/deployments')).body).find((d) => d.id === r.body.deploymentId);
    expect(dep?.steps).toEqual([{ actions: [{ action: 'StopApplication', app: '/del' }] }]);
  });

  test('an app and a group may not share an id (SEMANTICS.md §5)', async () => {
    await s.req('POST', '/v2/apps', { ...sleeper('/g/a'), instances: 0 });
    const r = await s.req('POST', '/v2/apps', { ...sleeper('/g'), instances: 0 });
    expect(r.status).toBe(422);
    expect(r.body.details).toEqual([{ path: '/', errors: ['Groups and Applications may not have the same identifier.'] }]);
  });

  test('PUT /v2/apps with an array is one deployment (SEMANTICS.md §3)', async () => {
    const r = await s.req('PUT', '/v2/apps', [
      { ...sleeper('/batch/a'), instances: 0 },
      { ...sleeper('/batch/b'), instances: 0, dependencies: ['/batch/a'] },
    ]);
    expect(r.status).toBe(200);
    expect((await s.req('GET', '/v2/apps?id=batch')).body.apps).toHaveLength(2);
  });

  test('/ping content negotiation, /v2/leader, /v2/info (SEMANTICS.md §13)', async () => {
    const text = await fetch(`${s.url}/ping`);
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toBe('pong');
    const json = await fetch(`${s.url}/ping`, { headers: { Accept: 'application/json' } });
    expect(await json.text()).toBe('"pong"');
    const none = await fetch(`${s.url}/ping`, { headers: { Accept: 'image/png' } });
    expect(none.status).toBe(204);
    expect((await s.req('GET', '/v2/leader')).body).toEqual({ leader: `127.0.0.1:${s.m.port}` });
    const info = (await s.req('GET', '/v2/info')).body;
    for (const k of ['name', 'version', 'elected', 'leader', 'frameworkId', 'marathon_config', 'zookeeper_config', 'http_config'])
      expect(info).toHaveProperty(k);
    expect(info).not.toHaveProperty('local');
    const local = (await s.req('GET', '/__local/info')).body;
    expect(local.dockerEngine).toBe(false);
    expect(local.dockerTasks).toBe('stand-in');
  });
});
