// applyService when Marathon is busy, locked, flaky or slow, against the local Marathon server. Each test names the
// reference/marathon-api/SEMANTICS.md section it pins.
import { applyService } from '../../../lib/deploy/apply-service';
import { MarathonClient } from '../../../lib/marathon/client';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { clearFaults, deployContext, fault, makeImageStore, rawApp, startMarathon, testService } from './helpers';
import { caught } from '../../helpers/errors';

let lm: LocalMarathon;
let store: ReturnType<typeof makeImageStore>;
beforeAll(async () => {
  store = makeImageStore();
  lm = await startMarathon(store.dir);
});
afterAll(async () => {
  await lm.close();
  store.remove();
});
afterEach(() => clearFaults(lm.url));

const imageOf = (app: Record<string, unknown> | null) => (app?.container as { docker: { image: string } } | undefined)?.docker.image;

async function deployments(): Promise<{ id: string; affectedApps: string[] }[]> {
  return (await (await fetch(`${lm.url}/v2/deployments`)).json()) as { id: string; affectedApps: string[] }[];
}

/** Starts a deployment of `name` that never finishes (the local server's `hang` fault) and returns its id. */
async function hungDeployment(name: string, image: string): Promise<string> {
  await fault(lm.url, { kind: 'hang', appId: `/staging/${name}`, count: 1 });
  const res = await fetch(`${lm.url}/v2/apps/staging/${name}?partialUpdate=false`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      id: `/staging/${name}`,
      instances: 1,
      cpus: 0.1,
      mem: 32,
      container: { type: 'DOCKER', docker: { image } },
      networks: [{ mode: 'container/bridge' }],
    }),
  });
  return ((await res.json()) as { deploymentId: string }).deploymentId;
}

describe('locks (§9: 409 while another deployment holds the app)', () => {
  it('waits for the deployment that holds the app, then applies', async () => {
    const service = testService('web-lock');
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-lock:1' });
    const holder = await hungDeployment('web-lock', 'reg:5000/web-lock:other');
    const events: string[] = [];
    let released: Promise<Response> | undefined;
    // The holder ends once the apply has met the lock (its 409) and says it waits: then the apply must go on by itself.
    const onProgress = (e: { kind: string; deploymentIds?: readonly string[] }) => {
      events.push(e.kind);
      if (e.kind === 'waiting-for-lock' && released === undefined) {
        expect(e.deploymentIds).toEqual([holder]);
        released = fetch(`${lm.url}/v2/deployments/${holder}?force=true`, { method: 'DELETE' });
      }
    };
    const result = await applyService(deployContext(lm.url, { onProgress }), {
      service,
      environment: 'staging',
      image: 'reg:5000/web-lock:2',
    });
    expect((await released)?.status).toBe(202);
    expect(events.indexOf('waiting-for-lock')).toBeLessThan(events.indexOf('submitted'));
    expect(result.outcome).toBe('deployed');
    expect(imageOf(await rawApp(lm.url, '/staging/web-lock'))).toBe('reg:5000/web-lock:2');
  });

  it('fails clearly, changing nothing, when the holder outlives the timeout; --force cancels it when asked', async () => {
    const service = testService('web-lock2');
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-lock2:1' });
    const holder = await hungDeployment('web-lock2', 'reg:5000/web-lock2:other');
    const err = await caught(
      applyService(deployContext(lm.url, { timeoutMs: 800 }), { service, environment: 'staging', image: 'reg:5000/web-lock2:2' }),
    );
    expect(err.code).toBe('DEPLOY_FAILED');
    expect(err.message).toBe(
      `/staging/web-lock2 is locked by deployment ${holder} and it did not finish within the timeout; nothing was changed`,
    );
    expect(err.hint).toContain('--force');
    expect(imageOf(await rawApp(lm.url, '/staging/web-lock2'))).toBe('reg:5000/web-lock2:other');

    const forced = await applyService(deployContext(lm.url), {
      service,
      environment: 'staging',
      image: 'reg:5000/web-lock2:2',
      force: true,
    });
    expect(forced.outcome).toBe('deployed');
    expect((await deployments()).map((d) => d.id)).not.toContain(holder);
  });

  it('two applies of the same service at once both end with the app healthy on that image', async () => {
    const service = testService('web-twice');
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-twice:1' });
    const both = await Promise.all([
      applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-twice:2' }),
      applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-twice:2' }),
    ]);
    expect(both.map((r) => r.outcome)).toContain('deployed');
    // Neither reports success before the tasks are healthy, even the one that found its definition already stored (§7).
    expect(both.map((r) => r.tasks)).toEqual([
      { healthy: 1, running: 1, wanted: 1 },
      { healthy: 1, running: 1, wanted: 1 },
    ]);
    const app = await rawApp(lm.url, '/staging/web-twice');
    expect(imageOf(app)).toBe('reg:5000/web-twice:2');
    expect(app).toMatchObject({ tasksHealthy: 1, tasksRunning: 1, deployments: [] });
  });
});

describe('a flaky or slow Marathon (§1 leader proxy 502/503, §4 503 internal timeout)', () => {
  it('rides out a burst of 503s and connection resets by retrying idempotent calls', async () => {
    await fault(lm.url, { kind: 'status', status: 503, count: 3 });
    await fault(lm.url, { kind: 'reset', count: 2 });
    const retries: string[] = [];
    // Default attempts: a burst of five failures in a row is still ridden out.
    const client = new MarathonClient({
      baseUrl: lm.url,
      auth: { source: 'none' },
      backoffMs: 20,
      maxBackoffMs: 100,
      onRetry: (r) => retries.push(r.reason),
    });
    const result = await applyService(deployContext(lm.url, { client }), {
      service: testService('web-flaky'),
      environment: 'staging',
      image: 'reg:5000/web-flaky:1',
    });
    expect(result.outcome).toBe('deployed');
    expect(retries.filter((r) => r.startsWith('503'))).toHaveLength(3);
    expect(retries.length).toBeGreaterThanOrEqual(5);
  });

  it('works through a slow Marathon, retrying requests that exceed the per-request timeout', async () => {
    await fault(lm.url, { kind: 'delay', ms: 800, count: 4 });
    const retries: string[] = [];
    const client = new MarathonClient({
      baseUrl: lm.url,
      auth: { source: 'none' },
      requestTimeoutMs: 500,
      backoffMs: 20,
      maxBackoffMs: 100,
      onRetry: (r) => retries.push(r.reason),
    });
    const result = await applyService(deployContext(lm.url, { client }), {
      service: testService('web-slow'),
      environment: 'staging',
      image: 'reg:5000/web-slow:1',
    });
    expect(result.outcome).toBe('deployed');
    expect(retries).toContain('timed out');
  });
});
