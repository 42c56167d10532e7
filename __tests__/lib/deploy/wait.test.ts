// waitForDeployment against a loopback server playing Marathon, for what the local Marathon does not model: the launch
// queue (`GET /v2/queue`: backoff delay and declined offers, raml/v2/types/queue.raml).
import { waitForDeployment } from '../../../lib/deploy/wait';
import { MarathonClient } from '../../../lib/marathon/client';
import { json, startServer } from '../marathon/http-server';

const APP_ID = '/staging/web';
const DEPLOYMENT = '5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43';
const VERSION = '2026-11-27T10:00:00.000Z';

function fakeMarathon(queue: unknown[], lastTaskFailure?: Record<string, unknown>) {
  return startServer((req, res) => {
    if (req.path === '/v2/deployments')
      return json(res, 200, [
        { id: DEPLOYMENT, version: VERSION, affectedApps: [APP_ID], currentStep: 1, totalSteps: 1, currentActions: [] },
      ]);
    if (req.path === '/v2/queue') return json(res, 200, { queue });
    return json(res, 200, {
      app: {
        id: APP_ID,
        instances: 3,
        version: VERSION,
        tasksRunning: 0,
        tasksHealthy: 0,
        deployments: [{ id: DEPLOYMENT }],
        ...(lastTaskFailure ? { lastTaskFailure } : {}),
      },
    });
  });
}

const ctxFor = (url: string) => ({
  client: new MarathonClient({ baseUrl: url, attempts: 1 }),
  actor: 'dev@example.com',
  pollIntervalMs: 50,
});

describe('progress while waiting', () => {
  it('reports the deployment step and the task counts as Marathon gives them', async () => {
    let polls = 0;
    const s = await startServer((req, res) => {
      if (req.path === '/v2/deployments') {
        polls++;
        return json(
          res,
          200,
          polls < 3
            ? [{ id: DEPLOYMENT, version: VERSION, affectedApps: [APP_ID], currentStep: 1, totalSteps: 2, currentActions: [] }]
            : [],
        );
      }
      if (req.path === '/v2/queue') return json(res, 200, { queue: [] });
      const done = polls >= 3;
      return json(res, 200, {
        app: {
          id: APP_ID,
          instances: 1,
          version: VERSION,
          tasksRunning: 1,
          tasksHealthy: done ? 1 : 0,
          deployments: done ? [] : [{ id: DEPLOYMENT }],
        },
      });
    });
    const events: Array<Record<string, unknown>> = [];
    try {
      const outcome = await waitForDeployment(
        { ...ctxFor(s.url), onProgress: (e) => events.push(e as unknown as Record<string, unknown>) },
        { appId: APP_ID, deploymentId: DEPLOYMENT, deadline: Date.now() + 10_000, expect: () => true },
      );
      expect(outcome).toMatchObject({ ok: true });
      expect(events.filter((e) => e.kind === 'step')).toEqual([
        { kind: 'step', appId: APP_ID, deploymentId: DEPLOYMENT, currentStep: 1, totalSteps: 2, actions: [] },
      ]);
      expect(events.filter((e) => e.kind === 'tasks').length).toBeGreaterThanOrEqual(2);
    } finally {
      await s.close();
    }
  });
});

describe('waitForDeployment and the launch queue', () => {
  it('a launch backed off past the deadline after a task failure stops the wait with Marathon’s reason', async () => {
    const s = await fakeMarathon([{ app: { id: APP_ID }, count: 3, delay: { timeLeftSeconds: 600, overdue: false } }], {
      taskId: 'web.1',
      message: 'Failed to launch container: exit 125, image not found',
      state: 'TASK_FAILED',
      version: VERSION,
    });
    try {
      const outcome = await waitForDeployment(ctxFor(s.url), {
        appId: APP_ID,
        deploymentId: DEPLOYMENT,
        deadline: Date.now() + 60_000,
        expect: () => true,
        failFast: { version: VERSION },
      });
      expect(outcome).toMatchObject({
        ok: false,
        reason: 'failing',
        stillRunning: true,
        message:
          'task failed: Failed to launch container: exit 125, image not found; Marathon backs off the next launch for 600 s, past the deadline',
      });
    } finally {
      await s.close();
    }
  });

  it('failures of another version do not count', async () => {
    const s = await fakeMarathon([{ app: { id: APP_ID }, count: 3, delay: { timeLeftSeconds: 600, overdue: false } }], {
      taskId: 'web.0',
      message: 'old crash',
      version: '2026-11-01T00:00:00.000Z',
    });
    try {
      const outcome = await waitForDeployment(ctxFor(s.url), {
        appId: APP_ID,
        deploymentId: DEPLOYMENT,
        deadline: Date.now() + 300,
        expect: () => true,
        failFast: { version: VERSION },
      });
      expect(outcome).toMatchObject({ ok: false, reason: 'deadline' });
    } finally {
      await s.close();
    }
  });

  it('at the deadline, tasks that never launched are explained by the offers Marathon declined', async () => {
    const s = await fakeMarathon([
      {
        app: { id: APP_ID },
        count: 3,
        delay: { timeLeftSeconds: 0, overdue: true },
        processedOffersSummary: {
          processedOffersCount: 9,
          unusedOffersCount: 9,
          rejectSummaryLastOffers: [
            { reason: 'InsufficientMemory', declined: 7, processed: 9 },
            { reason: 'InsufficientCpus', declined: 2, processed: 9 },
          ],
        },
      },
    ]);
    try {
      const outcome = await waitForDeployment(ctxFor(s.url), {
        appId: APP_ID,
        deploymentId: DEPLOYMENT,
        deadline: Date.now() + 300,
        expect: () => true,
      });
      expect(outcome).toMatchObject({
        ok: false,
        reason: 'deadline',
        message: `deployment ${DEPLOYMENT} did not finish in time (step 1 of 1, 0 of 3 running); Marathon declined offers: InsufficientMemory (7), InsufficientCpus (2)`,
      });
    } finally {
      await s.close();
    }
  });
});
