/**
 * Existing Marathon clients that nobody here wrote (client libraries and their own integration tests, load balancers
 * reading apps, tasks and events) must work against the local Marathon unchanged.
 *
 * Two such clients run here against the local Marathon, unchanged:
 * - elastic.io's `marathon-node` (request + request-promise for REST, the `eventsource` package for /v2/events), used
 *   the way its README shows;
 * - marathon-lb's reading of `GET /v2/apps?embed=apps.tasks` (SEMANTICS.md §15), done here with plain `fetch`, checking
 *   the fields marathon_lb.py reads.
 *
 * The tests in the first describe block share one app and run in order, like a user's session.
 */
import { LocalMarathon, startLocalMarathon } from '../src';
import { Loose, list, num, str, until } from './helpers';

// ---- A minimal typed view of marathon-node 1.1.0 (it ships no types); only the methods used here. ----

/** Query parameters and bodies the client passes on to `request`. */
type Query = Record<string, string | string[] | boolean | undefined>;

/** An event as the `eventsource` package delivers it. */
interface SseMessage {
  type: string;
  data: string;
}

/** The `error` event of the `eventsource` package (has `status` for a non-200 answer). */
interface SseError {
  type: string;
  status?: number;
  message?: string;
}

/** The EventSource object that `events.createEventSource` returns (eventsource 1.x). */
interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'error', listener: (e: SseError) => void): void;
  addEventListener(type: string, listener: (e: SseMessage) => void): void;
  close(): void;
}

/** What request-promise rejects with on a non-2xx answer. */
interface StatusCodeError extends Error {
  statusCode: number;
  error: Loose | string;
  response: { headers: Record<string, string | undefined> };
}

interface MarathonNodeClient {
  info: { get(): Promise<Loose> };
  misc: { ping(addOptions?: { json?: boolean; headers?: Record<string, string> }): Promise<string> };
  apps: {
    getList(query?: Query): Promise<Loose>;
    create(body: object): Promise<Loose>;
    getOne(appId: string, query?: Query): Promise<Loose>;
    update(appId: string, body: object, force?: boolean): Promise<Loose>;
    destroy(appId: string, force?: boolean): Promise<Loose>;
    restart(appId: string, force?: boolean): Promise<Loose>;
    getTasks(appId: string): Promise<Loose>;
    killTask(appId: string, taskId: string, scale?: boolean): Promise<Loose>;
    getVersions(appId: string): Promise<Loose>;
    getVersion(appId: string, version: string): Promise<Loose>;
  };
  tasks: {
    getList(): Promise<Loose>;
    kill(body: { ids: string[] }, scale?: boolean, wipe?: boolean): Promise<Loose>;
  };
  deployments: { getList(): Promise<Loose> };
  events: { createEventSource(opts?: { eventType?: string | string[] }): EventSourceLike };
}

type MarathonNodeFactory = (baseUrl: string, opts?: object) => MarathonNodeClient;

const createMarathon: MarathonNodeFactory = require('marathon-node');

// ---- helpers ----

