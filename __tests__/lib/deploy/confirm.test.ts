// Confirming on the app after the deployment is gone (§10 "gone does not mean succeeded") and rolling back a finished
// but unhealthy deploy with PUT {version} (§11 C). A scripted Marathon on loopback plays these exact sequences, which
// the local server cannot produce on demand; every request the deploy library sends is recorded and checked.
import { ServerResponse } from 'node:http';
import { applyService, renderForDeploy } from '../../../lib/deploy/apply-service';
import { MarathonAppDefinition } from '../../../lib/marathon/app';
import { json, Received, startServer } from '../marathon/http-server';
import { deployContext, testService } from './helpers';
import { caught } from '../../helpers/errors';

const service = testService('web-c');
const render = (tag: string): MarathonAppDefinition =>
  renderForDeploy(service, 'staging', { image: `reg:5000/web-c:${tag}`, actor: 'dev@example.com' });
const stored = (app: MarathonAppDefinition, version: string, healthy: number) => ({
  ...app,
  version,
  versionInfo: { lastConfigChangeAt: version, lastScalingAt: version },
  tasksStaged: 0,
  tasksRunning: 1,
  tasksHealthy: healthy,
  tasksUnhealthy: 1 - healthy,
  deployments: [],
});

/** A Marathon that holds one app and answers a PUT with `onPut`. Deployments finish at once (the list stays empty). */
async function scripted(onPut: (req: Received) => { app: ReturnType<typeof stored>; deploymentId: string }) {
  let current = stored(render('1'), '2026-01-01T00:00:00.000Z', 1);
  return startServer((req, res: ServerResponse) => {
    if (req.method === 'GET' && req.path === '/v2/apps/staging/web-c') return json(res, 200, { app: current });
    if (req.method === 'GET' && req.path === '/v2/deployments') return json(res, 200, []);
    if (req.method === 'PUT' && req.path === '/v2/apps/staging/web-c') {
      const next = onPut(req);
      current = next.app;
      return json(res, 200, { deploymentId: next.deploymentId, version: next.app.version });
    }
    return json(res, 404, { message: `unexpected ${req.method} ${req.path}` });
  });
}

describe('confirmation on the app (§10) and rollback of a finished deploy (§11 C)', () => {
  it('a deployment that finished with unhealthy tasks is rolled back with PUT {"version": previous}, and the old definition is confirmed healthy', async () => {
    const s = await scripted((req) => {
      const body = req.body as { version?: string };
      if (body.version === '2026-01-01T00:00:00.000Z')
        return { app: stored(render('1'), '2026-01-03T00:00:00.000Z', 1), deploymentId: 'dep-rollback' };
      return { app: stored(render('2'), '2026-01-02T00:00:00.000Z', 0), deploymentId: 'dep-new' };
    });
    try {
      const err = await caught(
        applyService(deployContext(s.url, { timeoutMs: 600 }), { service, environment: 'staging', image: 'reg:5000/web-c:2' }),
      );
      expect(err.code).toBe('DEPLOY_FAILED_ROLLED_BACK');
      expect(err.message).toBe(
        'deploy of reg:5000/web-c:2 to /staging/web-c failed, rolled back to 2026-01-03T00:00:00.000Z (the definition of 2026-01-01T00:00:00.000Z): /staging/web-c did not become healthy in time (0 of 1 healthy)',
      );
      const changing = s.received.filter((r) => r.method !== 'GET');
      expect(changing.map((r) => [r.method, r.path, r.query])).toEqual([
        ['PUT', '/v2/apps/staging/web-c', { partialUpdate: 'false' }],
        ['PUT', '/v2/apps/staging/web-c', {}],
      ]);
      expect(changing[1].body).toEqual({ version: '2026-01-01T00:00:00.000Z' });
      // The first PUT is the rendered definition, never a GET response (no version/versionInfo/counters, §7).
      expect(changing[0].body).toEqual(render('2'));
    } finally {
      await s.close();
    }
  });

  it('a deployment that left the list while the app holds another definition is reported, not rolled back (§10: gone is not success)', async () => {
    const s = await scripted(() => ({ app: stored(render('someone-else'), '2026-01-02T00:00:00.000Z', 1), deploymentId: 'dep-new' }));
    try {
      const err = await caught(
        applyService(deployContext(s.url, { timeoutMs: 2000 }), { service, environment: 'staging', image: 'reg:5000/web-c:2' }),
      );
      expect(err.code).toBe('DEPLOY_FAILED');
      expect(err.message).toBe(
        'deployment dep-new ended, but /staging/web-c now holds another definition (version 2026-01-02T00:00:00.000Z): it was cancelled or superseded; not rolled back (the change that replaced it is kept)',
      );
      expect(s.received.filter((r) => r.method !== 'GET')).toHaveLength(1);
    } finally {
      await s.close();
    }
  });
});
