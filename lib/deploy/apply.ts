import { ArtifactRef } from '../catalog/artifact';
import { EnvironmentName, ServiceDefinition } from '../catalog/types';
import { C2CError } from '../errors';
import { canonicalJson, FieldChange } from '../gate/plan';
import { MarathonAppDefinition, STAMP_LABELS } from '../marathon/app';
import { DeploymentRef, MarathonAppInfo } from '../marathon/client';
import { marathonAppId, renderMarathonApp } from '../marathon/render';
import { diffApp } from './diff';
import { DEFAULT_POLL_MS, DEFAULT_TIMEOUT_MS, DeployContext } from './types';
import { sleep, waitForDeployment, waitForDeploymentsGone, waitedMs, WaitOutcome } from './wait';

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

/**
 * Applies one service: render, compare with what runs, submit the whole definition (`PUT ?partialUpdate=false`, §7)
 * unless nothing but stamps changed, wait on the deployment, confirm on the app (§10), and on a deadline or unhealthy
 * tasks roll back (§11) and throw DEPLOY_FAILED_ROLLED_BACK / DEPLOY_FAILED_ROLLBACK_FAILED. A 409 is waited out within
 * the timeout (§9), or forced when asked.
 */
export async function applyService(ctx: DeployContext, req: ApplyRequest): Promise<ApplyResult> {
  const started = Date.now();
  const busyAtStart = ctx.client.busyMs;
  const waitedAtStart = waitedMs.get(ctx.client) ?? 0;
  const marathonMs = () => ctx.client.busyMs - busyAtStart + (waitedMs.get(ctx.client) ?? 0) - waitedAtStart;
  const deadline = started + (ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const environment = req.environment;
  const appId = marathonAppId(req.service.name, environment);
  const base =
    req.app ??
    renderForDeploy(req.service, environment, {
      image: req.image,
      artifact: req.artifact,
      commit: req.commit,
      actor: ctx.actor,
    });
  const auditBase = {
    service: req.service.name,
    environment,
    actor: ctx.actor,
    image: req.image,
    ...(req.commit ? { commit: req.commit } : {}),
    ...(req.commitTime ? { commitTime: req.commitTime } : {}),
    ...(req.planId ? { planId: req.planId } : {}),
  };

  ctx.onProgress?.({ kind: 'phase', appId, message: 'reading the live app' });
  for (;;) {
    const live = await ctx.client.getApp(appId);
    const gate = (await req.beforeSubmit?.(live)) ?? undefined;
    const desired: MarathonAppDefinition = gate?.labels ? { ...base, labels: { ...base.labels, ...gate.labels } } : base;
    const approval = gate?.approver
      ? { approver: gate.approver, ...(gate.approvalSource ? { approvalSource: gate.approvalSource } : {}) }
      : {};
    const changes = diffApp(desired, live?.raw ?? null);
    const previousVersion = live?.version ?? null;

    if (live !== null && changes.length === 0) {
      let current = live;
      if (live.deployments.length > 0) {
        // The same definition is already being rolled out (e.g. a concurrent apply): wait for it instead of
        // reporting success early; it is not ours to roll back.
        ctx.onProgress?.({
          kind: 'phase',
          appId,
          message: `the same definition is being deployed (deployment ${live.deployments[0]}); waiting for it`,
        });
        const outcome = await waitForDeployment(ctx, {
          appId,
          deploymentId: live.deployments[0],
          deadline,
          expect: (app) => holds(desired, app),
        });
        if (!outcome.ok || outcome.app === null) {
          const message = outcome.ok ? `${appId} disappeared` : outcome.message;
          throw new C2CError('DEPLOY_FAILED', `${message}; nothing was sent, and the deployment is not ours to roll back`, {
            hint: `see 'deploy status --env ${environment}'; 'deploy rollback --service ${req.service.name} --env ${environment}' restores the previous version`,
            details: {
              service: req.service.name,
              environment,
              appId,
              failedVersion: live.version,
              rolledBack: false,
              previousVersion,
              reason: message,
            } satisfies DeployFailure,
          });
        }
        current = outcome.app;
      }
      await ctx.audit?.record({
        type: 'apply.noop',
        ...auditBase,
        ...approval,
        appVersion: current.version ?? undefined,
        durationMs: Date.now() - started,
      });
      ctx.onProgress?.({ kind: 'done', appId, message: `already runs this definition (version ${current.version}); nothing sent` });
      return {
        outcome: 'noop',
        service: req.service.name,
        environment,
        appId,
        image: req.image,
        version: current.version,
        previousVersion: current.version,
        diff: [],
        tasks: { healthy: current.tasksHealthy, running: current.tasksRunning, wanted: current.instances },
        durationMs: Date.now() - started,
        marathonMs: marathonMs(),
      };
    }

    let ref: DeploymentRef;
    try {
      ctx.onProgress?.({ kind: 'phase', appId, message: `submitting ${changes.length} changed field(s)` });
      ref = await ctx.client.putApp(appId, desired, { force: req.force });
    } catch (err) {
      if (err instanceof C2CError && err.code === 'MARATHON_LOCKED' && !req.force) {
        const holders = (err.details as { deploymentIds?: string[] } | undefined)?.deploymentIds ?? [];
        ctx.onProgress?.({ kind: 'waiting-for-lock', appId, deploymentIds: holders });
        if (holders.length > 0 && (await waitForDeploymentsGone(ctx, holders, deadline))) continue;
        if (holders.length === 0 && Date.now() < deadline) {
          await sleep(ctx.pollIntervalMs ?? DEFAULT_POLL_MS);
          continue;
        }
        throw new C2CError(
          'DEPLOY_FAILED',
          `${appId} is locked by deployment ${holders.join(', ') || '(unknown)'} and it did not finish within the timeout; nothing was changed`,
          {
            hint: `wait for it ('deploy status --env ${environment}'), raise --timeout, or pass --force to cancel it`,
            details: {
              service: req.service.name,
              environment,
              appId,
              failedVersion: null,
              rolledBack: false,
              previousVersion,
              reason: 'locked',
            } satisfies DeployFailure,
          },
        );
      }
      await ctx.audit?.record({
        type: 'apply.failed',
        ...auditBase,
        ...approval,
        previousVersion: previousVersion ?? undefined,
        reason: (err as Error).message,
        durationMs: Date.now() - started,
      });
      throw err;
    }

    await ctx.audit?.record({
      type: 'apply.started',
      ...auditBase,
      ...approval,
      appVersion: ref.version,
      previousVersion: previousVersion ?? undefined,
      deploymentId: ref.deploymentId,
    });
    ctx.onProgress?.({ kind: 'submitted', appId, deploymentId: ref.deploymentId, version: ref.version });
    const outcome = await waitForDeployment(ctx, { appId, deploymentId: ref.deploymentId, deadline, expect: (app) => holds(desired, app) });
    if (outcome.ok && outcome.app) {
      const app = outcome.app;
      await ctx.audit?.record({
        type: 'apply.succeeded',
        ...auditBase,
        ...approval,
        appVersion: app.version ?? ref.version,
        previousVersion: previousVersion ?? undefined,
        deploymentId: ref.deploymentId,
        durationMs: Date.now() - started,
      });
      ctx.onProgress?.({ kind: 'done', appId, message: `healthy, version ${app.version}` });
      return {
        outcome: 'deployed',
        service: req.service.name,
        environment,
        appId,
        image: req.image,
        version: app.version,
        previousVersion,
        deploymentId: ref.deploymentId,
        diff: changes,
        tasks: { healthy: app.tasksHealthy, running: app.tasksRunning, wanted: app.instances },
        durationMs: Date.now() - started,
        marathonMs: marathonMs(),
      };
    }
    const failure = outcome as Extract<WaitOutcome, { ok: false }>;
    const failedVersion = failure.app?.version ?? ref.version;
    if (failure.reason === 'superseded') {
      // Someone else's change replaced ours: rolling back would undo theirs, so report and stop.
      await ctx.audit?.record({
        type: 'apply.failed',
        ...auditBase,
        ...approval,
        appVersion: ref.version,
        previousVersion: previousVersion ?? undefined,
        deploymentId: ref.deploymentId,
        reason: failure.message,
        durationMs: Date.now() - started,
      });
      throw new C2CError('DEPLOY_FAILED', `${failure.message}; not rolled back (the change that replaced it is kept)`, {
        hint: `see 'deploy status --env ${environment}' and the app's versions`,
        details: {
          service: req.service.name,
          environment,
          appId,
          failedVersion,
          deploymentId: ref.deploymentId,
          rolledBack: false,
          previousVersion,
          reason: failure.message,
        } satisfies DeployFailure,
      });
    }
    const rollback = await rollBack(ctx, { appId, deploymentId: ref.deploymentId, stillRunning: failure.stillRunning, previous: live });
    const details: DeployFailure = {
      service: req.service.name,
      environment,
      appId,
      failedVersion,
      deploymentId: ref.deploymentId,
      rolledBack: rollback.ok,
      rolledBackTo: rollback.ok ? rollback.version : undefined,
      previousVersion,
      reason: failure.message,
    };
    if (rollback.ok) {
      await ctx.audit?.record({
        type: 'apply.rolled-back',
        ...auditBase,
        ...approval,
        appVersion: failedVersion ?? undefined,
        previousVersion: previousVersion ?? undefined,
        deploymentId: ref.deploymentId,
        reason: failure.message,
        durationMs: Date.now() - started,
      });
      const to =
        rollback.version === null
          ? `removed the new app ${appId}`
          : `rolled back to ${rollback.version}${previousVersion && rollback.version !== previousVersion ? ` (the definition of ${previousVersion})` : ''}`;
      throw new C2CError('DEPLOY_FAILED_ROLLED_BACK', `deploy of ${req.image} to ${appId} failed, ${to}: ${failure.message}`, {
        hint: `the failed version ${failedVersion} stays in Marathon's history ('deploy rollback --service ${req.service.name} --env ${environment} --to ${failedVersion}' would restore it); check the image and its health check`,
        details,
      });
    }
    await ctx.audit?.record({
      type: 'apply.failed',
      ...auditBase,
      ...approval,
      appVersion: failedVersion ?? undefined,
      previousVersion: previousVersion ?? undefined,
      deploymentId: ref.deploymentId,
      reason: `${failure.message}; rollback also failed: ${rollback.message}`,
      durationMs: Date.now() - started,
    });
    throw new C2CError(
      'DEPLOY_FAILED_ROLLBACK_FAILED',
      `deploy of ${req.image} to ${appId} failed, rollback also failed: ${failure.message}; rollback: ${rollback.message}`,
      {
        hint: `look at 'deploy status --env ${environment}' now; restore by hand with 'deploy rollback --service ${req.service.name} --env ${environment}${previousVersion ? ` --to ${previousVersion}` : ''}'`,
        details,
      },
    );
  }
}

/** Outcome of an automatic rollback. `version` null means the app was removed (a first deploy was reverted). */
type RollbackOutcome = { ok: true; version: string | null } | { ok: false; message: string };

/**
 * Reverts a failed deploy: while the deployment still runs, DELETE it so Marathon reverts exactly that plan (§11 A);
 * when it already finished but the tasks are unhealthy, restore the previous version (§11 C). Then wait until the old
 * definition is healthy again.
 */
async function rollBack(
  ctx: DeployContext,
  input: { appId: string; deploymentId: string; stillRunning: boolean; previous: MarathonAppInfo | null },
): Promise<RollbackOutcome> {
  const { appId, previous } = input;
  const deadline = Date.now() + rollbackTimeout(ctx);
  const expect = (app: MarathonAppInfo | null) => (previous === null ? app === null : app !== null && sameContent(previous, app));
  try {
    let ref: DeploymentRef | null = null;
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
    if (!outcome.ok) return { ok: false, message: outcome.message };
    return { ok: true, version: outcome.app?.version ?? null };
  } catch (err) {
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