/** §1: every timestamp is yyyy-MM-dd'T'HH:mm:ss.SSS'Z'. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Awaits a promise that must reject, and returns request-promise's StatusCodeError. */
async function rejection(p: Promise<unknown>): Promise<StatusCodeError> {
  let resolved: unknown;
  try {
    resolved = await p;
  } catch (e) {
    return e as StatusCodeError;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(resolved)}`);
}

/** Waits (bounded) until the client's `deployments.getList` is empty (§10). */
async function deploymentsSettled(client: MarathonNodeClient, what: string): Promise<void> {
  await until(async () => list(await client.deployments.getList()).length === 0, `${what}: deployments to finish`, 20000);
}

/** Collects every message of the given event types from an EventSource. */
function collect(es: EventSourceLike, types: string[]): Loose[] {
  const seen: Loose[] = [];
  for (const t of types) es.addEventListener(t, (e: SseMessage) => seen.push(JSON.parse(e.data) as Loose));
  return seen;
}

/** Resolves on the EventSource's `open`, rejects on its first `error`. */
function opened(es: EventSourceLike): Promise<void> {
  return new Promise((resolve, reject) => {
    es.addEventListener('open', () => resolve());
    es.addEventListener('error', (e: SseError) => reject(new Error(`event source error ${e.status ?? ''} ${e.message ?? ''}`)));
  });
}

/** Resolves with the EventSource's first `error` event. */
function firstError(es: EventSourceLike): Promise<SseError> {
  return new Promise((resolve) => es.addEventListener('error', (e: SseError) => resolve(e)));
}

const APP_ID = '/third-party/web';

/** A Docker app (run by the stand-in: docker 'never') with a port mapping, marathon-lb labels and a fast HTTP check. */
const webApp = {
  id: APP_ID,
  instances: 2,
  cpus: 0.1,
  mem: 32,
  container: {
    type: 'DOCKER',
    docker: { image: 'nginx:1.25-alpine' },
    portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 0, protocol: 'tcp', name: 'http' }],
  },
  networks: [{ mode: 'container/bridge' }],
  labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.example.test' },
  // Fractional seconds are a local-server simplification (docs/local-marathon.md); real Marathon wants integers.
  healthChecks: [
    {
      protocol: 'HTTP',
      path: '/',
      portIndex: 0,
      intervalSeconds: 0.2,
      gracePeriodSeconds: 3,
      timeoutSeconds: 1,
      maxConsecutiveFailures: 3,
    },
  ],
  upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5 },
};

describe('marathon-node 1.1.0, unchanged, against the local Marathon', () => {
  let server: LocalMarathon;
  let client: MarathonNodeClient;
  const open: EventSourceLike[] = [];
  let createdVersion = '';
  let updatedVersion = '';

  beforeAll(async () => {
    server = await startLocalMarathon({ port: 0, docker: 'never' });
    // The base URL as a user would write it; marathon-node appends /v2 (or /ping) to its path.
    client = createMarathon(`http://127.0.0.1:${server.port}`);
  });

  afterAll(async () => {
    for (const es of open) es.close();
    await server.close();
  });

  test('info.get and misc.ping (SEMANTICS.md §13)', async () => {
    const info = await client.info.get();
    expect(info.name).toBe('marathon');
    expect(typeof info.version).toBe('string');
    expect(info.elected).toBe(true);
    expect(info.leader).toBe(`127.0.0.1:${server.port}`);
    for (const key of ['frameworkId', 'marathon_config', 'zookeeper_config', 'http_config']) expect(info).toHaveProperty(key);
    // marathon-node sends `Accept: application/json` (request's json: true), so /ping answers the JSON string "pong".
    expect(await client.misc.ping()).toBe('pong');
    // With json off and a text Accept, the body is plain text pong.
    expect(await client.misc.ping({ json: false, headers: { Accept: 'text/plain' } })).toBe('pong');
  });

  test('apps.create: 201 body echoes the app with zeroed counters and deployments:[{id}], no versionInfo (§3, §16.3)', async () => {
    const created = await client.apps.create(webApp);
    expect(created.id).toBe(APP_ID);
    expect(created.tasksRunning).toBe(0);
    expect(created.tasksHealthy).toBe(0);
    expect(list(created.deployments)).toHaveLength(1);
    expect(str(list(created.deployments)[0].id)).toMatch(UUID);
    expect(str(created.version)).toMatch(TIMESTAMP);
    expect(created).not.toHaveProperty('versionInfo');
    createdVersion = str(created.version);

    // A plain cmd app without health checks, beside it.
    const sleeper = await client.apps.create({ id: '/third-party/sleeper', cmd: 'sleep 600', instances: 1, cpus: 0.05, mem: 16 });
    expect(sleeper.id).toBe('/third-party/sleeper');

    // A second POST of the same id: 409 with Marathon's message (§3, §4).
    const dup = await rejection(client.apps.create({ id: '/third-party/sleeper', cmd: 'sleep 600' }));
    expect(dup.statusCode).toBe(409);
    expect(dup.error).toEqual({ message: 'An app with id [/third-party/sleeper] already exists.' });

    await deploymentsSettled(client, 'create');
  });

  test('apps.getOne: counters, version, versionInfo; tasksHealthy stays 0 without checks (§3, §12)', async () => {
    const { app } = await client.apps.getOne(APP_ID);
    expect(app.id).toBe(APP_ID);
    expect(app.instances).toBe(2);
    expect(app.tasksRunning).toBe(2);
    expect(app.tasksHealthy).toBe(2);
    expect(app.tasksUnhealthy).toBe(0);
    expect(app.version).toBe(createdVersion);
    expect(app.versionInfo.lastConfigChangeAt).toBe(createdVersion);
    expect(list(app.deployments)).toEqual([]);
    // GET /v2/apps/{id} always embeds tasks (§3).
    expect(list(app.tasks)).toHaveLength(2);
    // Service ports are assigned from 10000-20000 once the app is stored (§3 "POST response details", §6).
    const servicePort = num(list(app.container.portMappings)[0].servicePort);
    expect(servicePort).toBeGreaterThanOrEqual(10000);
    expect(servicePort).toBeLessThanOrEqual(20000);

    const sleeper = (await client.apps.getOne('third-party/sleeper')).app;
    expect(sleeper.tasksRunning).toBe(1);
    expect(sleeper.tasksHealthy).toBe(0);

    const missing = await rejection(client.apps.getOne('/third-party/nope'));
    expect(missing.statusCode).toBe(404);
    expect(missing.error).toEqual({ message: "App '/third-party/nope' does not exist" });
  });

  test('apps.getList: every app; id filter is a case-insensitive substring; tasks only with embed (§3)', async () => {
    const all = list((await client.apps.getList()).apps);
    expect(all.map((a) => str(a.id)).sort()).toEqual(['/third-party/sleeper', APP_ID]);
    for (const a of all) expect(a).not.toHaveProperty('tasks');
    const filtered = list((await client.apps.getList({ id: 'PARTY/WE' })).apps);
    expect(filtered.map((a) => a.id)).toEqual([APP_ID]);
    const embedded = list((await client.apps.getList({ embed: 'apps.tasks' })).apps);
    expect(embedded.find((a) => str(a.id) === APP_ID)?.tasks).toHaveLength(2);
  });

  test('apps.getTasks and tasks.getList (§3, §12)', async () => {
    const tasks = list((await client.apps.getTasks(APP_ID)).tasks);
    expect(tasks).toHaveLength(2);
    for (const t of tasks) {
      expect(t.appId).toBe(APP_ID);
      expect(t.state).toBe('TASK_RUNNING');
      expect(t.host).toBe('127.0.0.1');
      expect(list(t.ports)).toHaveLength(1);
      expect(t.version).toBe(createdVersion);
      expect(str(t.stagedAt)).toMatch(TIMESTAMP);
      expect(list(t.healthCheckResults).map((h) => h.alive)).toEqual([true]);
    }
    const everyTask = list((await client.tasks.getList()).tasks);
    expect(everyTask.map((t) => str(t.id)).sort()).toEqual(
      [...tasks.map((t) => str(t.id)), ...list((await client.apps.getTasks('/third-party/sleeper')).tasks).map((t) => str(t.id))].sort(),
    );
  });

  test('apps.update with a subscribed events.createEventSource: deployment_success and status_update_event (§7, §14)', async () => {
    const es = client.events.createEventSource({ eventType: ['deployment_success', 'status_update_event'] });
    open.push(es);
    const seen = collect(es, ['deployment_success', 'status_update_event', 'deployment_info']);
    await opened(es);

    const before = list((await client.apps.getTasks(APP_ID)).tasks).map((t) => str(t.id));
    const result = await client.apps.update(APP_ID, { env: { GREETING: 'hello' } });
    expect(str(result.deploymentId)).toMatch(UUID);
    expect(str(result.version)).toMatch(TIMESTAMP);
    expect(result.version).not.toBe(createdVersion);
    updatedVersion = str(result.version);

    const success = await until(
      async () => seen.find((e) => str(e.eventType) === 'deployment_success' && str(e.id) === str(result.deploymentId)),
      'deployment_success for the update',
      20000,
    );
    expect(success.plan.id).toBe(result.deploymentId);
    // New tasks reported running with the new version.
    const running = seen.filter(
      (e) =>
        str(e.eventType) === 'status_update_event' &&
        str(e.appId) === APP_ID &&
        str(e.taskStatus) === 'TASK_RUNNING' &&
        str(e.version) === updatedVersion,
    );
    expect(running.length).toBeGreaterThanOrEqual(2);
    // The old tasks were killed (§7: a config change restarts every task).
    const killedIds = seen
      .filter((e) => str(e.eventType) === 'status_update_event' && ['TASK_KILLED', 'TASK_KILLING'].includes(str(e.taskStatus)))
      .map((e) => str(e.taskId));
    for (const id of before) expect(killedIds).toContain(id);
    // The filter held: no deployment_info was delivered.
    expect(seen.filter((e) => str(e.eventType) === 'deployment_info')).toEqual([]);

    es.close();
    expect(es.readyState).toBe(2);

    await deploymentsSettled(client, 'update');
    const { app } = await client.apps.getOne(APP_ID);
    expect(app.version).toBe(updatedVersion);
    expect(app.env).toEqual({ GREETING: 'hello' });
    expect(app.tasksHealthy).toBe(2);
    const after = list((await client.apps.getTasks(APP_ID)).tasks);
    expect(after.map((t) => t.version)).toEqual([updatedVersion, updatedVersion]);
    for (const t of after) expect(before).not.toContain(t.id);
  });

  // Real Marathon's HttpEventStreamServlet extends Jetty's EventSourceServlet, whose respond() sets 200 +
  // text/event-stream and flushes before any event (§14), so an EventSource opens at once whatever `event_type` filter
  // it asks for (a client that waits for `open` before acting, or marathon-lb's Python requests, depends on it).
  test('an event_type-filtered stream opens before any matching event (§14; Jetty flushes the headers)', async () => {
    const es = client.events.createEventSource({ eventType: 'deployment_success' });
    open.push(es);
    try {
      // Without the flush, `open` never fires and the test times out.
      await opened(es);
      expect(es.readyState).toBe(1);
    } finally {
      es.close();
    }
  });

  test('apps.getVersions and apps.getVersion: versions listed; one version is the bare app (§3, §8)', async () => {
    const versions = list((await client.apps.getVersions(APP_ID)).versions).map(str);
    expect(versions).toEqual(expect.arrayContaining([createdVersion, updatedVersion]));
    const old = await client.apps.getVersion(APP_ID, createdVersion);
    expect(old.id).toBe(APP_ID);
    expect(old).not.toHaveProperty('app');
    expect(old.version).toBe(createdVersion);
    expect(old).not.toHaveProperty('env.GREETING');
    const current = await client.apps.getVersion(APP_ID, updatedVersion);
    expect(current.env).toEqual({ GREETING: 'hello' });
  });

  test('apps.restart: a D-result and all tasks replaced (§3)', async () => {
    const before = list((await client.apps.getTasks(APP_ID)).tasks).map((t) => str(t.id));
    const result = await client.apps.restart(APP_ID);
    expect(str(result.deploymentId)).toMatch(UUID);
    expect(str(result.version)).toMatch(TIMESTAMP);
    await deploymentsSettled(client, 'restart');
    const after = list((await client.apps.getTasks(APP_ID)).tasks);
    expect(after).toHaveLength(2);
    for (const t of after) expect(before).not.toContain(t.id);
    expect((await client.apps.getOne(APP_ID)).app.tasksHealthy).toBe(2);
  });

  test('apps.killTask with scale: a D-result and one instance fewer; tasks.kill without scale: replaced (§3)', async () => {
    const tasks = list((await client.apps.getTasks(APP_ID)).tasks).map((t) => str(t.id));
    const scaled = await client.apps.killTask(APP_ID, tasks[0], true);
    expect(str(scaled.deploymentId)).toMatch(UUID);
    await deploymentsSettled(client, 'kill with scale');
    const after = await until(async () => {
      const { app } = await client.apps.getOne(APP_ID);
      return num(app.tasksRunning) === 1 && list(app.tasks).length === 1 ? app : undefined;
    }, 'one task left');
    expect(after.instances).toBe(1);
    expect(list(after.tasks)[0].id).toBe(tasks[1]);

    // zdd.py's drain call without scale: the task is killed and Marathon launches a replacement.
    const killed = await client.tasks.kill({ ids: [tasks[1]] });
    expect(list(killed.tasks).map((t) => t.id)).toEqual([tasks[1]]);
    const replaced = await until(async () => {
      const { app } = await client.apps.getOne(APP_ID);
      const ts = list(app.tasks);
      return ts.length === 1 && str(ts[0].id) !== tasks[1] && num(app.tasksHealthy) === 1 ? app : undefined;
    }, 'a replacement task');
    expect(replaced.instances).toBe(1);
  });

  test('marathon-lb reads GET /v2/apps?embed=apps.tasks: labels, healthChecks, servicePort, tasks host/ports/alive (§15)', async () => {
    const r = await fetch(`${server.url}/v2/apps?embed=apps.tasks`, {
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(10000),
    });
    expect(r.status).toBe(200);
    const apps = list(((await r.json()) as Loose).apps);
    const web = apps.find((a) => str(a.id) === APP_ID);
    if (!web) throw new Error('app missing from /v2/apps');
    expect(web.labels).toEqual({ HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.example.test' });
    expect(list(web.healthChecks).map((h) => [h.protocol, h.portIndex, h.path])).toEqual([['HTTP', 0, '/']]);
    const servicePort = num(list(web.container.portMappings)[0].servicePort);
    expect(servicePort).toBeGreaterThanOrEqual(10000);
    expect(servicePort).toBeLessThanOrEqual(20000);
    const tasks = list(web.tasks);
    expect(tasks).toHaveLength(1);
    for (const t of tasks) {
      expect(t.state).toBe('TASK_RUNNING');
      expect(list(t.healthCheckResults).some((h) => (h.alive as unknown) === true)).toBe(true);
      const [port] = list(t.ports).map(num);
      // marathon-lb would route to host:ports[0]; the backend really answers there.
      const backend = await fetch(`http://${str(t.host)}:${port}/`, { signal: AbortSignal.timeout(5000) });
      expect(backend.status).toBe(200);
      await backend.text();
    }
    // The sleeper has no health checks: marathon-lb would route to its running tasks without alive results.
    const sleeper = apps.find((a) => str(a.id) === '/third-party/sleeper');
    expect(list(sleeper?.healthChecks)).toEqual([]);
    expect(list(sleeper?.tasks).map((t) => t.state)).toEqual(['TASK_RUNNING']);
  });

  test('apps.destroy: a D-result, then 404 (§3)', async () => {
    for (const id of [APP_ID, '/third-party/sleeper']) {
      const result = await client.apps.destroy(id);
      expect(str(result.deploymentId)).toMatch(UUID);
    }
    await deploymentsSettled(client, 'destroy');
    expect((await rejection(client.apps.getOne(APP_ID))).statusCode).toBe(404);
    expect(list((await client.apps.getList()).apps)).toEqual([]);
    expect(list((await client.tasks.getList()).tasks)).toEqual([]);
  });
});

