// The one Marathon client against plain HTTP servers on loopback: what it sends (method, path, query, headers, body)
// and the typed error it returns. Sections cite reference/marathon-api/SEMANTICS.md.
import { MarathonAppDefinition } from '../../../lib/marathon/app';
import { authFromEnv, MarathonClient } from '../../../lib/marathon/client';
import { json, reset, startServer } from './http-server';
import { caught } from '../../helpers/errors';

const APP: MarathonAppDefinition = {
  id: '/staging/web',
  instances: 1,
  cpus: 0.1,
  mem: 64,
  disk: 0,
  container: { type: 'DOCKER', docker: { image: 'r:5000/web:1', forcePullImage: false } },
  networks: [{ mode: 'container/bridge' }],
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  labels: {},
};
const D_RESULT = { deploymentId: '5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43', version: '2026-11-27T10:00:00.000Z' };
const fast = { backoffMs: 5, maxBackoffMs: 20 };

describe('MarathonClient requests (SEMANTICS.md §3)', () => {
  it('GETs an app with Accept JSON and no auth header when no credentials are set, and parses it', async () => {
    const s = await startServer((_req, res) =>
      json(res, 200, {
        app: {
          id: '/staging/web',
          instances: 2,
          version: 'v1',
          tasksRunning: 2,
          tasksHealthy: 2,
          healthChecks: [{}],
          labels: { a: 'b' },
          deployments: [],
        },
      }),
    );
    try {
      const app = await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).getApp('/staging/web');
      expect(s.received[0]).toMatchObject({ method: 'GET', path: '/v2/apps/staging/web' });
      expect(s.received[0].headers.accept).toBe('application/json');
      expect(s.received[0].headers.authorization).toBeUndefined();
      expect(app).toMatchObject({
        id: '/staging/web',
        instances: 2,
        version: 'v1',
        tasksRunning: 2,
        tasksHealthy: 2,
        hasHealthChecks: true,
        labels: { a: 'b' },
      });
    } finally {
      await s.close();
    }
  });

  it('returns null for an app Marathon says does not exist (404, §4)', async () => {
    const s = await startServer((_req, res) => json(res, 404, { message: "App '/staging/web' does not exist" }));
    try {
      expect(await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).getApp('/staging/web')).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('keeps a path prefix of the base URL (DC/OS /service/marathon, §1)', async () => {
    const s = await startServer((_req, res) => json(res, 200, []));
    try {
      await new MarathonClient({ baseUrl: `${s.url}/service/marathon/`, auth: { source: 'none' } }).listDeployments();
      expect(s.received[0].path).toBe('/service/marathon/v2/deployments');
    } finally {
      await s.close();
    }
  });

  it('PUTs the whole definition with partialUpdate=false and JSON content type, and reads the D-result (§7)', async () => {
    const s = await startServer((_req, res) => json(res, 200, D_RESULT, { 'Marathon-Deployment-Id': D_RESULT.deploymentId }));
    try {
      const ref = await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).putApp('/staging/web', APP);
      expect(s.received[0]).toMatchObject({ method: 'PUT', path: '/v2/apps/staging/web', query: { partialUpdate: 'false' }, body: APP });
      expect(s.received[0].query.force).toBeUndefined();
      expect(s.received[0].headers['content-type']).toBe('application/json');
      expect(ref).toEqual(D_RESULT);
    } finally {
      await s.close();
    }
  });

  it('sends force=true only when asked, and takes the deployment id from the header when the body lacks it', async () => {
    const s = await startServer((_req, res) => json(res, 201, { version: D_RESULT.version }, { 'Marathon-Deployment-Id': 'from-header' }));
    try {
      const ref = await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).putApp('/staging/web', APP, { force: true });
      expect(s.received[0].query).toEqual({ partialUpdate: 'false', force: 'true' });
      expect(ref.deploymentId).toBe('from-header');
    } finally {
      await s.close();
    }
  });

  it('rolls back with a body holding only the version (§11 C)', async () => {
    const s = await startServer((_req, res) => json(res, 200, D_RESULT));
    try {
      await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).rollbackToVersion('/staging/web', '2026-01-01T00:00:00.000Z');
      expect(s.received[0]).toMatchObject({
        method: 'PUT',
        path: '/v2/apps/staging/web',
        query: {},
        body: { version: '2026-01-01T00:00:00.000Z' },
      });
    } finally {
      await s.close();
    }
  });

  it('cancels a deployment: 200 gives the rollback deployment, force gives 202 and null (§11 A/B)', async () => {
    const s = await startServer((req, res) => (req.query.force === 'true' ? void res.writeHead(202).end() : json(res, 200, D_RESULT)));
    try {
      const c = new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } });
      expect(await c.deleteDeployment('abc')).toEqual(D_RESULT);
      expect(await c.deleteDeployment('abc', { force: true })).toBeNull();
      expect(s.received.map((r) => [r.method, r.path, r.query.force])).toEqual([
        ['DELETE', '/v2/deployments/abc', undefined],
        ['DELETE', '/v2/deployments/abc', 'true'],
      ]);
    } finally {
      await s.close();
    }
  });

  it('sorts versions itself, newest first (the order is not guaranteed, §8)', async () => {
    const s = await startServer((_req, res) =>
      json(res, 200, { versions: ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z', '2026-01-01T00:00:00.000Z'] }),
    );
    try {
      expect(await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).listVersions('/staging/web')).toEqual([
        '2026-01-03T00:00:00.000Z',
        '2026-01-02T00:00:00.000Z',
        '2026-01-01T00:00:00.000Z',
      ]);
      expect(s.received[0].path).toBe('/v2/apps/staging/web/versions');
    } finally {
      await s.close();
    }
  });

  it('filters apps by id prefix itself, since Marathon matches a substring (§3), and passes a label selector', async () => {
    const s = await startServer((_req, res) => json(res, 200, { apps: [{ id: '/staging/web' }, { id: '/other/staging/web' }] }));
    try {
      const apps = await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).listApps({
        idPrefix: '/staging/',
        label: 'c2c.environment==staging',
      });
      expect(s.received[0].query).toEqual({ id: '/staging/', label: 'c2c.environment==staging' });
      expect(apps.map((a) => a.id)).toEqual(['/staging/web']);
    } finally {
      await s.close();
    }
  });

  it('pings (text pong or 204, §13)', async () => {
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('pong');
    });
    try {
      expect(await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).ping()).toBe(true);
      expect(s.received[0].path).toBe('/ping');
    } finally {
      await s.close();
    }
  });
});

