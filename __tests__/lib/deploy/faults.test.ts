// applyService under the faults that used to leave production in an unclear state, against the local Marathon
// (its fault injection) and loopback servers: tasks that keep failing, Marathon failing after the PUT, an interrupt
// while waiting, and re-applying a plan whose version is already rolling out. Each asserts the error, the audit
// records and the app's final state.
import { applyService } from '../../../lib/deploy/apply-service';
import { rollbackService } from '../../../lib/deploy/rollback';
import { STAMP_LABELS } from '../../../lib/marathon/app';
import { MarathonClient } from '../../../lib/marathon/client';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import {
  clearFaults,
  deployContext,
  fault,
  makeImageStore,
  memoryAudit,
  rawApp,
  recordingProxy,
  startMarathon,
  testService,
} from './helpers';
import { caught } from '../../helpers/errors';

let lm: LocalMarathon;
let store: ReturnType<typeof makeImageStore>;
beforeAll(async () => {
  store = makeImageStore(['web-fail', 'web-gone', 'web-int', 'web-plan']);
  lm = await startMarathon(store.dir);
});
afterAll(async () => {
  await lm.close();
  store.remove();
});
afterEach(() => clearFaults(lm.url));

const imageOf = (app: Record<string, unknown> | null) => (app?.container as { docker: { image: string } } | undefined)?.docker.image;

describe('fail fast with Marathon’s reason', () => {
  it('tasks of the new version that keep failing stop the wait, roll back and name the reason (not the whole deadline)', async () => {
    const service = testService('web-fail', { instances: 2 });
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-fail:1' });
    const audit = memoryAudit();
    // A deadline far beyond what the failures need: only failing fast can end this before the jest timeout.
    const err = await caught(
      applyService(deployContext(lm.url, { audit, timeoutMs: 120_000, maxTaskFailures: 3 }), {
        service,
        environment: 'staging',
        image: 'reg:5000/web-fail:broken',
      }),
    );
    expect(err.code).toBe('DEPLOY_FAILED_ROLLED_BACK');
    expect(err.message).toMatch(
      /^deploy of reg:5000\/web-fail:broken to \/staging\/web-fail failed, rolled back to \S+ \(the definition of \S+\): task failed: Process exited with status 125 \(3 failed tasks of version \S+\)$/,
    );
    expect(err.hint).not.toContain('--to');
    expect(audit.events.map((e) => e.type)).toEqual(['apply.started', 'apply.rolled-back']);
    expect(imageOf(await rawApp(lm.url, '/staging/web-fail'))).toBe('reg:5000/web-fail:1');
  });
});

describe('Marathon failing after the PUT', () => {
  it('a burst of 503s after the PUT is polled through; the deploy finishes as usual', async () => {
    const service = testService('web-gone');
    const ctx = deployContext(lm.url, {
      onProgress: (e) => {
        if (e.kind === 'submitted') void fault(lm.url, { kind: 'status', status: 503, count: 40 });
      },
    });
    const result = await applyService(ctx, { service, environment: 'staging', image: 'reg:5000/web-gone:1' });
    expect(result).toMatchObject({ outcome: 'deployed', tasks: { healthy: 1, wanted: 1 } });
  });

  it('Marathon still failing at the deadline: DEPLOY_STATE_UNKNOWN "version V may be live", apply.unknown, no rollback sent', async () => {
    const service = testService('web-gone');
    const proxy = await recordingProxy(lm.url);
    const audit = memoryAudit();
    try {
      const ctx = deployContext(proxy.url, {
        audit,
        timeoutMs: 1500,
        onProgress: (e) => {
          if (e.kind === 'submitted') void fault(lm.url, { kind: 'status', status: 500, count: 1000 });
        },
      });
      const err = await caught(applyService(ctx, { service, environment: 'staging', image: 'reg:5000/web-gone:2' }));
      expect(err.code).toBe('DEPLOY_STATE_UNKNOWN');
      expect(err.message).toMatch(
        /^state unknown: version \S+ may be live on \/staging\/web-gone; Marathon did not answer until the deadline/,
      );
      expect(err.hint).toBe("when Marathon answers, 'deploy status --service web-gone --env staging' shows what runs");
      expect(audit.events.map((e) => e.type)).toEqual(['apply.started', 'apply.unknown']);
      expect(proxy.seen.filter((s) => !s.startsWith('GET '))).toEqual(['PUT /v2/apps/staging/web-gone?partialUpdate=false']);
    } finally {
      await proxy.close();
    }
  });
});