describe('marathon-node with HTTP basic auth (SEMANTICS.md §2)', () => {
  let server: LocalMarathon;
  const open: EventSourceLike[] = [];

  beforeAll(async () => {
    server = await startLocalMarathon({ port: 0, docker: 'never', credentials: 'user:pass' });
  });

  afterAll(async () => {
    for (const es of open) es.close();
    await server.close();
  });

  test('credentials in the base URL work for REST and /v2/events; without them, 401 with a Basic challenge', async () => {
    const authed = createMarathon(`http://user:pass@127.0.0.1:${server.port}`);
    expect((await authed.info.get()).name).toBe('marathon');
    expect(await authed.misc.ping()).toBe('pong');
    expect(list((await authed.apps.getList()).apps)).toEqual([]);

    const anonymous = createMarathon(`http://127.0.0.1:${server.port}`);
    const denied = await rejection(anonymous.info.get());
    expect(denied.statusCode).toBe(401);
    expect(denied.response.headers['www-authenticate']).toMatch(/^Basic realm="/);
    // /ping is protected too (§2: Jetty enforces it on /*).
    expect((await rejection(anonymous.misc.ping())).statusCode).toBe(401);
    const wrong = createMarathon(`http://user:wrong@127.0.0.1:${server.port}`);
    expect((await rejection(wrong.apps.getList())).statusCode).toBe(401);

    // The event stream: the eventsource package takes the credentials from the URL.
    const es = authed.events.createEventSource({ eventType: ['deployment_success'] });
    open.push(es);
    const seen = collect(es, ['deployment_success']);
    await opened(es);
    const created = await authed.apps.create({ id: '/auth/sleeper', cmd: 'sleep 600', instances: 1, cpus: 0.05, mem: 16 });
    const deploymentId = list(created.deployments)[0].id;
    await until(async () => seen.find((e) => e.id === deploymentId), 'deployment_success over the authenticated stream', 20000);
    es.close();

    const esDenied = anonymous.events.createEventSource({ eventType: 'deployment_success' });
    open.push(esDenied);
    const err = await firstError(esDenied);
    expect(err.status).toBe(401);
    esDenied.close();

    await authed.apps.destroy('/auth/sleeper');
    await deploymentsSettled(authed, 'destroy');
  });
});