describe('MarathonClient auth (SEMANTICS.md §2): credentials by variable name, never by value', () => {
  it('sends Basic auth from MARATHON_CREDENTIALS; a 401 names the variable and never the user or password', async () => {
    const s = await startServer((_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Mesosphere"', 'Content-Type': 'text/html' });
      res.end('<html>401</html>');
    });
    try {
      const auth = authFromEnv({ MARATHON_CREDENTIALS: 'ci-user:s3cret-pw' });
      const err = await caught(new MarathonClient({ baseUrl: s.url, auth }).getApp('/staging/web'));
      expect(s.received[0].headers.authorization).toBe(`Basic ${Buffer.from('ci-user:s3cret-pw').toString('base64')}`);
      expect(err.code).toBe('MARATHON_AUTH');
      expect(err.message).toContain('MARATHON_CREDENTIALS');
      const everything = `${err.message} ${err.hint} ${JSON.stringify(err.details)} ${err.stack}`;
      for (const secret of ['s3cret-pw', 'ci-user', Buffer.from('ci-user:s3cret-pw').toString('base64')])
        expect(everything).not.toContain(secret);
      expect(s.received).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('sends `Authorization: token=...` from MARATHON_TOKEN; a 403 names the variable, not the token', async () => {
    const s = await startServer((_req, res) => json(res, 403, { message: 'Not Authorized to perform this action!' }));
    try {
      const err = await caught(new MarathonClient({ baseUrl: s.url, auth: authFromEnv({ MARATHON_TOKEN: 'eyJtoken' }) }).listDeployments());
      expect(s.received[0].headers.authorization).toBe('token=eyJtoken');
      expect(err.code).toBe('MARATHON_AUTH');
      expect(err.message).toContain('MARATHON_TOKEN');
      expect(`${err.message} ${err.hint}`).not.toContain('eyJtoken');
    } finally {
      await s.close();
    }
  });

  it('uses user info in the URL as Basic auth and never prints it', async () => {
    const s = await startServer((_req, res) => json(res, 503, { message: 'busy' }));
    try {
      const c = new MarathonClient({ baseUrl: s.url.replace('http://', 'http://bob:hunter2@'), auth: { source: 'none' }, attempts: 1 });
      const err = await caught(c.listDeployments());
      expect(s.received[0].headers.authorization).toBe(`Basic ${Buffer.from('bob:hunter2').toString('base64')}`);
      expect(c.baseUrl).toBe(s.url);
      expect(`${err.message} ${err.hint}`).not.toMatch(/hunter2|bob/);
    } finally {
      await s.close();
    }
  });
});

describe('MarathonClient errors (SEMANTICS.md §4)', () => {
  it('turns a 422 into MARATHON_REJECTED carrying the field errors', async () => {
    const details = [
      { path: '/upgradeStrategy/minimumHealthCapacity', errors: ['error.max'] },
      { path: '/', errors: ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."] },
    ];
    const s = await startServer((_req, res) => json(res, 422, { message: 'Invalid JSON', details }));
    try {
      const err = await caught(new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).putApp('/staging/web', APP));
      expect(err.code).toBe('MARATHON_REJECTED');
      expect(err.message).toContain('/upgradeStrategy/minimumHealthCapacity: error.max');
      expect(err.details).toEqual({ status: 422, fieldErrors: details });
      expect(s.received).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('turns a 409 lock into MARATHON_LOCKED with the deployment ids from `deployments` (the message has a literal placeholder)', async () => {
    const s = await startServer((_req, res) =>
      json(res, 409, {
        message:
          "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
        deployments: [{ id: '97c136bf-5a28-4821-9d94-480d9fbb01c8' }],
      }),
    );
    try {
      const err = await caught(new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).putApp('/staging/web', APP));
      expect(err.code).toBe('MARATHON_LOCKED');
      expect(err.message).toContain('97c136bf-5a28-4821-9d94-480d9fbb01c8');
      expect((err.details as { deploymentIds: string[] }).deploymentIds).toEqual(['97c136bf-5a28-4821-9d94-480d9fbb01c8']);
    } finally {
      await s.close();
    }
  });

  it("turns a 404 of a deployment into MARATHON_NOT_FOUND with Marathon's message", async () => {
    const s = await startServer((_req, res) => json(res, 404, { message: 'DeploymentPlan abc does not exist' }));
    try {
      const err = await caught(new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).deleteDeployment('abc'));
      expect(err.code).toBe('MARATHON_NOT_FOUND');
      expect(err.message).toContain('DeploymentPlan abc does not exist');
    } finally {
      await s.close();
    }
  });
});

describe('MarathonClient retries: idempotent calls only', () => {
  it('retries a GET through a burst of 503s with backoff', async () => {
    const s = await startServer((_req, res, n) => (n <= 2 ? json(res, 503, { message: 'timeout' }) : json(res, 200, [])));
    try {
      const retries: number[] = [];
      const c = new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, ...fast, onRetry: (r) => retries.push(r.attempt) });
      expect(await c.listDeployments()).toEqual([]);
      expect(s.received).toHaveLength(3);
      expect(retries).toEqual([1, 2]);
    } finally {
      await s.close();
    }
  });

  it('retries the full-definition PUT after a reset connection (it is idempotent, §7)', async () => {
    const s = await startServer((_req, res, n) => (n === 1 ? reset(res) : json(res, 200, D_RESULT)));
    try {
      expect(await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, ...fast }).putApp('/staging/web', APP)).toEqual(D_RESULT);
      expect(s.received.map((r) => r.method)).toEqual(['PUT', 'PUT']);
      expect(s.received[1].body).toEqual(APP);
    } finally {
      await s.close();
    }
  });

  it('retries a GET that timed out, with a timeout on every request', async () => {
    const s = await startServer((_req, res, n) => {
      if (n === 1) setTimeout(() => json(res, 200, []), 1500).unref();
      else json(res, 200, []);
    });
    try {
      await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, requestTimeoutMs: 200, ...fast }).listDeployments();
      expect(s.received).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it('does not retry DELETE of a deployment on 503 (not idempotent: a second one would cancel the rollback)', async () => {
    const s = await startServer((_req, res) => json(res, 503, { message: 'timeout' }));
    try {
      const err = await caught(new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, ...fast }).deleteDeployment('abc'));
      expect(err.code).toBe('MARATHON_ERROR');
      expect(err.message).toContain('503');
      expect(s.received).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('does not retry DELETE of a deployment after a reset, and says it may have arrived', async () => {
    const s = await startServer((_req, res) => reset(res));
    try {
      const err = await caught(new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, ...fast }).deleteDeployment('abc'));
      expect(err.code).toBe('MARATHON_UNREACHABLE');
      expect(err.hint).toContain('may or may not');
      expect(s.received).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('gives up after the attempts with MARATHON_ERROR naming the status and the count', async () => {
    const s = await startServer((_req, res) => json(res, 502, { message: 'Could not determine the current leader' }));
    try {
      const err = await caught(
        new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, attempts: 3, ...fast }).getApp('/staging/web'),
      );
      expect(err.code).toBe('MARATHON_ERROR');
      expect(err.message).toContain('502');
      expect(err.message).toContain('after 3 attempts');
      expect(s.received).toHaveLength(3);
    } finally {
      await s.close();
    }
  });

  it('reports MARATHON_UNREACHABLE with the base URL when nothing listens', async () => {
    const s = await startServer((_req, res) => json(res, 200, {}));
    await s.close();
    const err = await caught(new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, attempts: 2, ...fast }).ping());
    expect(err.code).toBe('MARATHON_UNREACHABLE');
    expect(err.message).toContain(s.url);
    expect(err.message).toContain('connection refused');
  });
});

