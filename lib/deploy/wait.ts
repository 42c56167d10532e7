import { MarathonAppInfo, MarathonClient } from '../marathon/client';
import { DEFAULT_POLL_MS, DeployContext } from './types';

/** How a wait ended. `stillRunning` says whether the deployment was still listed when the deadline passed. */
export type WaitOutcome =
  | { readonly ok: true; readonly app: MarathonAppInfo | null }
  | {
      readonly ok: false;
      readonly reason: 'deadline' | 'superseded';
      readonly stillRunning: boolean;
      readonly app: MarathonAppInfo | null;
      readonly message: string;
    };

/** Counts that mean "done" (§10, §12): running == instances, and healthy == instances only when health checks exist. */
export function isSettled(app: MarathonAppInfo): boolean {
  if (app.deployments.length > 0) return false;
  if (app.tasksRunning !== app.instances) return false;
  return !app.hasHealthChecks || app.tasksHealthy === app.instances;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Time spent waiting on Marathon (polling sleeps), per client, so callers can split wall time from overhead. */
export const waitedMs = new WeakMap<MarathonClient, number>();

/**
 * Waits on a deployment id (polls GET /v2/deployments), then CONFIRMS on the app, because a deployment that leaves the
 * list may have been cancelled or superseded (§10): `expect(app)` must hold (the definition is ours), no deployment
 * may touch the app, and the counters must match (`isSettled`). Gives up at `deadline` (Marathon never fails a
 * deployment by itself, §9).
 */
export async function waitForDeployment(
  ctx: DeployContext,
  input: { appId: string; deploymentId: string; deadline: number; expect: (app: MarathonAppInfo | null) => boolean },
): Promise<WaitOutcome> {
  const { client } = ctx;
  const poll = pollDelays(ctx.pollIntervalMs ?? DEFAULT_POLL_MS);
  let lastStep = '';
  let lastTasks = '';
  for (;;) {
    const [deployments, app] = await Promise.all([client.listDeployments(), client.getApp(input.appId)]);
    const mine = deployments.find((d) => d.id === input.deploymentId);
    if (mine) {
      const step = `${mine.currentStep}/${mine.totalSteps}`;
      if (step !== lastStep) {
        lastStep = step;
        ctx.onProgress?.({
          kind: 'step',
          appId: input.appId,
          deploymentId: mine.id,
          currentStep: mine.currentStep,
          totalSteps: mine.totalSteps,
          actions: mine.currentActions.map((a) => a.action),
        });
      }
    }
    if (app) {
      const tasks = `${app.tasksHealthy}/${app.tasksRunning}/${app.instances}`;
      if (tasks !== lastTasks) {
        lastTasks = tasks;
        ctx.onProgress?.({
          kind: 'tasks',
          appId: input.appId,
          healthy: app.tasksHealthy,
          running: app.tasksRunning,
          wanted: app.instances,
          healthChecks: app.hasHealthChecks,
        });
      }
    }
    if (!mine) {
      if (!input.expect(app)) {
        return {
          ok: false,
          reason: 'superseded',
          stillRunning: false,
          app,
          message: app
            ? `deployment ${input.deploymentId} ended, but ${input.appId} now holds another definition (version ${app.version}): it was cancelled or superseded`
            : `deployment ${input.deploymentId} ended and ${input.appId} no longer exists`,
        };
      }
      if (app === null || isSettled(app)) return { ok: true, app };
    }
    if (Date.now() >= input.deadline) {
      const counts = app
        ? `${app.hasHealthChecks ? `${app.tasksHealthy} of ${app.instances} healthy` : `${app.tasksRunning} of ${app.instances} running`}`
        : 'app missing';
      return {
        ok: false,
        reason: 'deadline',
        stillRunning: mine !== undefined,
        app,
        message: mine
          ? `deployment ${input.deploymentId} did not finish in time (step ${mine.currentStep} of ${mine.totalSteps}, ${counts})`
          : `${input.appId} did not become healthy in time (${counts})`,
      };
    }
    const ms = Math.min(poll.next().value, Math.max(0, input.deadline - Date.now()));
    waitedMs.set(client, (waitedMs.get(client) ?? 0) + ms);
    await sleep(ms);
  }
}

/**
 * Poll delays: start at 100 ms (most small deploys finish within a second) and grow by half each time up to `max`, so
 * a quick deployment is seen quickly and a long one costs few requests.
 */
export function* pollDelays(max: number): Generator<number, never, unknown> {
  let delay = Math.min(100, max);
  for (;;) {
    yield delay;
    delay = Math.min(max, Math.round(delay * 1.5));
  }
}

/**
 * Waits until none of `deploymentIds` is listed any more (a 409 holder), or the deadline passes.
 * @returns true when they are all gone.
 */
export async function waitForDeploymentsGone(ctx: DeployContext, deploymentIds: readonly string[], deadline: number): Promise<boolean> {
  const poll = pollDelays(ctx.pollIntervalMs ?? DEFAULT_POLL_MS);
  for (;;) {
    const listed = new Set((await ctx.client.listDeployments()).map((d) => d.id));
    if (!deploymentIds.some((id) => listed.has(id))) return true;
    if (Date.now() >= deadline) return false;
    const ms = Math.min(poll.next().value, Math.max(0, deadline - Date.now()));
    waitedMs.set(ctx.client, (waitedMs.get(ctx.client) ?? 0) + ms);
    await sleep(ms);
  }
}