describe('interrupts', () => {
  /** A context whose signal aborts (as Ctrl-C or SIGTERM would) as soon as the change has been sent. */
  function abortedOnceSubmitted(signal: 'SIGINT' | 'SIGTERM') {
    const controller = new AbortController();
    const audit = memoryAudit();
    const ctx = deployContext(lm.url, {
      audit,
      timeoutMs: 120_000,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind === 'submitted') controller.abort(signal);
      },
    });
    return { ctx, audit };
  }

  it('an abort while waiting stops at once: INTERRUPTED with the deployment, version and owner; apply.interrupted; nothing rolled back', async () => {
    const service = testService('web-int');
    await fault(lm.url, { kind: 'hang', appId: '/staging/web-int', count: 1 });
    const { ctx, audit } = abortedOnceSubmitted('SIGINT');
    const err = await caught(applyService(ctx, { service, environment: 'staging', image: 'reg:5000/web-int:1' }));
    expect(err.code).toBe('INTERRUPTED');
    expect(err.message).toMatch(
      /^interrupted: deployment \S+ of \/staging\/web-int \(version \S+, started by dev@example.com\) keeps running; nothing was rolled back$/,
    );
    const details = err.details as { deploymentId: string; version: string; owner: string };
    expect(details).toMatchObject({ service: 'web-int', environment: 'staging', appId: '/staging/web-int', owner: 'dev@example.com' });
    expect(audit.events.map((e) => e.type)).toEqual(['apply.started', 'apply.interrupted']);
    expect(audit.events[1]).toMatchObject({ deploymentId: details.deploymentId, appVersion: details.version, actor: 'dev@example.com' });
    const deployments = (await (await fetch(`${lm.url}/v2/deployments`)).json()) as { id: string }[];
    expect(deployments.map((d) => d.id)).toContain(details.deploymentId);
    await fetch(`${lm.url}/v2/deployments/${details.deploymentId}?force=true`, { method: 'DELETE' });
  });

  it('an abort while a rollback waits: INTERRUPTED naming the rollback deployment; rollback.interrupted recorded', async () => {
    const service = testService('web-rbi');
    const first = await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rbi:1' });
    await applyService(deployContext(lm.url), { service, environment: 'staging', image: 'reg:5000/web-rbi:2' });
    await fault(lm.url, { kind: 'hang', appId: '/staging/web-rbi', count: 1 });
    const { ctx, audit } = abortedOnceSubmitted('SIGTERM');
    const err = await caught(rollbackService(ctx, { service, environment: 'staging', to: first.version ?? undefined }));
    expect(err.code).toBe('TERMINATED');
    expect(err.message).toMatch(
      /^interrupted: rollback deployment \S+ of \/staging\/web-rbi \(to version \S+, started by dev@example.com\) keeps running$/,
    );
    expect(audit.events.map((e) => e.type)).toEqual(['rollback.started', 'rollback.interrupted']);
    const details = err.details as { deploymentId: string };
    expect(audit.events[1]).toMatchObject({ deploymentId: details.deploymentId, reason: 'SIGTERM', actor: 'dev@example.com' });
    await fetch(`${lm.url}/v2/deployments/${details.deploymentId}?force=true`, { method: 'DELETE' });
  });

  it('SIGTERM gives TERMINATED; an abort before anything was sent says nothing changed', async () => {
    const controller = new AbortController();
    controller.abort('SIGTERM');
    const err = await caught(
      applyService(
        deployContext(lm.url, { signal: controller.signal, client: new MarathonClient({ baseUrl: lm.url, signal: controller.signal }) }),
        {
          service: testService('web-int'),
          environment: 'staging',
          image: 'reg:5000/web-int:2',
        },
      ),
    );
    expect(err.code).toBe('TERMINATED');
    expect(err.message).toBe('interrupted before anything was sent to /staging/web-int; nothing changed');
  });
});

describe('apply --plan of a plan that is already rolling out or live', () => {
  it('resumes watching the deployment it started (no gate call, nothing sent), then reports it live', async () => {
    const service = testService('web-plan');
    const planId = 'a'.repeat(64);
    const labels = { [STAMP_LABELS.planId]: planId };
    const controller = new AbortController();
    const first = await caught(
      applyService(
        deployContext(lm.url, {
          signal: controller.signal,
          onProgress: (e) => {
            if (e.kind === 'submitted') controller.abort('SIGINT');
          },
        }),
        { service, environment: 'staging', image: 'reg:5000/web-plan:1', planId, beforeSubmit: async () => ({ labels }) },
      ),
    );
    expect(first.code).toBe('INTERRUPTED');
    const proxy = await recordingProxy(lm.url);
    const audit = memoryAudit();
    let gateCalls = 0;
    try {
      const result = await applyService(deployContext(proxy.url, { audit }), {
        service,
        environment: 'staging',
        image: 'reg:5000/web-plan:1',
        planId,
        beforeSubmit: async () => {
          gateCalls += 1;
          throw new Error('the gate would call this plan stale');
        },
      });
      expect(['deployed', 'noop']).toContain(result.outcome);
      expect(result.tasks).toMatchObject({ healthy: 1, wanted: 1 });
      expect(gateCalls).toBe(0);
      expect(proxy.seen.filter((s) => !s.startsWith('GET '))).toEqual([]);
      expect(audit.events.map((e) => e.type)).toEqual([result.outcome === 'deployed' ? 'apply.succeeded' : 'apply.noop']);
      expect((await rawApp(lm.url, '/staging/web-plan'))?.labels).toMatchObject(labels);
    } finally {
      await proxy.close();
    }
  });
});
