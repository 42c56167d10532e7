import { ArtifactRef } from '../catalog/artifact';
import { EnvironmentName, ServiceDefinition } from '../catalog/types';
import type { AuditEventType, NewAuditEvent } from '../audit/types';
import { C2CError, interruption } from '../errors';
import { isSealedHook, productionNeedsPlan } from './guard';
import { canonicalJson } from '../canonical-json';
import { MarathonAppDefinition, STAMP_LABELS } from '../marathon/app';
import { DeploymentRef, MarathonAppInfo } from '../marathon/client';
import { marathonAppId, renderMarathonApp } from '../marathon/render';
import { diffApp, FieldChange } from './diff';
import { DEFAULT_MAX_TASK_FAILURES, DEFAULT_POLL_MS, DEFAULT_TIMEOUT_MS, DeployContext } from './types';
import { deployWaitDeadline, isSettled, sleep, waitForDeployment, waitForDeploymentsGone, waitedMs, WaitOutcome } from './wait';

/** One service to put on Marathon. */
export interface ApplyRequest {
  readonly service: ServiceDefinition;
  readonly environment: EnvironmentName;
  /** The image; for an artifact service, the artifact's URI (what is shown and recorded as what runs). */
  readonly image: string;
  /** For an artifact service: the artifact to fetch and its SHA-256. */
  readonly artifact?: ArtifactRef;
  readonly commit?: string;
  /** When the commit was made (ISO), for the audit log's lead time. */
  readonly commitTime?: string;
  /** A definition rendered earlier (from a plan file); submitted as is plus the labels `beforeSubmit` returns. */
  readonly app?: MarathonAppDefinition;
  readonly planId?: string;
  /** Cancel a deployment that holds the app instead of waiting for it (§9). Only when the user asked. */
  readonly force?: boolean;
  /**
   * Called with the live app after it was read and before anything that changes Marathon is sent (also before a
   * no-op is reported): the production gate. Throw to refuse; return labels to stamp (plan id, approver) and audit fields.
   */
  readonly beforeSubmit?: (live: MarathonAppInfo | null) => Promise<GateResult | void>;
}

/** What the gate adds to an apply it allowed. */
export interface GateResult {
  readonly labels?: Readonly<Record<string, string>>;
  readonly approver?: string;
  readonly approvalSource?: 'cli' | 'cloudbuild';
}

/** The outcome of an apply that did not fail. */
export interface ApplyResult {
  readonly outcome: 'deployed' | 'noop';
  readonly service: string;
  readonly environment: EnvironmentName;
  readonly appId: string;
  readonly image: string;
  /** The app's version now. */
  readonly version: string | null;
  /** The version that ran before (null for a first deploy). */
  readonly previousVersion: string | null;
  readonly deploymentId?: string;
  readonly diff: readonly FieldChange[];
  readonly tasks: { readonly healthy: number; readonly running: number; readonly wanted: number };
  /** Wall time of the apply, and the part of it spent waiting on Marathon (requests in flight and polling). */
  readonly durationMs: number;
  readonly marathonMs: number;
}

/** Details carried by a DEPLOY_FAILED* error. */
export interface DeployFailure {
  readonly service: string;
  readonly environment: EnvironmentName;
  readonly appId: string;
  readonly failedVersion: string | null;
  readonly deploymentId?: string;
  readonly rolledBack: boolean;
  /** The version Marathon runs after the rollback (a new version with the previous content, §11). */
  readonly rolledBackTo?: string | null;
  readonly previousVersion: string | null;
  readonly reason: string;
}

/** Details carried by an INTERRUPTED/TERMINATED or DEPLOY_STATE_UNKNOWN error from an apply: what may still be running. */
export interface DeployInFlight {
  readonly service: string;
  readonly environment: EnvironmentName;
  readonly appId: string;
  /** The deployment that keeps running (absent when nothing was sent). */
  readonly deploymentId?: string;
  /** The version it rolls out. */
  readonly version?: string;
  readonly previousVersion: string | null;
  /** Who started it (stamped as `c2c.deployed-by`). */
  readonly owner: string;
  readonly planId?: string;
}

