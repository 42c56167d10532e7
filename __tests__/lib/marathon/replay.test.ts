// The client against a plain server that replays Marathon's own example payloads (reference/marathon-api/), so the
// client is checked against Marathon's shapes, not only against our local server. SEMANTICS.md §3, §4, §6, §8, §9, §12.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MarathonAppDefinition } from '../../../lib/marathon/app';
import { MarathonClient } from '../../../lib/marathon/client';
import { json, startServer } from './http-server';
import { caught } from '../../helpers/errors';

const SHARED = path.join(__dirname, '../../../reference/marathon-api');
const example = (rel: string): unknown => JSON.parse(readFileSync(path.join(SHARED, rel), 'utf8'));

const ROUTES: Record<string, [number, string]> = {
  'GET /v2/apps': [200, 'raml/v2/examples/app_list.json'],
  'GET /v2/apps?embed=apps.tasks': [200, 'marathon-lb/zdd_app_blue_marathon1.5.json'],
  'GET /v2/deployments': [200, 'raml/v2/examples/deployments.json'],
  'PUT /v2/apps/foo': [200, 'raml/v2/examples/deployments_result.json'],
  'DELETE /v2/deployments/97c136bf-5a28-4821-9d94-480d9fbb01c8': [200, 'raml/v2/examples/deployments_result.json'],
  'GET /v2/info': [200, 'raml/v2/examples/info.json'],
  'GET /v2/apps/minecraft/survival-world/tasks': [200, 'raml/v2/examples/app_tasks.json'],
  'GET /v2/apps/foo/versions': [200, 'examples-extracted/app-versions-list.json'],
  'GET /v2/apps/foo/versions/2014-03-01T23:42:20.938Z': [200, 'raml/v2/examples/app.json'],
  'GET /v2/apps/not_existent': [404, 'examples-extracted/404-app-not-found.json'],
  'DELETE /v2/deployments/unknown_deployment': [404, 'examples-extracted/404-deployment-not-found.json'],
  'PUT /v2/apps/locked': [409, 'examples-extracted/409-app-locked.json'],
  'PUT /v2/apps/invalid': [422, 'examples-extracted/422-object-not-valid.json'],
  'PUT /v2/apps/badjson': [400, 'examples-extracted/400-invalid-json.json'],
  'GET /v2/apps/secret': [401, 'examples-extracted/401-unauthorized.json'],
  'GET /v2/apps/forbidden': [403, 'examples-extracted/403-forbidden.json'],
};

let server: Awaited<ReturnType<typeof startServer>>;
let client: MarathonClient;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const embed = req.query.embed ? `?embed=${req.query.embed}` : '';
    const key = `${req.method} ${req.path}${embed}`;
    if (key === 'GET /v2/apps/nginx-green') {
      const list = example('marathon-lb/zdd_app_blue_marathon1.5.json') as { apps: unknown[] };
      json(res, 200, { app: list.apps[0] });
      return;
    }
    const route = ROUTES[key];
    if (!route) {
      json(res, 500, { message: 'URI not found' });
      return;
    }
    json(res, route[0], example(route[1]));
  });
  client = new MarathonClient({ baseUrl: server.url, auth: { source: 'none' }, attempts: 1 });
});
afterAll(() => server.close());

const APP = {
  id: '/foo',
  instances: 1,
  cpus: 0.1,
  mem: 16,
  disk: 0,
  networks: [],
  labels: {},
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  cmd: 'sleep 1',
} as MarathonAppDefinition;