describe('MarathonClient deadline and interrupt', () => {
  it('a server that accepts and never answers ends at the deadline (DEADLINE), not after retries of 10 s timeouts', async () => {
    const s = await startServer(() => undefined);
    try {
      const client = new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, deadline: Date.now() + 500 });
      const err = await caught(client.listApps());
      expect(err).toMatchObject({ code: 'DEADLINE' });
      expect(err.message).toMatch(/^Marathon at http:\/\/127\.0\.0\.1:\d+ did not answer GET \/v2\/apps before the deadline/);
    } finally {
      await s.close();
    }
  });

  it('no retry starts after the deadline: a burst of 503s ends with DEADLINE once the time is used', async () => {
    const s = await startServer((_req, res) => json(res, 503, { message: 'leader election' }));
    try {
      const client = new MarathonClient({
        baseUrl: s.url,
        auth: { source: 'none' },
        attempts: 1000,
        backoffMs: 50,
        deadline: Date.now() + 300,
      });
      expect(await caught(client.getApp('/staging/web'))).toMatchObject({ code: 'DEADLINE' });
    } finally {
      await s.close();
    }
  });

  it('after the deadline a read is refused at once, while a change (the rollback) may still be sent within changeGraceMs', async () => {
    const s = await startServer((_req, res) => json(res, 200, D_RESULT));
    try {
      const client = new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, deadline: Date.now() - 1, changeGraceMs: 5000 });
      expect(await caught(client.listDeployments())).toMatchObject({ code: 'DEADLINE' });
      expect(s.received).toEqual([]);
      expect(await client.deleteDeployment(D_RESULT.deploymentId)).toEqual(D_RESULT);
      expect(s.received.map((r) => r.method)).toEqual(['DELETE']);
    } finally {
      await s.close();
    }
  });

  it('an abort stops a read in flight with INTERRUPTED (SIGINT) or TERMINATED (SIGTERM)', async () => {
    const s = await startServer(() => undefined);
    try {
      for (const [reason, code] of [
        ['SIGINT', 'INTERRUPTED'],
        ['SIGTERM', 'TERMINATED'],
      ]) {
        const controller = new AbortController();
        const client = new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, signal: controller.signal });
        const pending = caught(client.listDeployments());
        await new Promise<void>((resolve) => {
          const check = () => (s.received.length > 0 ? resolve() : setImmediate(check));
          check();
        });
        controller.abort(reason);
        expect(await pending).toMatchObject({ code });
      }
    } finally {
      await s.close();
    }
  });

  it('an abort does not cut a PUT in flight: the change arrives and its answer is read', async () => {
    const controller = new AbortController();
    const s = await startServer((req, res) => {
      if (req.method !== 'PUT') return json(res, 404, {});
      controller.abort('SIGINT');
      setImmediate(() => json(res, 200, D_RESULT));
    });
    try {
      const client = new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, signal: controller.signal });
      expect(await client.putApp('/staging/web', APP)).toEqual(D_RESULT);
    } finally {
      await s.close();
    }
  });
});