/** The stamp labels for a deploy: what runs and who put it there. */
export function stampLabels(input: { image: string; commit?: string; actor: string }): Record<string, string> {
  return {
    [STAMP_LABELS.image]: input.image,
    [STAMP_LABELS.deployedBy]: input.actor,
    ...(input.commit ? { [STAMP_LABELS.commit]: input.commit } : {}),
  };
}

/** Renders a service with its stamps: the definition an apply submits. */
export function renderForDeploy(
  service: ServiceDefinition,
  environment: EnvironmentName,
  input: { image: string; artifact?: ArtifactRef; commit?: string; actor: string },
): MarathonAppDefinition {
  const ref = input.artifact ? { artifact: input.artifact } : { image: input.image };
  return renderMarathonApp(service, environment, { ...ref, labels: stampLabels(input) });
}

/** True when the live app holds the same content as `desired` (stamps aside). */
function holds(desired: MarathonAppDefinition, app: MarathonAppInfo | null): boolean {
  return app !== null && diffApp(desired, app.raw).length === 0;
}

/** One apply in flight: what every phase needs to report, record and give up in time. */
interface ApplyRun {
  readonly ctx: DeployContext;
  readonly req: ApplyRequest;
  readonly appId: string;
  readonly started: number;
  readonly deadline: number;
  /** Time spent waiting on Marathon so far (requests in flight and polling). */
  readonly marathonMs: () => number;
  /** The fields every audit record of this apply carries. */
  readonly auditBase: ApplyAuditBase;
}

type ApplyAuditBase = Pick<NewAuditEvent, 'service' | 'environment' | 'actor' | 'image' | 'commit' | 'commitTime' | 'planId'>;

/** One attempt at the live app: what was read and what the gate allowed. */
interface Attempt {
  readonly live: MarathonAppInfo | null;
  readonly desired: MarathonAppDefinition;
  readonly changes: readonly FieldChange[];
  readonly previousVersion: string | null;
  /** Writes the attempt's outcome record: `type`, the apply's fields and the approval, `extra`, and the duration. */
  readonly record: (type: AuditEventType, extra?: Partial<NewAuditEvent>) => Promise<unknown>;
}

/**
 * Applies one service: render, compare with what runs, submit the whole definition (`PUT ?partialUpdate=false`, §7)
 * unless nothing but stamps changed, wait on the deployment, confirm on the app (§10), and on a deadline or unhealthy
 * tasks roll back (§11) and throw DEPLOY_FAILED_ROLLED_BACK / DEPLOY_FAILED_ROLLBACK_FAILED. A 409 is waited out within
 * the timeout (§9), or forced when asked.
 */
export async function applyService(ctx: DeployContext, req: ApplyRequest): Promise<ApplyResult> {
  // Production only through the gate's own hook (lib/gate/apply-plan.ts applyPlan): no second caller can go around it.
  if (req.environment === 'production' && !isSealedHook(req.beforeSubmit)) throw productionNeedsPlan('an apply without the gate');
  const run = startRun(ctx, req);
  const base =
    req.app ??
    renderForDeploy(req.service, req.environment, { image: req.image, artifact: req.artifact, commit: req.commit, actor: ctx.actor });
  ctx.onProgress?.({ kind: 'phase', appId: run.appId, message: 'reading the live app' });
  for (;;) {
    const live = await readLive(run);
    if (req.planId !== undefined && live !== null && live.labels[STAMP_LABELS.planId] === req.planId) return resumePlan(run, live);
    const attempt = await askGate(run, base, live);
    if (live !== null && attempt.changes.length === 0) return reportNoop(run, attempt, live);
    const ref = await submitWithLockRetry(run, attempt);
    if (ref === 'retry') continue;
    return awaitOutcome(run, attempt, ref);
  }
}

/** The clocks, the deadline and the audit fields of one apply. */
function startRun(ctx: DeployContext, req: ApplyRequest): ApplyRun {
  const started = Date.now();
  const busyAtStart = ctx.client.busyMs;
  const waitedAtStart = waitedMs.get(ctx.client) ?? 0;
  return {
    ctx,
    req,
    appId: marathonAppId(req.service.name, req.environment),
    started,
    deadline: Math.min(started + (ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS), ctx.deadline ?? Infinity),
    marathonMs: () => ctx.client.busyMs - busyAtStart + (waitedMs.get(ctx.client) ?? 0) - waitedAtStart,
    auditBase: {
      service: req.service.name,
      environment: req.environment,
      actor: ctx.actor,
      image: req.image,
      ...(req.commit ? { commit: req.commit } : {}),
      ...(req.commitTime ? { commitTime: req.commitTime } : {}),
      ...(req.planId ? { planId: req.planId } : {}),
    },
  };
}

