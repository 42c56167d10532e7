/**
 * Replays Marathon's own example payloads (reference/marathon-api) as expected shapes: every field name of an example
 * must appear in the server's response with the same JSON type. Examples are older than the code in places; the
 * exceptions are listed where they are made, with the SEMANTICS.md section that explains them.
 */
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Loose, TestServer, eventStream, list, settled, start, stopAll, str, until } from './helpers';

const API = join(__dirname, '../../../reference/marathon-api');
const example = (rel: string): unknown => JSON.parse(readFileSync(join(API, rel), 'utf8'));

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Field names and JSON types of `expected` that `actual` lacks or types differently. `null` in an example is an unset
 * optional field (1.5 style, §6), an empty array an omit-empty collection; neither is required. `skip` names keys
 * (anywhere) that are not compared.
 */
function shapeMismatches(expected: unknown, actual: unknown, skip: readonly string[] = [], path = ''): string[] {
  if (expected === null) return [];
  const te = typeOf(expected);
  const ta = typeOf(actual);
  if (te !== ta) return [`${path || '/'}: expected ${te}, got ${ta}`];
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    return expected.length && a.length ? shapeMismatches(expected[0], a[0], skip, `${path}[0]`) : [];
  }
  if (te !== 'object') return [];
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const out: string[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (skip.includes(k) || v === null) continue;
    if (!(k in a)) {
      if (Array.isArray(v) && v.length === 0) continue;
      out.push(`${path}/${k}: missing`);
      continue;
    }
    out.push(...shapeMismatches(v, a[k], skip, `${path}/${k}`));
  }
  return out;
}

/** Strips the read-only fields of an AppInfo so it can be POSTed (§6 "Read-only fields"). */
function asRequest(app: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const readOnly = [
    'version',
    'versionInfo',
    'tasksStaged',
    'tasksRunning',
    'tasksHealthy',
    'tasksUnhealthy',
    'deployments',
    'tasks',
    'lastTaskFailure',
  ];
  for (const [k, v] of Object.entries(app)) if (!readOnly.includes(k) && v !== null) out[k] = v;
  return out;
}

// §6: old fields are accepted on input but never produced; §12/task.raml: region and zone exist only with fault domains.
const OLD_FIELDS = ['ports', 'uris', 'ipAddress'];
const NO_FAULT_DOMAIN = ['region', 'zone'];

let s: TestServer;
/** Stands in for the hosts of the examples' fetch URIs (raw.github.com ...): the fetcher downloads from loopback. */
let uriHost: Server;
beforeAll(async () => {
  uriHost = createServer((_req, res) => res.writeHead(200).end('# README\n'));
  await new Promise<void>((resolve) => uriHost.listen(0, '127.0.0.1', resolve));
  const loopback = `http://127.0.0.1:${(uriHost.address() as AddressInfo).port}`;
  s = await start();
  const zdd = example('marathon-lb/zdd_app_blue_marathon1.5.json') as { apps: Record<string, unknown>[] };
  const green = asRequest(zdd.apps[0]);
  // Same types, faster timing: checks every 0.2 s so the tasks carry health results.
  green.healthChecks = [{ ...(green.healthChecks as Record<string, unknown>[])[0], intervalSeconds: 0.2, gracePeriodSeconds: 5 }];
  expect((await s.req('POST', '/v2/apps', green)).status).toBe(201);
  const listed = example('raml/v2/examples/app_list.json') as { apps: Record<string, unknown>[] };
  const uris = (listed.apps[0].uris as string[]).map((u) => u.replace(/^https?:\/\/[^/]+/, loopback));
  const myapp = { ...asRequest(listed.apps[0]), uris, instances: 1, cmd: 'test -f README.md && sleep 60' };
  expect((await s.req('POST', '/v2/apps', myapp)).status).toBe(201);
  await settled(s);
  await until(async () => ((await s.req('GET', '/v2/apps/nginx-green')).body.app.tasksHealthy as unknown) === 3, 'healthy nginx-green');
});
afterAll(async () => {
  await stopAll();
  uriHost.closeAllConnections();
  await new Promise((resolve) => uriHost.close(resolve));
});

test('GET /v2/apps?embed=apps.tasks matches marathon-lb zdd_app_blue_marathon1.5.json (SEMANTICS.md §6, §12, §15)', async () => {
  const r = await s.req('GET', '/v2/apps?embed=apps.tasks&id=nginx-green');
  expect(shapeMismatches(example('marathon-lb/zdd_app_blue_marathon1.5.json'), r.body)).toEqual([]);
});

test('GET /v2/apps/{id} matches the zdd app wrapped in "app" (SEMANTICS.md §3)', async () => {
  const zdd = example('marathon-lb/zdd_app_blue_marathon1.5.json') as { apps: unknown[] };
  const r = await s.req('GET', '/v2/apps/nginx-green');
  expect(shapeMismatches({ app: zdd.apps[0] }, r.body)).toEqual([]);
});

test('GET /v2/apps matches raml/v2/examples/app_list.json, without the old fields (SEMANTICS.md §6)', async () => {
  const r = await s.req('GET', '/v2/apps?id=myapp');
  expect(list(r.body.apps)).toHaveLength(1);
  expect(shapeMismatches(example('raml/v2/examples/app_list.json'), r.body, OLD_FIELDS)).toEqual([]);
  for (const k of OLD_FIELDS) expect(list(r.body.apps)[0]).not.toHaveProperty(k);
});