describe('MarathonClient answers that are not what Marathon sends', () => {
  const body = async (text: string, call: (c: MarathonClient) => Promise<unknown>) => {
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(text);
    });
    try {
      return await caught(call(new MarathonClient({ baseUrl: s.url, auth: { source: 'none' }, attempts: 1 })));
    } finally {
      await s.close();
    }
  };

  it.each([
    ['malformed JSON for the app list', '{"apps": [', (c: MarathonClient) => c.listApps()],
    ['an HTML page', '<html>proxy login</html>', (c: MarathonClient) => c.listApps()],
    ['an object without apps', '{"items": []}', (c: MarathonClient) => c.listApps()],
    ['an app with a string for instances', '{"apps": [{"id": "/staging/web", "instances": "3"}]}', (c: MarathonClient) => c.listApps()],
    ['an app without an id', '{"app": {"instances": 1}}', (c: MarathonClient) => c.getApp('/staging/web')],
    ['deployments that are not a list', '{"deployments": []}', (c: MarathonClient) => c.listDeployments()],
    ['tasks of the wrong type', '{"app": {"id": "/staging/web", "tasks": {}}}', (c: MarathonClient) => c.getApp('/staging/web')],
  ])('%s is MARATHON_BAD_RESPONSE "Marathon answered something unexpected"', async (_what, text, call) => {
    const err = await body(text, call);
    expect(err).toMatchObject({ code: 'MARATHON_BAD_RESPONSE' });
    expect(err.message).toMatch(/^Marathon answered something unexpected to GET \/v2\//);
  });
});

