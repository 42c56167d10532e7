/**
 * Only Marathon's fields in Marathon's responses: every field of every response body of the Marathon API (app list,
 * app, versions, tasks, deployments, queue, info, leader, events, error bodies) must be declared by the matching type of
 * Marathon's RAML (reference/marathon-api/raml/v2/types). A strict client that maps every field to a constructor
 * argument fails on anything else. What this server adds about itself lives under /__local/.
 */
import { join } from 'node:path';
import { Decl, RamlTypes } from './raml';
import { Loose, TestServer, eventStream, list, settled, start, stopAll, str, until } from './helpers';

const raml = new RamlTypes(join(__dirname, '../../../reference/marathon-api/raml/v2/types'));

/**
 * Fields real Marathon sends that its RAML does not declare, each with the SEMANTICS.md section that shows it:
 * 422 details carry a JsPath `path` (§4), 400 details are a string (§4), a 409 lock lists `deployments` (§4).
 */
const ERROR_EXTRAS: Decl = {
  type: 'object',
  properties: {
    message: 'string',
    'deployments?': 'strings.Identifiable[]',
  },
};
const ERROR_USES = { strings: 'stringTypes.raml' };

function errorFields(body: Loose): string[] {
  const { details, ...rest } = body as unknown as Record<string, unknown>;
  const out = raml.undeclaredInline(rest, ERROR_EXTRAS, ERROR_USES);
  if (typeof details === 'string' || details === undefined) return out;
  if (!Array.isArray(details)) return [...out, '/details: neither a string nor a list'];
  details.forEach((d: Record<string, unknown>, i) => {
    const { path, ...detail } = d;
    if (typeof path !== 'string') out.push(`/details(${i})/path: missing`);
    for (const f of raml.undeclared(detail, 'error.raml#ErrorDetail')) out.push(`/details(${i})${f}`);
  });
  return out;
}

/**
 * The events: Marathon's RAML has no types for them (raml/v2/events.raml only points at examples/events.txt), so their
 * envelopes are written here from Marathon's Events.scala as SEMANTICS.md §14 lists them, and every nested object is
 * checked against the RAML type Marathon serialises it with.
 */
const EVENT_USES = {
  app: 'app.raml',
  health: 'healthCheck.raml',
  steps: 'deploymentSteps.raml',
  task: 'task.raml',
};
const common = { eventType: 'string', timestamp: 'datetime' };
const lightPlan = { type: 'object', properties: { id: 'string', version: 'datetime', steps: 'steps.DeploymentStep[]' } };
const EVENTS: Record<string, Decl> = {
  event_stream_attached: { properties: { ...common, remoteAddress: 'string' } },
  api_post_event: { properties: { ...common, clientIp: 'string', uri: 'string', appDefinition: 'app.App' } },
  group_change_success: { properties: { ...common, groupId: 'string', version: 'datetime' } },
  deployment_info: { properties: { ...common, plan: lightPlan, currentStep: 'steps.DeploymentStep' } },
  deployment_step_success: { properties: { ...common, plan: lightPlan, currentStep: 'steps.DeploymentStep' } },
  deployment_success: { properties: { ...common, id: 'string', plan: lightPlan } },
  deployment_failed: { properties: { ...common, id: 'string', plan: lightPlan, 'reason?': 'string' } },
  status_update_event: {
    properties: {
      ...common,
      slaveId: 'string',
      taskId: 'string',
      taskStatus: 'string',
      message: 'string',
      appId: 'string',
      host: 'string',
      ipAddresses: 'task.IpAddr[]',
      ports: 'integer[]',
      version: 'datetime',
    },
  },
  health_status_changed_event: {
    properties: { ...common, appId: 'string', instanceId: 'string', taskId: 'string', version: 'datetime', alive: 'boolean' },
  },
  failed_health_check_event: {
    properties: {
      ...common,
      appId: 'string',
      instanceId: 'string',
      taskId: 'string',
      healthCheck: 'health.AppHealthCheck',
      version: 'datetime',
    },
  },
  unhealthy_instance_kill_event: {
    properties: {
      ...common,
      appId: 'string',
      taskId: 'string',
      instanceId: 'string',
      version: 'datetime',
      reason: 'string',
      host: 'string',
      slaveId: 'string',
    },
  },
  app_terminated_event: { properties: { ...common, appId: 'string' } },
};