describe("replaying Marathon's example payloads", () => {
  it('parses the old-style app list with nulls (raml app_list.json, §6: absent keys and null)', async () => {
    const [app] = await client.listApps();
    expect(app).toMatchObject({
      id: '/myapp',
      instances: 3,
      version: '2015-09-25T15:13:48.343Z',
      lastConfigChangeAt: '2015-09-25T15:13:48.343Z',
      image: null,
      hasHealthChecks: false,
      tasksRunning: 0,
      tasksHealthy: 0,
      deployments: ['9538079c-3898-4e32-aa31-799bf9097f74'],
    });
    expect(app.raw).not.toHaveProperty('args');
    expect(app.raw).not.toHaveProperty('container');
  });

  it('parses a Marathon 1.5 app with embedded tasks and health results (marathon-lb zdd_app_blue, §12)', async () => {
    const [app] = await client.listApps({ embedTasks: true });
    expect(server.received[server.received.length - 1].query).toEqual({ embed: 'apps.tasks' });
    expect(app).toMatchObject({
      id: '/nginx-green',
      instances: 3,
      tasksRunning: 3,
      tasksHealthy: 3,
      hasHealthChecks: true,
      image: 'brndnmtthws/nginx-echo-sleep',
      labels: { HAPROXY_DEPLOYMENT_GROUP: 'nginx', HAPROXY_0_PORT: '10000' },
    });
    expect(app.tasks).toHaveLength(3);
    expect(app.tasks[0]).toMatchObject({ state: 'TASK_RUNNING', version: '2017-07-14T15:13:34.402Z', ports: [16916], healthy: [true] });
  });

  it('reads GET /v2/apps/{id} wrapped in "app"', async () => {
    expect(await client.getApp('/nginx-green')).toMatchObject({ id: '/nginx-green', version: '2017-07-14T15:13:34.402Z' });
  });

  it('parses the deployment list (raml deployments.json, §9)', async () => {
    expect(await client.listDeployments()).toEqual([
      {
        id: '97c136bf-5a28-4821-9d94-480d9fbb01c8',
        version: '2015-09-30T09:09:17.614Z',
        affectedApps: ['/foo'],
        currentStep: 1,
        totalSteps: 1,
        currentActions: [{ action: 'ScaleApplication', app: '/foo' }],
      },
    ]);
  });

  it('reads the D-result of a PUT and of a deployment cancel (raml deployments_result.json, §3)', async () => {
    const expected = { deploymentId: '5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43', version: '2015-09-29T15:59:51.164Z' };
    expect(await client.putApp('/foo', APP)).toEqual(expected);
    expect(await client.deleteDeployment('97c136bf-5a28-4821-9d94-480d9fbb01c8')).toEqual(expected);
  });

  it('parses /v2/info (raml info.json, §13)', async () => {
    expect(await client.info()).toMatchObject({
      name: 'marathon',
      version: '1.5.0-SNAPSHOT',
      elected: true,
      leader: 'localhost:8080',
      features: [],
    });
  });

  it('parses app tasks (raml app_tasks.json)', async () => {
    expect(await client.getAppTasks('/minecraft/survival-world')).toEqual([
      expect.objectContaining({
        appId: '/minecraft/survival-world',
        state: 'TASK_STAGING',
        version: '2015-04-17T04:00:14.171Z',
        ports: [31756],
        healthy: [],
      }),
    ]);
  });

  it('reads versions and one stored version as a bare App (§8)', async () => {
    expect(await client.listVersions('/foo')).toEqual(['2014-03-01T23:42:20.938Z']);
    expect(await client.getVersion('/foo', '2014-03-01T23:42:20.938Z')).toMatchObject({ id: '/foo', cmd: 'sleep 1000' });
  });

  it('maps the example error bodies to typed errors (§4)', async () => {
    expect(await client.getApp('/not_existent')).toBeNull();
    expect((await caught(client.deleteDeployment('unknown_deployment'))).message).toContain(
      'DeploymentPlan unknown_deployment does not exist',
    );
    const locked = await caught(client.putApp('/locked', APP));
    expect(locked.code).toBe('MARATHON_LOCKED');
    expect((locked.details as { deploymentIds: string[] }).deploymentIds).toEqual(['97c136bf-5a28-4821-9d94-480d9fbb01c8']);
    const invalid = await caught(client.putApp('/invalid', APP));
    expect(invalid.code).toBe('MARATHON_REJECTED');
    expect(invalid.message).toContain('/upgradeStrategy/minimumHealthCapacity: is greater than 1');
    const badJson = await caught(client.putApp('/badjson', APP));
    expect(badJson.code).toBe('MARATHON_REJECTED');
    expect(badJson.message).toContain('/id: error.expected.jsstring');
    expect((await caught(client.getApp('/secret'))).code).toBe('MARATHON_AUTH');
    expect((await caught(client.getApp('/forbidden'))).code).toBe('MARATHON_AUTH');
  });
});