describe('MarathonClient launch queue', () => {
  it('reads backoff delay and the reasons offers were declined (raml/v2/types/queue.raml)', async () => {
    const s = await startServer((_req, res) =>
      json(res, 200, {
        queue: [
          {
            count: 2,
            delay: { timeLeftSeconds: 37, overdue: false },
            since: '2026-11-27T10:00:00.000Z',
            app: { id: '/staging/web', instances: 3 },
            processedOffersSummary: {
              processedOffersCount: 9,
              unusedOffersCount: 9,
              rejectSummaryLastOffers: [
                { reason: 'InsufficientCpus', declined: 2, processed: 9 },
                { reason: 'InsufficientMemory', declined: 7, processed: 9 },
                { reason: 'UnfulfilledRole', declined: 0, processed: 9 },
              ],
            },
          },
        ],
      }),
    );
    try {
      expect(await new MarathonClient({ baseUrl: s.url, auth: { source: 'none' } }).getQueue()).toEqual([
        {
          appId: '/staging/web',
          count: 2,
          delaySeconds: 37,
          overdue: false,
          declinedBecause: [
            { reason: 'InsufficientMemory', declined: 7 },
            { reason: 'InsufficientCpus', declined: 2 },
          ],
        },
      ]);
      expect(s.received[0]).toMatchObject({ method: 'GET', path: '/v2/queue' });
    } finally {
      await s.close();
    }
  });
});

describe('Marathon URLs that carry credentials and do not parse', () => {
  it.each([
    'http://admin:Pa/ss@',
    'http://admin:Pa/ss@:99999',
    'http://admin:P@ss%zz@ho st',
    'ftp://admin:s3cret@host',
    'http://admin:s3cret%@',
    'admin:s3cret@host',
  ])('%s: USAGE naming the variable, never the user or password', (raw) => {
    let err: unknown;
    try {
      new MarathonClient({ baseUrl: raw, urlSource: 'MARATHON_URL_PRODUCTION' });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'USAGE' });
    const text = `${(err as Error).message} ${(err as { hint?: string }).hint}`;
    expect(text).toContain('MARATHON_URL_PRODUCTION');
    expect(text).not.toMatch(/admin|Pa\/ss|P@ss|s3cret/);
  });

  it('user info with / @ and % is cut off before parsing and sent as Basic auth, never printed', async () => {
    const s = await startServer((_req, res) => json(res, 401, { message: 'no' }));
    try {
      const raw = s.url.replace('http://', 'http://ad%40min:Pa/ss@w%rd@');
      const client = new MarathonClient({ baseUrl: raw, attempts: 1 });
      expect(client.baseUrl).toBe(s.url);
      const err = await caught(client.listApps());
      expect(s.received[0].headers.authorization).toBe(`Basic ${Buffer.from('ad@min:Pa/ss@w%rd').toString('base64')}`);
      expect(`${err.message} ${(err as { hint?: string }).hint}`).not.toMatch(/Pa\/ss|ad@min/);
    } finally {
      await s.close();
    }
  });
});