/** Phase 1: read what runs (an interrupt here sent nothing). */
async function readLive(run: ApplyRun): Promise<MarathonAppInfo | null> {
  try {
    return await run.ctx.client.getApp(run.appId);
  } catch (err) {
    throw stoppedBeforeSending(run.ctx, err, run.appId);
  }
}

/** Phase 2: the gate sees the live app (it may refuse, or add labels and an approver); the diff is against what it allowed. */
async function askGate(run: ApplyRun, base: MarathonAppDefinition, live: MarathonAppInfo | null): Promise<Attempt> {
  const gate = (await run.req.beforeSubmit?.(live)) ?? undefined;
  const desired: MarathonAppDefinition = gate?.labels ? { ...base, labels: { ...base.labels, ...gate.labels } } : base;
  const approval = gate?.approver
    ? { approver: gate.approver, ...(gate.approvalSource ? { approvalSource: gate.approvalSource } : {}) }
    : {};
  return {
    live,
    desired,
    changes: diffApp(desired, live?.raw ?? null),
    previousVersion: live?.version ?? null,
    record: async (type, extra = {}) =>
      run.ctx.audit?.record({
        type,
        ...run.auditBase,
        ...approval,
        ...extra,
        ...(type === 'apply.started' ? {} : { durationMs: Date.now() - run.started }),
      }),
  };
}

/** The details of a DEPLOY_FAILED* error of this apply. */
function failure(
  run: ApplyRun,
  attempt: Pick<Attempt, 'previousVersion'>,
  fields: Omit<DeployFailure, 'service' | 'environment' | 'appId' | 'previousVersion'>,
): DeployFailure {
  return {
    service: run.req.service.name,
    environment: run.req.environment,
    appId: run.appId,
    previousVersion: attempt.previousVersion,
    ...fields,
  };
}

/** What the apply returns: the app as it now runs. */
function applyResult(
  run: ApplyRun,
  app: MarathonAppInfo,
  fields: Pick<ApplyResult, 'outcome' | 'previousVersion' | 'diff'> & { deploymentId?: string },
): ApplyResult {
  return {
    outcome: fields.outcome,
    service: run.req.service.name,
    environment: run.req.environment,
    appId: run.appId,
    image: run.req.image,
    version: app.version,
    previousVersion: fields.previousVersion,
    ...(fields.deploymentId ? { deploymentId: fields.deploymentId } : {}),
    diff: fields.diff,
    tasks: { healthy: app.tasksHealthy, running: app.tasksRunning, wanted: app.instances },
    durationMs: Date.now() - run.started,
    marathonMs: run.marathonMs(),
  };
}

/**
 * Nothing but stamps differ: nothing is sent. When the same definition is already being rolled out (e.g. a concurrent
 * apply), wait for it instead of reporting success early; it is not ours to roll back.
 */
async function reportNoop(run: ApplyRun, attempt: Attempt, live: MarathonAppInfo): Promise<ApplyResult> {
  const { ctx, appId } = run;
  let current = live;
  if (live.deployments.length > 0) {
    ctx.onProgress?.({
      kind: 'phase',
      appId,
      message: `the same definition is being deployed (deployment ${live.deployments[0]}); waiting for it`,
    });
    const outcome = await waitForDeployment(ctx, {
      appId,
      deploymentId: live.deployments[0],
      deadline: run.deadline,
      expect: (app) => holds(attempt.desired, app),
    });
    if (!outcome.ok || outcome.app === null) {
      const message = outcome.ok ? `${appId} disappeared` : outcome.message;
      throw new C2CError('DEPLOY_FAILED', `${message}; nothing was sent, and the deployment is not ours to roll back`, {
        hint: `see 'deploy status --env ${run.req.environment}'; 'deploy rollback --service ${run.req.service.name} --env ${run.req.environment}' restores the previous version`,
        details: failure(run, attempt, { failedVersion: live.version, rolledBack: false, reason: message }),
      });
    }
    current = outcome.app;
  }
  await attempt.record('apply.noop', { appVersion: current.version ?? undefined });
  ctx.onProgress?.({ kind: 'done', appId, message: `already runs this definition (version ${current.version}); nothing sent` });
  return applyResult(run, current, { outcome: 'noop', previousVersion: current.version, diff: [] });
}

