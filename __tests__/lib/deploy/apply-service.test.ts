// applyService against the local Marathon server (real HTTP on loopback, tasks as local processes). Each test names
// the reference/marathon-api/SEMANTICS.md section it pins.
import { applyService, renderForDeploy } from '../../../lib/deploy/apply-service';
import { STAMP_LABELS } from '../../../lib/marathon/app';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { deployContext, fault, makeImageStore, memoryAudit, rawApp, recordingProxy, startMarathon, testService } from './helpers';
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

describe('applyService', () => {
  it('first deploy: creates the app with the whole definition and stamps, waits, confirms healthy (§7 PUT creates, §10, §12)', async () => {
    const audit = memoryAudit();
    const service = testService('web-first');
    const result = await applyService(deployContext(lm.url, { audit }), {
      service,
      environment: 'staging',
      image: 'reg:5000/web-first:1',
      commit: 'c0ffee',
    });
    expect(result).toMatchObject({
      outcome: 'deployed',
      appId: '/staging/web-first',
      previousVersion: null,
      tasks: { healthy: 1, running: 1, wanted: 1 },
    });
    const app = await rawApp(lm.url, '/staging/web-first');
    expect(app?.version).toBe(result.version);
    expect(app?.labels).toMatchObject({
      [STAMP_LABELS.image]: 'reg:5000/web-first:1',
      [STAMP_LABELS.commit]: 'c0ffee',
      [STAMP_LABELS.deployedBy]: 'dev@example.com',
    });
    expect(audit.events.map((e) => e.type)).toEqual(['apply.started', 'apply.succeeded']);
    expect(audit.events[1]).toMatchObject({
      service: 'web-first',
      environment: 'staging',
      image: 'reg:5000/web-first:1',
      commit: 'c0ffee',
      appVersion: result.version,
    });
  });

  it('update: PUTs ?partialUpdate=false so a field removed from the definition goes away (§7)', async () => {
    const ctx = deployContext(lm.url);
    await applyService(ctx, {
      service: testService('web-update', { env: { FEATURE_X: 'on' } }),
      environment: 'staging',
      image: 'reg:5000/web-update:1',
    });
    const proxy = await recordingProxy(lm.url);
    try {
      const result = await applyService(deployContext(proxy.url), {
        service: testService('web-update'),
        environment: 'staging',
        image: 'reg:5000/web-update:2',
      });
      expect(result.outcome).toBe('deployed');
      expect(result.diff).toEqual(
        expect.arrayContaining([
          { path: 'container.docker.image', kind: 'changed', from: 'reg:5000/web-update:1', to: 'reg:5000/web-update:2' },
          { path: 'env.FEATURE_X', kind: 'removed', from: 'on' },
        ]),
      );
      expect(proxy.seen.filter((s) => s.startsWith('PUT'))).toEqual(['PUT /v2/apps/staging/web-update?partialUpdate=false']);
    } finally {
      await proxy.close();
    }
    const app = await rawApp(lm.url, '/staging/web-update');
    expect(app?.env).toEqual({ DEPLOY_ENV: 'staging' });
    expect((app?.container as { docker: { image: string } }).docker.image).toBe('reg:5000/web-update:2');
  });

  it('no-op: the same definition with new stamps sends no PUT and keeps the version (§7: any label change restarts tasks)', async () => {
    const service = testService('web-noop');
    const first = await applyService(deployContext(lm.url), {
      service,
      environment: 'staging',
      image: 'reg:5000/web-noop:1',
      commit: 'aaa',
    });
    const proxy = await recordingProxy(lm.url);
    const audit = memoryAudit();
    try {
      const again = await applyService(deployContext(proxy.url, { actor: 'someone-else@example.com', audit }), {
        service,
        environment: 'staging',
        image: 'reg:5000/web-noop:1',
        commit: 'bbb',
      });
      expect(again).toMatchObject({ outcome: 'noop', version: first.version, diff: [] });
      expect(proxy.seen).toEqual(['GET /v2/apps/staging/web-noop']);
      expect(audit.events.map((e) => e.type)).toEqual(['apply.noop']);
    } finally {
      await proxy.close();
    }
  });

  it('a bad image that never gets healthy: deadline, DELETE of the deployment, Marathon reverts it, old version healthy again (§9 never fails by itself, §11 A)', async () => {
    const service = testService('web-bad');
    const audit = memoryAudit();
    const good = await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-bad:1' });
    const progress: string[] = [];
    const err = await caught(
      applyService(deployContext(lm.url, { audit, timeoutMs: 3000, onProgress: (e) => progress.push(e.kind) }), {
        service,
        environment: 'staging',
        image: 'reg:5000/web-bad:bad',
      }),
    );
    expect(err.code).toBe('DEPLOY_FAILED_ROLLED_BACK');
    expect(err.message).toMatch(/^deploy of reg:5000\/web-bad:bad to \/staging\/web-bad failed, rolled back to \S+/);
    expect(progress).toContain('rollback');
    const details = err.details as { rolledBack: boolean; failedVersion: string; previousVersion: string };
    expect(details).toMatchObject({ rolledBack: true, previousVersion: good.version });
    const app = await rawApp(lm.url, '/staging/web-bad');
    expect((app?.container as { docker: { image: string } }).docker.image).toBe('reg:5000/web-bad:1');
    expect(app).toMatchObject({ tasksHealthy: 1, tasksRunning: 1, deployments: [] });
    // Nothing is lost: the failed version stays in Marathon's history (§8) and in the audit log.
    const versions = ((await (await fetch(`${lm.url}/v2/apps/staging/web-bad/versions`)).json()) as { versions: string[] }).versions;
    expect(versions).toContain(details.failedVersion);
    expect(audit.events.map((e) => e.type)).toEqual(['apply.started', 'apply.rolled-back']);
  });

  it('a first deploy whose deployment hangs is reverted by removing the new app (§11 A: reverting a create deletes it)', async () => {
    await fault(lm.url, { kind: 'hang', appId: '/staging/web-hang', count: 1 });
    const err = await caught(
      applyService(deployContext(lm.url, { timeoutMs: 1500 }), {
        service: testService('web-hang'),
        environment: 'staging',
        image: 'reg:5000/web-hang:1',
      }),
    );
    expect(err.code).toBe('DEPLOY_FAILED_ROLLED_BACK');
    expect(err.message).toContain('removed the new app /staging/web-hang');
    expect(await rawApp(lm.url, '/staging/web-hang')).toBeNull();
  });

  it("a 422 carries Marathon's field errors and changes nothing (§4)", async () => {
    const service = testService('web-invalid');
    const audit = memoryAudit();
    const app = {
      ...renderForDeploy(service, 'staging', { image: 'reg:5000/web-invalid:1', actor: 'dev' }),
      upgradeStrategy: { minimumHealthCapacity: 1.5, maximumOverCapacity: 1 },
    };
    const err = await caught(
      applyService(deployContext(lm.url, { audit }), { service, environment: 'staging', image: 'reg:5000/web-invalid:1', app }),
    );
    expect(err.code).toBe('MARATHON_REJECTED');
    expect(err.message).toContain('/upgradeStrategy/minimumHealthCapacity');
    expect((err.details as { fieldErrors: { path: string }[] }).fieldErrors[0].path).toBe('/upgradeStrategy/minimumHealthCapacity');
    expect(await rawApp(lm.url, '/staging/web-invalid')).toBeNull();
    expect(audit.events.map((e) => e.type)).toEqual(['apply.failed']);
  });
});
