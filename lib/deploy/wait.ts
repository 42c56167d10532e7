import { abortableSleep, C2CError, interruption } from '../errors';
import { MarathonAppInfo, MarathonClient, MarathonDeployment } from '../marathon/client';
import { DEFAULT_MAX_TASK_FAILURES, DEFAULT_POLL_MS, DeployContext } from './types';
import { settleAll } from './pool';

/**
 * How a wait ended. `stillRunning` says whether the deployment was still listed at the end. `failing`: new tasks kept
 * failing or the launch queue backed off past the deadline (`message` carries Marathon's reason); `unknown`: Marathon
 * did not answer until the deadline, so what runs is not known.
 */
export type WaitOutcome =
  | { readonly ok: true; readonly app: MarathonAppInfo | null }
  | {
      readonly ok: false;
      readonly reason: 'deadline' | 'superseded' | 'failing' | 'unknown';
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

/**
 * The share of the command's one deadline (`DeployContext.deadline`, the CLI's --timeout) kept for an automatic
 * rollback: the new version gets the first two thirds, so that a failed deploy still has a third of the time to
 * restore the previous version and confirm it healthy, and ends on a known version.
 */
export const ROLLBACK_SHARE = 1 / 3;

/**
 * When to stop waiting for a new version that started at `started`: `deadline` less the rollback's share when the
 * rollback must fit in the same deadline (`ctx.deadline` set); `deadline` itself otherwise (the rollback then has its
 * own budget, `rollbackTimeoutMs`).
 */
export function deployWaitDeadline(ctx: DeployContext, started: number, deadline: number): number {
  if (ctx.deadline === undefined || !Number.isFinite(deadline)) return deadline;
  return started + Math.floor((deadline - started) * (1 - ROLLBACK_SHARE));
}

/** Waits `ms`; rejects with INTERRUPTED/TERMINATED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal);
}

/** Time spent waiting on Marathon (polling sleeps), per client, so callers can split wall time from overhead. */
export const waitedMs = new WeakMap<MarathonClient, number>();

/** Errors that mean "Marathon is not answering right now" (worth polling again), not "Marathon said no". */
export function isOutage(err: unknown): boolean {
  return (
    err instanceof C2CError &&
    (err.code === 'MARATHON_UNREACHABLE' ||
      err.code === 'DEADLINE' ||
      (err.code === 'MARATHON_ERROR' && ((err.details as { status?: number } | undefined)?.status ?? 0) >= 500))
  );
}

/** What to watch for while a new version rolls out: its failed tasks and the launch queue. */
export interface FailFast {
  /** The version the deployment rolls out (failures of other versions do not count). */
  readonly version: string;
  /** Stop after this many failed tasks of `version`. @default 3 */
  readonly maxFailures?: number;
}

/**
 * Waits on a deployment id (polls GET /v2/deployments), then CONFIRMS on the app, because a deployment that leaves the
 * list may have been cancelled or superseded (§10): `expect(app)` must hold (the definition is ours), no deployment
 * may touch the app, and the counters must match (`isSettled`). Gives up at `deadline` (Marathon never fails a
 * deployment by itself, §9). With `failFast`, also stops when tasks of the new version keep failing (the app's
 * `lastTaskFailure`) or the launch queue backs off past the deadline. When Marathon stops answering, keeps polling
 * with backoff until the deadline (`unknown` if it never comes back). Throws INTERRUPTED/TERMINATED on `ctx.signal`.
 */
export async function waitForDeployment(
  ctx: DeployContext,
  input: {
    appId: string;
    deploymentId: string;
    deadline: number;
    expect: (app: MarathonAppInfo | null) => boolean;
    failFast?: FailFast;
  },
): Promise<WaitOutcome> {
  try {
    return await watch(ctx, input);
  } catch (err) {
    if (err instanceof C2CError && (err.code === 'INTERRUPTED' || err.code === 'TERMINATED')) {
      throw interruption(
        ctx.signal ?? ctx.client.signal,
        `interrupted while waiting for deployment ${input.deploymentId} of ${input.appId}; it keeps running`,
        { appId: input.appId, deploymentId: input.deploymentId },
      );
    }
    throw err;
  }
}

type WatchInput = Parameters<typeof waitForDeployment>[1];

/** What the watch remembers between polls. */
interface WatchState {
  /** Failed tasks of the new version: task id -> reason. */
  readonly failed: Map<string, string>;
  lastStep: string;
  lastTasks: string;
  /** Why Marathon does not answer, while it does not. */
  outage?: string;
  /** The last answer: whether our deployment was listed, and the app. */
  last: { mine: boolean; app: MarathonAppInfo | null };
  /** Auxiliary reads that failed (reported once each). */
  readonly auxiliaryFailed: Set<string>;
}

/** One poll's answer: our deployment (if still listed) and the app. */
interface Seen {
  readonly mine: MarathonDeployment | undefined;
  readonly app: MarathonAppInfo | null;
}

async function watch(ctx: DeployContext, input: WatchInput): Promise<WaitOutcome> {
  let poll = pollDelays(ctx.pollIntervalMs ?? DEFAULT_POLL_MS);
  const state: WatchState = { failed: new Map(), lastStep: '', lastTasks: '', last: { mine: true, app: null }, auxiliaryFailed: new Set() };
  // After the end event, polls start again at 100 ms: the app may need a moment to settle (the old tasks' kills).
  const wake = wakeOnDeploymentEnd(ctx.client, input.deploymentId, () => {
    poll = pollDelays(ctx.pollIntervalMs ?? DEFAULT_POLL_MS);
  });
  try {
    for (;;) {
      const seen = await look(ctx, input, state);
      if (seen === 'no answer') {
        await pause(ctx, poll, input.deadline, wake);
        continue;
      }
      if ('ok' in seen) return seen;
      reportProgress(ctx, input, state, seen);
      const outcome =
        ended(input, seen) ??
        (input.failFast && seen.app ? await failing(ctx, input, input.failFast, state, { ...seen, app: seen.app }) : undefined) ??
        (Date.now() >= input.deadline ? await pastDeadline(ctx, input, state, seen) : undefined);
      if (outcome) return outcome;
      await pause(ctx, poll, input.deadline, wake);
    }
  } finally {
    wake.close();
  }
}

/** Ends a poll's pause early; see {@link wakeOnDeploymentEnd}. */
interface Wake {
  /** Waits `ms`, or less when the event came (during this pause or since the last one). */
  pause(ms: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Listens to Marathon's event stream for the end of `deploymentId` (`deployment_success`, `deployment_failed`, §14), so
 * that the poll after it comes at once rather than up to a poll interval later. Only a hint: the poll that follows
 * decides, as without events, and a stream that Marathon refuses or cuts leaves plain polling.
 */
function wakeOnDeploymentEnd(client: MarathonClient, deploymentId: string, onEnd: () => void): Wake {
  const stop = new AbortController();
  let pending = false;
  let wakeUp: (() => void) | undefined;
  void client.events(
    ['deployment_success', 'deployment_failed'],
    (_type, data) => {
      if (typeof data !== 'object' || data === null || (data as { id?: unknown }).id !== deploymentId) return;
      pending = true;
      onEnd();
      wakeUp?.();
    },
    stop.signal,
  );
  return {
    pause(ms, signal) {
      if (signal?.aborted) return Promise.reject(interruption(signal, 'interrupted'));
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolve, reject) => {
        const finish = (err?: C2CError) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          wakeUp = undefined;
          pending = false;
          if (err) reject(err);
          else resolve();
        };
        const onAbort = () => finish(interruption(signal, 'interrupted'));
        const timer = setTimeout(() => finish(), ms);
        wakeUp = () => finish();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close: () => stop.abort(),
  };
}

/**
 * Polls the deployments and the app. While Marathon does not answer: 'no answer' (poll again), or at the deadline the
 * outcome (`deadline` when it answered until the command's time ran out, else `unknown`).
 */
async function look(ctx: DeployContext, input: WatchInput, state: WatchState): Promise<Seen | WaitOutcome | 'no answer'> {
  let deployments: MarathonDeployment[] | null;
  let app: MarathonAppInfo | null;
  try {
    [deployments, app] = await settleAll([
      auxiliaryRead(ctx, input, state, '/v2/deployments', ctx.client.listDeployments()),
      ctx.client.getApp(input.appId),
    ]);
  } catch (err) {
    if (!isOutage(err)) throw err;
    if ((err as C2CError).code === 'DEADLINE' && state.outage === undefined) {
      // The command's time is up, and Marathon was answering until now: a plain deadline, judged on the last answer.
      return {
        ok: false,
        reason: 'deadline',
        stillRunning: state.last.mine,
        app: state.last.app,
        message: `deployment ${input.deploymentId} did not finish in time`,
      };
    }
    state.outage = (err as Error).message;
    ctx.onProgress?.({ kind: 'outage', appId: input.appId, message: state.outage });
    if (Date.now() >= input.deadline) {
      return {
        ok: false,
        reason: 'unknown',
        stillRunning: state.last.mine,
        app: state.last.app,
        message: `Marathon did not answer until the deadline (${state.outage})`,
      };
    }
    return 'no answer';
  }
  if (state.outage !== undefined) {
    state.outage = undefined;
    ctx.onProgress?.({ kind: 'phase', appId: input.appId, message: 'Marathon answers again' });
  }
  // Without the deployment list, the app's own `deployments` field says whether ours still runs (no step detail).
  const mine =
    deployments === null
      ? app?.deployments.includes(input.deploymentId)
        ? { id: input.deploymentId, version: '', affectedApps: [input.appId], currentStep: 0, totalSteps: 0, currentActions: [] }
        : undefined
      : deployments.find((d) => d.id === input.deploymentId);
  state.last = { mine: mine !== undefined, app };
  return { mine, app };
}

/** Reports a new deployment step and new task counts (each once). */
function reportProgress(ctx: DeployContext, input: WatchInput, state: WatchState, { mine, app }: Seen): void {
  if (mine && mine.totalSteps > 0) {
    const step = `${mine.currentStep}/${mine.totalSteps}`;
    if (step !== state.lastStep) {
      state.lastStep = step;
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
    if (tasks !== state.lastTasks) {
      state.lastTasks = tasks;
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
}

/** Our deployment is gone: success when the app holds our definition and is settled, superseded when it does not. */
function ended(input: WatchInput, { mine, app }: Seen): WaitOutcome | undefined {
  if (mine) return undefined;
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
  return undefined;
}

/**
 * Fail fast: tasks of the new version keep failing (the app's `lastTaskFailure`), or the launch queue backs off the
 * next launch past the deadline.
 */
async function failing(
  ctx: DeployContext,
  input: WatchInput,
  failFast: FailFast,
  state: WatchState,
  { mine, app }: Seen & { app: MarathonAppInfo },
): Promise<WaitOutcome | undefined> {
  const { failed } = state;
  const maxFailures = failFast.maxFailures ?? DEFAULT_MAX_TASK_FAILURES;
  const failure = app.lastTaskFailure;
  if (failure?.version === failFast.version) {
    failed.set(failure.taskId ?? failure.timestamp ?? String(failed.size), failure.message ?? failure.state ?? 'no reason given');
  }
  const lastReason = [...failed.values()].pop();
  if (failed.size >= maxFailures) {
    return {
      ok: false,
      reason: 'failing',
      stillRunning: mine !== undefined,
      app,
      message: `task failed: ${lastReason} (${failed.size} failed tasks of version ${failFast.version})`,
    };
  }
  if (failed.size > 0 && app.tasksRunning < app.instances) {
    const queued = (await auxiliaryRead(ctx, input, state, '/v2/queue', ctx.client.getQueue()))?.find((q) => q.appId === input.appId);
    if (queued && !queued.overdue && Date.now() + queued.delaySeconds * 1000 >= input.deadline) {
      return {
        ok: false,
        reason: 'failing',
        stillRunning: mine !== undefined,
        app,
        message: `task failed: ${lastReason}; Marathon backs off the next launch for ${queued.delaySeconds} s, past the deadline`,
      };
    }
  }
  return undefined;
}

/** The deadline passed: what was reached, the last task failure, and why Marathon declined offers for tasks that never launched. */
async function pastDeadline(ctx: DeployContext, input: WatchInput, state: WatchState, { mine, app }: Seen): Promise<WaitOutcome> {
  const counts = app
    ? `${app.hasHealthChecks ? `${app.tasksHealthy} of ${app.instances} healthy` : `${app.tasksRunning} of ${app.instances} running`}`
    : 'app missing';
  let why = state.failed.size > 0 ? `; last task failure: ${[...state.failed.values()].pop()}` : '';
  if (app && app.tasksRunning < app.instances) {
    // Tasks that never launched: the launch queue says why Marathon declined the offers it had.
    const queued = (await auxiliaryRead(ctx, input, state, '/v2/queue', ctx.client.getQueue()))?.find((q) => q.appId === input.appId);
    const declined = queued?.declinedBecause.slice(0, 3).map((d) => `${d.reason} (${d.declined})`);
    if (declined && declined.length > 0) why += `; Marathon declined offers: ${declined.join(', ')}`;
  }
  return {
    ok: false,
    reason: 'deadline',
    stillRunning: mine !== undefined,
    app,
    message:
      (mine
        ? `deployment ${input.deploymentId} did not finish in time (${mine.totalSteps > 0 ? `step ${mine.currentStep} of ${mine.totalSteps}, ` : ''}${counts})`
        : `${input.appId} did not become healthy in time (${counts})`) + why,
  };
}

/**
 * A read that only adds detail (the deployment list's steps, the launch queue's reasons): when it fails (an error
 * status, a proxy that blocks the path, an outage of that endpoint), the wait goes on from the app's own fields
 * (`deployments`, counts, `lastTaskFailure`) and the failure is reported once per path. An interrupt still ends it.
 */
async function auxiliaryRead<T>(
  ctx: DeployContext,
  input: WatchInput,
  state: WatchState,
  path: string,
  request: Promise<T>,
): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof C2CError && (err.code === 'INTERRUPTED' || err.code === 'TERMINATED')) throw err;
    if (!state.auxiliaryFailed.has(path)) {
      state.auxiliaryFailed.add(path);
      const message = `GET ${path} failed (${(err as Error).message}); going on from the app's own fields`;
      ctx.onProgress?.({ kind: 'phase', appId: input.appId, message });
    }
    return null;
  }
}

/**
 * Sleeps the next poll delay (never past the deadline; less when `wake` ends it), counting it as time spent waiting on
 * Marathon.
 */
async function pause(ctx: DeployContext, poll: Generator<number, never, unknown>, deadline: number, wake?: Wake): Promise<void> {
  const ms = Math.min(poll.next().value, Math.max(0, deadline - Date.now()));
  const started = Date.now();
  try {
    await (wake ? wake.pause(ms, ctx.signal) : sleep(ms, ctx.signal));
  } finally {
    waitedMs.set(ctx.client, (waitedMs.get(ctx.client) ?? 0) + Math.min(ms, Date.now() - started));
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
    await pause(ctx, poll, deadline);
  }
}