/**
 * Phase 3: submit. A 409 (the app is locked by a deployment, §9) is waited out within the deadline and answered with
 * 'retry' (read the live app again); other errors are recorded as `apply.failed` and thrown.
 */
async function submitWithLockRetry(run: ApplyRun, attempt: Attempt): Promise<DeploymentRef | 'retry'> {
  const { ctx, req, appId } = run;
  try {
    ctx.onProgress?.({ kind: 'phase', appId, message: `submitting ${attempt.changes.length} changed field(s)` });
    return await ctx.client.putApp(appId, attempt.desired, { force: req.force });
  } catch (err) {
    if (!(err instanceof C2CError && err.code === 'MARATHON_LOCKED' && !req.force)) {
      await attempt.record('apply.failed', { previousVersion: attempt.previousVersion ?? undefined, reason: (err as Error).message });
      throw err;
    }
    const holders = (err.details as { deploymentIds?: string[] } | undefined)?.deploymentIds ?? [];
    ctx.onProgress?.({ kind: 'waiting-for-lock', appId, deploymentIds: holders });
    try {
      if (holders.length > 0 && (await waitForDeploymentsGone(ctx, holders, run.deadline))) return 'retry';
      if (holders.length === 0 && Date.now() < run.deadline) {
        await sleep(ctx.pollIntervalMs ?? DEFAULT_POLL_MS, ctx.signal);
        return 'retry';
      }
    } catch (waitErr) {
      throw stoppedBeforeSending(ctx, waitErr, appId);
    }
    throw new C2CError(
      'DEPLOY_FAILED',
      `${appId} is locked by deployment ${holders.join(', ') || '(unknown)'} and it did not finish within the timeout; nothing was changed`,
      {
        hint: `wait for it ('deploy status --env ${req.environment}'), raise --timeout, or pass --force to cancel it`,
        details: failure(run, attempt, { failedVersion: null, rolledBack: false, reason: 'locked' }),
      },
    );
  }
}

/** Phase 4: wait for the deployment; healthy is success, anything else goes to {@link handleFailure}. */
async function awaitOutcome(run: ApplyRun, attempt: Attempt, ref: DeploymentRef): Promise<ApplyResult> {
  const { ctx, appId } = run;
  const sent = { appVersion: ref.version, previousVersion: attempt.previousVersion ?? undefined, deploymentId: ref.deploymentId };
  await attempt.record('apply.started', sent);
  ctx.onProgress?.({ kind: 'submitted', appId, deploymentId: ref.deploymentId, version: ref.version });
  let outcome: WaitOutcome;
  try {
    outcome = await waitForDeployment(ctx, {
      appId,
      deploymentId: ref.deploymentId,
      deadline: deployWaitDeadline(ctx, run.started, run.deadline),
      expect: (app) => holds(attempt.desired, app),
      failFast: { version: ref.version, maxFailures: ctx.maxTaskFailures ?? DEFAULT_MAX_TASK_FAILURES },
    });
  } catch (err) {
    if (!(err instanceof C2CError && (err.code === 'INTERRUPTED' || err.code === 'TERMINATED'))) {
      // Marathon took the change, then a read failed: what runs is not known, and is recorded and said as such.
      return handleFailure(run, attempt, ref, lostTrack(err));
    }
    await attempt.record('apply.interrupted', { ...sent, reason: err.code === 'TERMINATED' ? 'SIGTERM' : 'SIGINT' });
    throw interruption(
      ctx.signal,
      `interrupted: deployment ${ref.deploymentId} of ${appId} (version ${ref.version}, started by ${ctx.actor}) keeps running; nothing was rolled back`,
      inFlight(run, { deploymentId: ref.deploymentId, version: ref.version, previousVersion: attempt.previousVersion }),
    );
  }
  if (outcome.ok && outcome.app) {
    const app = outcome.app;
    await attempt.record('apply.succeeded', { ...sent, appVersion: app.version ?? ref.version });
    ctx.onProgress?.({ kind: 'done', appId, message: `healthy, version ${app.version}` });
    return applyResult(run, app, {
      outcome: 'deployed',
      previousVersion: attempt.previousVersion,
      deploymentId: ref.deploymentId,
      diff: attempt.changes,
    });
  }
  return handleFailure(run, attempt, ref, outcome as Extract<WaitOutcome, { ok: false }>);
}