/** Marathon's timing fields are integers; this server's fractional seconds (a documented extension) are not used here. */
const integerCheck = { protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 5, timeoutSeconds: 1 };

let s: TestServer;
afterAll(stopAll);

/** Every response of the run, with the RAML type it must fit. */
const checks: { what: string; fields: string[] }[] = [];
const against = (what: string, body: unknown, ref: string) => checks.push({ what, fields: raml.undeclared(body, ref) });
const asError = (what: string, body: Loose) => checks.push({ what, fields: errorFields(body) });

test('every response field is declared by Marathon RAML types', async () => {
  s = await start({ enableFeatures: ['secrets'] });
  const stream = eventStream(s.url);
  await stream.attached;

  const web = {
    id: '/fields/web',
    container: { type: 'DOCKER', docker: { image: 'registry.example.com/web:1' } },
    instances: 2,
    portDefinitions: [{ port: 0, name: 'http', labels: { VIP_0: '/web:80' } }],
    healthChecks: [{ ...integerCheck, maxConsecutiveFailures: 1 }],
    labels: { team: 'core' },
    env: { MODE: 'test', DB: { secret: 'db' } },
    secrets: { db: { source: 'db-password' } },
    // A local file: the fetcher copies it into the sandbox (nothing leaves the machine).
    fetch: [{ uri: `file://${__filename}` }],
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5 },
  };
  const docker = {
    id: '/fields/img',
    instances: 1,
    container: {
      type: 'DOCKER',
      docker: { image: 'registry.example.com/img:1' },
      portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }],
    },
    networks: [{ mode: 'container/bridge' }],
    healthChecks: [{ ...integerCheck, protocol: 'MESOS_HTTP' }],
  };
  const failing = { id: '/fields/fails', cmd: 'exit 3', instances: 1, backoffSeconds: 1, portDefinitions: [] };

  const created = await s.req('POST', '/v2/apps', web);
  expect(created.status).toBe(201);
  against('POST /v2/apps (201)', created.body, 'app.raml#AppInfo');
  const put = await s.req('PUT', '/v2/apps/fields/img', docker);
  against('PUT /v2/apps/{id} (D-result)', put.body, 'deploymentResult.raml#DeploymentResult');
  expect((await s.req('POST', '/v2/apps', failing)).status).toBe(201);
  const deployments = list((await s.req('GET', '/v2/deployments')).body);
  deployments.forEach((d, i) => against(`GET /v2/deployments (${i})`, d, 'deploymentEventsInfo.raml#DeploymentStepInfo'));
  await until(async () => (await s.req('GET', '/v2/apps/fields/fails')).body.app?.lastTaskFailure, 'a task failure');
  await s.req('PUT', '/v2/apps/fields/fails', { instances: 0 });
  await settled(s);

  against('GET /v2/apps', (await s.req('GET', '/v2/apps')).body, 'app.raml#AppList');
  const embedded = await s.req('GET', '/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure&embed=apps.readiness&embed=apps.deployments');
  against('GET /v2/apps?embed=...', embedded.body, 'app.raml#AppList');
  for (const id of ['web', 'img', 'fails']) {
    const one = (await s.req('GET', `/v2/apps/fields/${id}`)).body;
    expect(Object.keys(one)).toEqual(['app']);
    against(`GET /v2/apps/fields/${id}`, one.app, 'app.raml#AppInfo');
  }
  const versions = await s.req('GET', '/v2/apps/fields/web/versions');
  against('GET /v2/apps/{id}/versions', versions.body, 'app.raml#VersionList');
  const version = await s.req('GET', `/v2/apps/fields/web/versions/${str(list(versions.body.versions)[0])}`);
  against('GET /v2/apps/{id}/versions/{v}', version.body, 'app.raml#App');
  against('GET /v2/tasks', (await s.req('GET', '/v2/tasks')).body, 'task.raml#TaskList');
  const tasks = await s.req('GET', '/v2/apps/fields/web/tasks');
  against('GET /v2/apps/{id}/tasks', tasks.body, 'task.raml#TaskList');
  against('GET /v2/queue', (await s.req('GET', '/v2/queue')).body, 'queue.raml#Queue');
  against('GET /v2/info', (await s.req('GET', '/v2/info')).body, 'info.raml#MarathonInfo');
  against('GET /v2/leader', (await s.req('GET', '/v2/leader')).body, 'info.raml#LeaderInfo');

  const one = list(tasks.body.tasks)[0];
  const killed = await s.req('DELETE', `/v2/apps/fields/web/tasks/${str(one.id)}`);
  against('DELETE /v2/apps/{id}/tasks/{task}', killed.body, 'task.raml#TaskSingle');
  const scaled = await s.req('POST', '/v2/tasks/delete?scale=true', {
    ids: [str(list((await s.req('GET', '/v2/apps/fields/img/tasks')).body.tasks)[0]?.id)],
  });
  against('POST /v2/tasks/delete?scale=true', scaled.body, 'deploymentResult.raml#DeploymentResult');
  await s.req('POST', '/__local/faults', { kind: 'unhealthy', appId: '/fields/web', count: 2 });
  const restarted = await s.req('POST', '/v2/apps/fields/web/restart');
  against('POST /v2/apps/{id}/restart', restarted.body, 'deploymentResult.raml#DeploymentResult');
  await settled(s);
  const removed = await s.req('DELETE', '/v2/apps/fields/fails');
  against('DELETE /v2/apps/{id}', removed.body, 'deploymentResult.raml#DeploymentResult');
  await settled(s);

  asError('404', (await s.req('GET', '/v2/apps/nope')).body);
  asError('409 exists', (await s.req('POST', '/v2/apps', web)).body);
  asError('422 Invalid JSON', (await s.req('POST', '/v2/apps', { id: 'Bad_Id', cmd: 'x' })).body);
  asError('422 Object is not valid', (await s.req('POST', '/v2/apps', { id: '/no-cmd' })).body);
  asError('400', (await s.req('POST', '/v2/apps', '{nope')).body);
  asError('415', (await s.req('POST', '/v2/apps', '{}', { 'Content-Type': 'text/plain' })).body);
  asError('405', (await s.req('DELETE', '/v2/info')).body);
  asError('500 URI not found', (await s.req('GET', '/v2/nothing')).body);
  await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/fields/img' });
  await s.req('PUT', '/v2/apps/fields/img', { instances: 2 });
  asError('409 locked', (await s.req('PUT', '/v2/apps/fields/img', { instances: 3 })).body);
  const cancel = await s.req('DELETE', `/v2/deployments/${str(list((await s.req('GET', '/v2/deployments')).body)[0].id)}`);
  against('DELETE /v2/deployments/{id}', cancel.body, 'deploymentResult.raml#DeploymentResult');
  await settled(s);

  stream.close();
  const seen = new Set<string>();
  for (const ev of stream.events) {
    const type = str(ev.eventType);
    seen.add(type);
    checks.push({
      what: `event ${type}`,
      fields: EVENTS[type] ? raml.undeclaredInline(ev, EVENTS[type], EVENT_USES) : ['an event type this test does not know'],
    });
  }
  for (const type of ['api_post_event', 'deployment_info', 'deployment_success', 'deployment_failed', 'status_update_event'])
    expect(seen).toContain(type);

  expect(checks.filter((c) => c.fields.length > 0)).toEqual([]);
  expect(checks.length).toBeGreaterThan(30);
});

test('the checker itself reports undeclared and mistyped fields', () => {
  expect(raml.undeclared({ leader: 'h:1', localStuff: 1 }, 'info.raml#LeaderInfo')).toEqual(['/localStuff: not declared']);
  expect(
    raml.undeclared({ tasks: [{ id: 'a', appId: '/a', host: 'h', state: 'TASK_RUNNING', role: '*', localPid: 1 }] }, 'task.raml#TaskList'),
  ).toEqual(['/tasks(0)/localPid: not declared']);
  expect(raml.undeclared({ versions: [1] }, 'app.raml#VersionList')).toEqual(['/versions(0): expected datetime, got 1']);
  expect(raml.undeclared({ labels: { any: 'x' }, env: { A: 'b', S: { secret: 'x' } } }, 'app.raml#App')).toEqual([]);
});