test('GET /v2/tasks and /v2/apps/{id}/tasks match tasks.json and app_tasks.json (SEMANTICS.md §12)', async () => {
  const all = await s.req('GET', '/v2/tasks');
  expect(shapeMismatches(example('raml/v2/examples/tasks.json'), all.body, NO_FAULT_DOMAIN)).toEqual([]);
  const mine = await s.req('GET', '/v2/apps/myapp/tasks');
  expect(shapeMismatches(example('raml/v2/examples/app_tasks.json'), mine.body, NO_FAULT_DOMAIN)).toEqual([]);
});

test('GET /v2/deployments matches deployments.json; D-results match deployments_result.json (SEMANTICS.md §9)', async () => {
  await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/myapp' });
  const d = await s.req('PUT', '/v2/apps/myapp', { instances: 2 });
  expect(shapeMismatches(example('raml/v2/examples/deployments_result.json'), d.body)).toEqual([]);
  const r = await s.req('GET', '/v2/deployments');
  // affectedPods and the pod step: this server has no pods, so those arrays are empty or absent.
  expect(shapeMismatches(example('raml/v2/examples/deployments.json'), r.body, ['pod'])).toEqual([]);
  expect(shapeMismatches(example('raml/v2/examples/deployment_steps.json'), { steps: list(r.body)[0].steps })).toEqual([]);
  await s.req('DELETE', `/v2/deployments/${String(d.body.deploymentId)}?force=true`);
});

test('GET /v2/info matches info.json (SEMANTICS.md §13)', async () => {
  const r = await s.req('GET', '/v2/info');
  // default_network_name is only present when --default_network_name is set.
  expect(shapeMismatches(example('raml/v2/examples/info.json'), r.body, ['default_network_name'])).toEqual([]);
});

test('GET /v2/apps/{id}/versions matches app-versions-list.json (SEMANTICS.md §8)', async () => {
  const r = await s.req('GET', '/v2/apps/myapp/versions');
  expect(shapeMismatches(example('examples-extracted/app-versions-list.json'), r.body)).toEqual([]);
});

test('DELETE of one task matches app_task.json (SEMANTICS.md §3)', async () => {
  const [t] = list((await s.req('GET', '/v2/apps/nginx-green/tasks')).body.tasks);
  const r = await s.req('DELETE', `/v2/apps/nginx-green/tasks/${String(t.id)}`);
  expect(shapeMismatches(example('raml/v2/examples/app_task.json'), r.body, NO_FAULT_DOMAIN)).toEqual([]);
});

test('error bodies match examples-extracted/ (SEMANTICS.md §4)', async () => {
  const cases: [string, Promise<Loose>][] = [
    ['404-app-not-found.json', s.req('GET', '/v2/apps/not-existent').then((r) => r.body)],
    ['404-deployment-not-found.json', s.req('DELETE', '/v2/deployments/unknown').then((r) => r.body)],
    ['409-app-already-exists.json', s.req('POST', '/v2/apps', { id: '/myapp', cmd: 'x' }).then((r) => r.body)],
    // §4: a type error is 422 "Invalid JSON" with the details array that the 400 example shows.
    ['400-invalid-json.json', s.req('POST', '/v2/apps', { id: 123, cmd: 'x' }).then((r) => r.body)],
    ['422-object-not-valid.json', s.req('POST', '/v2/apps', { id: '/no-cmd' }).then((r) => r.body)],
  ];
  for (const [file, body] of cases) expect([file, shapeMismatches(example(`examples-extracted/${file}`), await body)]).toEqual([file, []]);
  await s.req('POST', '/__local/faults', { kind: 'hang', appId: '/myapp' });
  await s.req('PUT', '/v2/apps/myapp?force=true', { instances: 1 });
  const locked = await s.req('PUT', '/v2/apps/myapp', { instances: 2 });
  expect(locked.status).toBe(409);
  expect(shapeMismatches(example('examples-extracted/409-app-locked.json'), locked.body)).toEqual([]);
  // 401-unauthorized.json and 403-forbidden.json are plugin bodies; basic auth answers HTML instead (§2, tested in server.test.ts).
});

test('SSE frames match raml/v2/examples/events.txt (SEMANTICS.md §14)', async () => {
  const frames = readFileSync(join(API, 'raml/v2/examples/events.txt'), 'utf8')
    .split('\n\n')
    .map((f) => /^data: (.*)$/m.exec(f)?.[1])
    .filter((d): d is string => !!d)
    .map((d) => JSON.parse(d) as Record<string, unknown>);
  const byType = new Map(frames.map((f) => [String(f.eventType), f]));
  const stream = eventStream(s.url, '?event_type=event_stream_attached&event_type=status_update_event');
  await stream.attached;
  await s.req('POST', '/__local/faults', { kind: 'crash', appId: '/myapp' });
  const events = await stream.until((evs) => evs.some((e) => str(e.eventType) === 'status_update_event'));
  stream.close();
  const got = new Map<string, unknown>(events.map((e) => [str(e.eventType), e]));
  for (const [type, ev] of byType) expect([type, shapeMismatches(ev, got.get(type))]).toEqual([type, []]);
});

test('the shape comparison itself reports missing fields and type changes', () => {
  expect(shapeMismatches({ a: 1, b: [{ c: 'x' }], d: null, e: [] }, { a: '1', b: [{}] })).toEqual([
    '/a: expected number, got string',
    '/b[0]/c: missing',
  ]);
});