/** A wait on a sent change that ended with an error (neither an interrupt nor an outage): the state is unknown. */
function lostTrack(err: unknown): Extract<WaitOutcome, { ok: false }> {
  const message = `reading Marathon failed after the change was sent: ${err instanceof Error ? err.message : String(err)}`;
  return { ok: false, reason: 'unknown', stillRunning: true, app: null, message };
}

/** What an interrupted or unknown apply leaves running. */
function inFlight(run: ApplyRun, extra: Partial<DeployInFlight> & { previousVersion: string | null }): DeployInFlight {
  return {
    service: run.req.service.name,
    environment: run.req.environment,
    appId: run.appId,
    owner: run.ctx.actor,
    ...(run.req.planId ? { planId: run.req.planId } : {}),
    ...extra,
  };
}

/**
 * Phase 5: the deployment did not get healthy. State unknown: report what may be live. Superseded: someone else's
 * change replaced ours, and rolling back would undo theirs. Otherwise roll back and report how that went.
 */
async function handleFailure(
  run: ApplyRun,
  attempt: Attempt,
  ref: DeploymentRef,
  failed: Extract<WaitOutcome, { ok: false }>,
): Promise<never> {
  const { ctx, req, appId } = run;
  const { previousVersion } = attempt;
  const failedVersion = failed.app?.version ?? ref.version;
  const statusHint = `'deploy status --service ${req.service.name} --env ${req.environment}' shows what runs`;
  const sent = { previousVersion: previousVersion ?? undefined, deploymentId: ref.deploymentId };
  if (failed.reason === 'unknown') {
    await attempt.record('apply.unknown', { appVersion: ref.version, ...sent, reason: failed.message });
    throw new C2CError('DEPLOY_STATE_UNKNOWN', `state unknown: version ${ref.version} may be live on ${appId}; ${failed.message}`, {
      hint: `when Marathon answers, ${statusHint}`,
      details: inFlight(run, { deploymentId: ref.deploymentId, version: ref.version, previousVersion }),
    });
  }
  const details = (rolledBack: boolean, rolledBackTo?: string | null) =>
    failure(run, attempt, {
      failedVersion,
      deploymentId: ref.deploymentId,
      rolledBack,
      ...(rolledBack ? { rolledBackTo } : {}),
      reason: failed.message,
    });
  if (failed.reason === 'superseded') {
    await attempt.record('apply.failed', { appVersion: ref.version, ...sent, reason: failed.message });
    throw new C2CError('DEPLOY_FAILED', `${failed.message}; not rolled back (the change that replaced it is kept)`, {
      hint: `see 'deploy status --env ${req.environment}' and the app's versions`,
      details: details(false),
    });
  }
  const rollback = await rollBack(ctx, {
    appId,
    deploymentId: ref.deploymentId,
    stillRunning: failed.stillRunning,
    previous: attempt.live,
  });
  const failedFields = { appVersion: failedVersion ?? undefined, ...sent };
  if (rollback.ok === true) {
    await attempt.record('apply.rolled-back', { ...failedFields, reason: failed.message });
    const to =
      rollback.version === null
        ? `removed the new app ${appId}`
        : `rolled back to ${rollback.version}${previousVersion && rollback.version !== previousVersion ? ` (the definition of ${previousVersion})` : ''}`;
    throw new C2CError('DEPLOY_FAILED_ROLLED_BACK', `deploy of ${req.image} to ${appId} failed, ${to}: ${failed.message}`, {
      hint: `fix the image or its health check, then deploy again; ${statusHint}`,
      details: details(true, rollback.version),
    });
  }
  if (rollback.ok === 'started') {
    await attempt.record('apply.failed', {
      ...failedFields,
      reason: `${failed.message}; rollback ${rollback.deploymentId} started, not confirmed before the deadline`,
    });
    throw new C2CError(
      'DEPLOY_FAILED_ROLLBACK_STARTED',
      `deploy of ${req.image} to ${appId} failed: ${failed.message}; rollback started (deployment ${rollback.deploymentId}), not yet healthy at the deadline`,
      { hint: statusHint, details: details(false) },
    );
  }
  await attempt.record('apply.failed', { ...failedFields, reason: `${failed.message}; rollback also failed: ${rollback.message}` });
  throw new C2CError(
    'DEPLOY_FAILED_ROLLBACK_FAILED',
    `deploy of ${req.image} to ${appId} failed, rollback also failed: ${failed.message}; rollback: ${rollback.message}`,
    {
      hint: `look at 'deploy status --service ${req.service.name} --env ${req.environment}' now; restore with 'deploy rollback --service ${req.service.name} --env ${req.environment}'`,
      details: details(false),
    },
  );
}

