// The fleet and the day after: apply --all over the example catalog, status with drift, and the rollback command,
// against the local Marathon server. Each test names the reference/marathon-api/SEMANTICS.md section it pins.
import { applyAll } from '../../../lib/deploy/apply-all';
import { applyService } from '../../../lib/deploy/apply-service';
import { rollbackService } from '../../../lib/deploy/rollback';
import { fleetStatus } from '../../../lib/deploy/status';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { loadCatalog } from '../../../services';
import { packageOf, ServiceDefinition } from '../../../lib/catalog/types';
import { deployContext, makeImageStore, memoryAudit, rawApp, recordingProxy, startMarathon, testService } from './helpers';
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

const imageOf = (app: Record<string, unknown> | null) => (app?.container as { docker: { image: string } } | undefined)?.docker.image;

describe('apply --all and status over the example fleet', () => {
  it('deploys every catalog service with bounded concurrency, then status shows them healthy without drift; drift appears after a hand edit (§6, §10, §12)', async () => {
    // The catalog's services, checked every second: Marathon checks first one interval after the launch, and the
    // catalog's 5 s (two rounds, three services at a time) was most of this test's time. The timeout stays long (a
    // check that times out on a loaded machine makes a healthy service read as unhealthy).
    const services = loadCatalog().services.map((s) =>
      s.healthCheck === false ? s : { ...s, healthCheck: { ...s.healthCheck, intervalSeconds: 1, timeoutSeconds: 0.9 } },
    );
    // An artifact service has no image tag to deploy: --all with --tag skips it (it is deployed with --artifact).
    const images = services.filter((s) => packageOf(s).kind !== 'artifact');
    const kindOf = (s: ServiceDefinition) => (packageOf(s).kind === 'artifact' ? 'skipped' : 'deployed');
    const entries = await applyAll(deployContext(lm.url, { timeoutMs: 20_000 }), {
      services,
      environment: 'staging',
      tag: 't1',
      registryHost: 'reg:5000',
      concurrency: 3,
    });
    expect(entries.map((e) => [e.service, e.status])).toEqual(services.map((s) => [s.name, kindOf(s)]));
    for (const s of images) expect(imageOf(await rawApp(lm.url, `/staging/${s.name}`))).toBe(`reg:5000/${s.name}:t1`);

    const client = deployContext(lm.url).client;
    const rows = await fleetStatus({ services: images, clients: { staging: client } });
    expect(rows.map((r) => [r.service, r.state, r.image, `${r.healthy}/${r.running}/${r.wanted}`, r.drift.length])).toEqual(
      images.map((s) => [s.name, 'healthy', `reg:5000/${s.name}:t1`, '1/1/1', 0]),
    );

    // Someone edits the app by hand (a partial update, §7): status shows the deployment and the drift.
    const edited = images[images.length - 1].name;
    await fetch(`${lm.url}/v2/apps/staging/${edited}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ env: { DEPLOY_ENV: 'staging', DEBUG: '1' } }),
    });
    const after = (await fleetStatus({ services, clients: { staging: client } })).find((r) => r.service === edited);
    expect(after?.drift).toEqual([{ path: 'env.DEBUG', kind: 'removed', from: '1' }]);
    expect(after?.state).toBe('deploying');
    expect(after?.deployment?.totalSteps).toBe(1);

    // Without --tag, --all keeps each running image: only the hand-edited app changes (its drift is undone).
    const again = await applyAll(deployContext(lm.url, { timeoutMs: 20_000 }), {
      services,
      environment: 'staging',
      registryHost: 'reg:5000',
      force: true,
    });
    expect(again.map((e) => [e.service, e.status])).toEqual(
      services.map((s) => [s.name, packageOf(s).kind === 'artifact' ? 'skipped' : s.name === edited ? 'deployed' : 'noop']),
    );
  });
});

describe('rollback command', () => {
  it('restores the previous release with PUT {version} and waits until healthy (§11 C, §8 sorted versions)', async () => {
    const service = testService('web-rb');
    const audit = memoryAudit();
    const v1 = await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rb:1' });
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rb:2' });
    const v3 = await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rb:3' });

    const previous = await rollbackService(deployContext(lm.url, { audit }), { service, environment: 'staging' });
    expect(previous).toMatchObject({ from: v3.version, image: 'reg:5000/web-rb:2' });
    expect(imageOf(await rawApp(lm.url, '/staging/web-rb'))).toBe('reg:5000/web-rb:2');
    expect(audit.events.map((e) => e.type)).toEqual(['rollback.started', 'rollback.succeeded']);

    // Versions the audit log saw healthy win over newer stored ones (the list is not a history, §8).
    const known = await rollbackService(deployContext(lm.url), {
      service,
      environment: 'staging',
      knownGoodVersions: [v1.version as string],
    });
    expect(known).toMatchObject({ restored: v1.version, image: 'reg:5000/web-rb:1' });
    expect(await rawApp(lm.url, '/staging/web-rb')).toMatchObject({ tasksHealthy: 1, tasksRunning: 1, deployments: [] });
  });

  it('never picks a version the audit log saw fail as "the previous" (it stays in the history, §8)', async () => {
    const service = testService('web-rb3');
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rb3:1' });
    const failed = await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rb3:2' });
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rb3:3' });
    const result = await rollbackService(deployContext(lm.url), {
      service,
      environment: 'staging',
      knownBadVersions: [failed.version as string],
    });
    expect(result.image).toBe('reg:5000/web-rb3:1');
  });

  it('refuses a version that is not stored, sending nothing that changes Marathon (§8: 404 for unknown versions)', async () => {
    const service = testService('web-rb2');
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rb2:1' });
    const proxy = await recordingProxy(lm.url);
    try {
      const err = await caught(
        rollbackService(deployContext(proxy.url), { service, environment: 'staging', to: '2001-01-01T00:00:00.000Z' }),
      );
      expect(err.code).toBe('ROLLBACK_NO_TARGET');
      expect(err.message).toBe("version '2001-01-01T00:00:00.000Z' is not stored for /staging/web-rb2");
      expect(proxy.seen.every((s) => s.startsWith('GET '))).toBe(true);
      const none = await caught(rollbackService(deployContext(proxy.url), { service, environment: 'staging' }));
      expect(none.code).toBe('ROLLBACK_NO_TARGET');
    } finally {
      await proxy.close();
    }
  });
});