/**
 * Outcome of an automatic rollback. `version` null means the app was removed (a first deploy was reverted); `started`:
 * sent, but not confirmed healthy before the command's deadline.
 */
export type RollbackOutcome =
  { ok: true; version: string | null } | { ok: 'started'; deploymentId: string } | { ok: false; message: string };

/**
 * Reverts a failed deploy: while the deployment still runs, DELETE it so Marathon reverts exactly that plan (§11 A);
 * when it already finished but the tasks are unhealthy, restore the previous version (§11 C). Then wait until the old
 * definition is healthy again.
 */
export async function rollBack(
  ctx: DeployContext,
  input: { appId: string; deploymentId: string; stillRunning: boolean; previous: MarathonAppInfo | null },
): Promise<RollbackOutcome> {
  const { appId, previous } = input;
  // The rollback has its own budget, but never outlives the command's deadline (the client's, which leaves a moment to send it).
  const deadline = Math.min(Date.now() + rollbackTimeout(ctx), ctx.client.deadline ?? Infinity);
  const expect = (app: MarathonAppInfo | null) => (previous === null ? app === null : app !== null && sameContent(previous, app));
  let ref: DeploymentRef | null = null;
  try {
    if (input.stillRunning) {
      ctx.onProgress?.({ kind: 'rollback', appId, message: `cancelling deployment ${input.deploymentId}: Marathon reverts it (§11 A)` });
      try {
        ref = await ctx.client.deleteDeployment(input.deploymentId);
      } catch (err) {
        // It finished between our last poll and the DELETE: restore the version instead.
        if (!(err instanceof C2CError && err.code === 'MARATHON_NOT_FOUND')) throw err;
      }
    }
    if (ref === null) {
      if (previous === null || previous.version === null) {
        return { ok: false, message: `${appId} had no previous version to restore` };
      }
      ctx.onProgress?.({ kind: 'rollback', appId, message: `restoring version ${previous.version} (§11 C)` });
      ref = await ctx.client.rollbackToVersion(appId, previous.version);
    }
    const outcome = await waitForDeployment(ctx, { appId, deploymentId: ref.deploymentId, deadline, expect });
    // Cut by the command's deadline (the client's): the rollback was sent and goes on without us.
    const cut = ctx.client.deadline !== undefined && Date.now() >= ctx.client.deadline - 1;
    if (!outcome.ok && (outcome.reason === 'deadline' || outcome.reason === 'unknown') && cut) {
      return { ok: 'started', deploymentId: ref.deploymentId };
    }
    if (!outcome.ok) return { ok: false, message: outcome.message };
    return { ok: true, version: outcome.app?.version ?? null };
  } catch (err) {
    // Interrupted (or cut by the deadline) after the rollback was sent: it goes on without us.
    if (ref !== null && err instanceof C2CError && ['INTERRUPTED', 'TERMINATED', 'DEADLINE'].includes(err.code)) {
      return { ok: 'started', deploymentId: ref.deploymentId };
    }
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The rollback's own deadline: restoring the old version must not be cut short by a short deploy timeout (the old
 * tasks need their health checks too), so it is at least MIN_ROLLBACK_MS.
 */
function rollbackTimeout(ctx: DeployContext): number {
  return ctx.rollbackTimeoutMs ?? Math.max(ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS, MIN_ROLLBACK_MS);
}

const MIN_ROLLBACK_MS = 120_000;

/** The same task-affecting content (image, instances, labels, env, command), for confirming a rollback. */
function sameContent(a: MarathonAppInfo, b: MarathonAppInfo): boolean {
  const pick = (x: MarathonAppInfo) =>
    canonicalJson([x.image, x.instances, x.labels, x.raw.env ?? {}, x.raw.cmd ?? null, x.raw.healthChecks ?? []]);
  return pick(a) === pick(b);
}

/** An interrupt before anything was sent: nothing to report but that; other errors pass unchanged. */
function stoppedBeforeSending(ctx: DeployContext, err: unknown, appId: string): unknown {
  if (err instanceof C2CError && (err.code === 'INTERRUPTED' || err.code === 'TERMINATED')) {
    return interruption(ctx.signal, `interrupted before anything was sent to ${appId}; nothing changed`);
  }
  return err;
}

/**
 * `apply --plan` of a plan whose version Marathon already runs or is rolling out (its `c2c.plan-id` label is this
 * plan's): nothing is sent and the gate is not asked again; an unfinished deployment is watched to its end (a resumed,
 * interrupted apply), a finished one is reported as a no-op.
 */
async function resumePlan(run: ApplyRun, live: MarathonAppInfo): Promise<ApplyResult> {
  const { ctx, req } = run;
  const appId = live.id;
  const plan = req.planId?.slice(0, 12);
  const record = (type: AuditEventType, extra: Partial<NewAuditEvent>) => ctx.audit?.record({ type, ...run.auditBase, ...extra });
  if (live.deployments.length === 0 || live.version === null) {
    await record('apply.noop', { appVersion: live.version ?? undefined, durationMs: Date.now() - run.started });
    ctx.onProgress?.({
      kind: 'done',
      appId,
      message: `plan ${plan} is already live (version ${live.version}${isSettled(live) ? '' : ', not all tasks healthy'}); nothing sent`,
    });
    return applyResult(run, live, { outcome: 'noop', previousVersion: live.version, diff: [] });
  }
  const deploymentId = live.deployments[0];
  ctx.onProgress?.({ kind: 'phase', appId, message: `plan ${plan} is being deployed (deployment ${deploymentId}); watching it` });
  let outcome: WaitOutcome;
  try {
    outcome = await waitForDeployment(ctx, {
      appId,
      deploymentId,
      deadline: run.deadline,
      expect: (app) => app !== null && app.labels[STAMP_LABELS.planId] === req.planId,
      failFast: { version: live.version, maxFailures: ctx.maxTaskFailures ?? DEFAULT_MAX_TASK_FAILURES },
    });
  } catch (err) {
    if (err instanceof C2CError && (err.code === 'INTERRUPTED' || err.code === 'TERMINATED')) {
      throw interruption(ctx.signal, `interrupted: deployment ${deploymentId} of ${appId} (version ${live.version}) keeps running`, {
        ...inFlight(run, { deploymentId, version: live.version, previousVersion: null }),
        appId,
        owner: live.labels[STAMP_LABELS.deployedBy] ?? ctx.actor,
        planId: req.planId,
      });
    }
    throw err;
  }
  if (!outcome.ok || outcome.app === null) {
    const message = outcome.ok ? `${appId} disappeared` : outcome.message;
    await record('apply.failed', { appVersion: live.version, deploymentId, reason: message });
    throw new C2CError('DEPLOY_FAILED', `plan ${plan} did not become healthy: ${message}; not rolled back`, {
      hint: `'deploy rollback --service ${req.service.name} --env ${req.environment}' restores the previous version`,
      details: {
        ...failure(run, { previousVersion: null }, { failedVersion: live.version, deploymentId, rolledBack: false, reason: message }),
        appId,
      },
    });
  }
  const current = outcome.app;
  await record('apply.succeeded', { appVersion: current.version ?? undefined, deploymentId, durationMs: Date.now() - run.started });
  ctx.onProgress?.({ kind: 'done', appId, message: `healthy, version ${current.version}` });
  return applyResult(run, current, { outcome: 'deployed', previousVersion: null, deploymentId, diff: [] });
}
