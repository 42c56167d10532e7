import type { NewAuditEvent } from '../audit/types';
import { EnvironmentName, ServiceDefinition } from '../catalog/types';
import { canonicalJson } from '../canonical-json';
import { C2CError, interruption } from '../errors';
import { READ_ONLY_FIELDS, STAMP_LABEL_KEYS } from '../marathon/app';
import { DeploymentRef, MarathonAppInfo, stripNulls } from '../marathon/client';
import { marathonAppId } from '../marathon/render';
import { isSealedHook } from './guard';
import { rollBack } from './apply-service';
import { DEFAULT_MAX_TASK_FAILURES, DEFAULT_TIMEOUT_MS, DeployContext } from './types';
import { deployWaitDeadline, isOutage, waitForDeployment, waitForDeploymentsGone, WaitOutcome } from './wait';

export interface RollbackRequest {
  readonly service: ServiceDefinition;
  readonly environment: EnvironmentName;
  /** A stored version to restore; default: the newest one before the current that the rule (or the known lists) allows. */
  readonly to?: string;
  /** Versions known to have run healthy (preferred when picking "the previous", when there is no rule). */
  readonly knownGoodVersions?: readonly string[];
  /** Versions known to have failed: never picked as "the previous". */
  readonly knownBadVersions?: readonly string[];
  /** Cancel a deployment that holds the app instead of waiting for it. */
  readonly force?: boolean;
  /**
   * What a target must be (production: known good), made and sealed by the gate (lib/gate/rollback-rules.ts); production
   * is refused without one.
   */
  readonly rule?: TargetRule;
}

/** The gate's rule for a rollback target, and what it adds to the records; sealed by the gate (lib/deploy/guard.ts). */
export interface TargetRule {
  /** Why `version` may not be restored; undefined when it may. */
  readonly reject: (version: string, definition: Record<string, unknown>) => string | undefined;
  /** Restore what the rule rejects: a named `to`, or the newest version that did not fail when none passes (break-glass). */
  readonly override: boolean;
  /** The refusal for a named `to` the rule rejects (nothing is sent). */
  readonly refusal: (message: string) => C2CError;
  /** What the rule looks for, for "has no earlier … to roll back to", and the hint then. */
  readonly wanted: string;
  readonly hint: string;
  /** Who restores, when not `ctx.actor` (the break-glass signer). */
  readonly actor?: string;
  /** Added to every audit record of the rollback. */
  readonly auditFields?: Partial<NewAuditEvent>;
  /** Added to the progress line that names the target. */
  readonly note?: string;
}

export interface RollbackResult {
  readonly service: string;
  readonly environment: EnvironmentName;
  readonly appId: string;
  /** The version that ran before. */
  readonly from: string | null;
  /** The stored version whose definition was restored. */
  readonly restored: string;
  /** The app's version now (Marathon writes the restored content as a new version, §11 C). */
  readonly version: string | null;
  readonly image: string | null;
  readonly deploymentId: string;
  readonly durationMs: number;
}

const NOT_CONTENT = new Set(READ_ONLY_FIELDS);

/** What a stored definition runs, without version bookkeeping and stamp labels: equal keys = the same release. */
export function contentKey(definition: Readonly<Record<string, unknown>>): string {
  const clean = stripNulls(definition) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(clean)) if (!NOT_CONTENT.has(k)) out[k] = v;
  const labels = (out.labels ?? {}) as Record<string, string>;
  out.labels = Object.fromEntries(Object.entries(labels).filter(([k]) => !STAMP_LABEL_KEYS.includes(k)));
  return canonicalJson(out);
}

/** The stored version a rollback restores, and its definition. */
interface Target {
  readonly version: string;
  readonly definition: Record<string, unknown>;
}

/** The audit records a rollback writes. */
type RollbackEventType =
  'rollback.started' | 'rollback.failed' | 'rollback.interrupted' | 'rollback.succeeded' | 'rollback.reverted' | 'rollback.unknown';

/** One rollback under way: what it restores, over what, and how it records. */
interface RollbackRun {
  readonly ctx: DeployContext;
  readonly req: RollbackRequest;
  readonly appId: string;
  readonly live: MarathonAppInfo;
  readonly target: Target;
  readonly image: string | null;
  readonly started: number;
  readonly deadline: number;
  readonly record: (type: RollbackEventType, extra: Partial<NewAuditEvent>) => Promise<unknown> | undefined;
}

/**
 * Restores the previous version of a service (or `to`) with `PUT {"version": ts}` (§11 C) and waits until it is
 * healthy. "Previous" = the newest stored version older than the current one whose content differs (a re-submit of
 * the same release does not count), never a known-bad one, and the newest the rule allows (without a rule: a known-good
 * one when any is known; the version list is not a history, §8). Production needs the gate's sealed rule.
 *
 * A rollback that does not finish is never left half done: when the restored version fails its health checks or
 * misses the deadline, the version that was live is restored (Marathon reverts the deployment, §11 A, or the live
 * version is put back, §11 C) and `rollback.reverted` recorded; when Marathon stops answering, or that revert does not
 * finish either, `rollback.unknown` is recorded and the error names the commands that resolve it.
 * @throws C2CError PRODUCTION_NEEDS_GATE (no rule for production), ROLLBACK_NO_TARGET (nothing sent), the rule's
 *   refusal (nothing sent), DEPLOY_FAILED (the restored version did not get healthy; what ran before runs again),
 *   DEPLOY_STATE_UNKNOWN (what runs is not known)
 */
export async function rollbackService(ctx: DeployContext, req: RollbackRequest): Promise<RollbackResult> {
  const started = Date.now();
  const appId = marathonAppId(req.service.name, req.environment);
  if (req.environment === 'production' && !isSealedHook(req.rule)) throw productionNeedsGate();
  const live = await ctx.client.getApp(appId);
  if (!live) {
    throw new C2CError('ROLLBACK_NO_TARGET', `${appId} does not exist in Marathon; there is nothing to roll back`, {
      hint: `deploy it first: 'deploy apply --service ${req.service.name} --env ${req.environment} --image IMAGE'`,
    });
  }
  const target = await findTarget(ctx, req, appId, live);
  const docker = (target.definition.container as { docker?: { image?: string } } | undefined)?.docker;
  const image = docker?.image ?? null;
  const record: RollbackRun['record'] = (type, extra) =>
    ctx.audit?.record({
      type,
      service: req.service.name,
      environment: req.environment,
      actor: req.rule?.actor ?? ctx.actor,
      previousVersion: live.version ?? undefined,
      ...(image ? { image } : {}),
      ...req.rule?.auditFields,
      appVersion: target.version,
      ...extra,
      ...(type === 'rollback.started' ? {} : { durationMs: Date.now() - started }),
    });
  const run: RollbackRun = {
    ctx,
    req,
    appId,
    live,
    target,
    image,
    started,
    deadline: started + (ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    record,
  };
  await record('rollback.started', {});
  ctx.onProgress?.({
    kind: 'phase',
    appId,
    message: `restoring version ${target.version} (running ${live.version})${req.rule?.note ?? ''}`,
  });
  const ref = await submitRollback(run);
  ctx.onProgress?.({ kind: 'submitted', appId, deploymentId: ref.deploymentId, version: ref.version });
  const outcome = await awaitRollback(run, ref);
  if (!outcome.ok) return failed(run, ref, outcome);
  const version = outcome.app?.version ?? null;
  await record('rollback.succeeded', { appVersion: version ?? target.version, deploymentId: ref.deploymentId });
  return {
    service: req.service.name,
    environment: req.environment,
    appId,
    from: live.version,
    restored: target.version,
    version,
    image,
    deploymentId: ref.deploymentId,
    durationMs: Date.now() - started,
  };
}

/**
 * Waits for the restored version, leaving a third of the deadline to put back what ran before if it does not get
 * healthy. An interrupt leaves the deployment running (recorded, and said); a read that fails is `unknown`.
 */
async function awaitRollback(run: RollbackRun, ref: DeploymentRef): Promise<WaitOutcome> {
  const { ctx, req, appId, target } = run;
  const wantKey = contentKey(target.definition);
  try {
    return await waitForDeployment(ctx, {
      appId,
      deploymentId: ref.deploymentId,
      deadline: deployWaitDeadline(ctx, run.started, run.deadline),
      expect: (app) => app !== null && contentKey(app.raw) === wantKey,
      failFast: { version: ref.version, maxFailures: ctx.maxTaskFailures ?? DEFAULT_MAX_TASK_FAILURES },
    });
  } catch (err) {
    if (!(err instanceof C2CError && (err.code === 'INTERRUPTED' || err.code === 'TERMINATED'))) {
      const message = `reading Marathon failed after the rollback was sent: ${err instanceof Error ? err.message : String(err)}`;
      return { ok: false, reason: 'unknown', stillRunning: true, app: null, message };
    }
    await run.record('rollback.interrupted', { deploymentId: ref.deploymentId, reason: err.code === 'TERMINATED' ? 'SIGTERM' : 'SIGINT' });
    throw interruption(
      ctx.signal,
      `interrupted: rollback deployment ${ref.deploymentId} of ${appId} (to version ${target.version}, started by ${ctx.actor}) keeps running`,
      {
        service: req.service.name,
        environment: req.environment,
        appId,
        deploymentId: ref.deploymentId,
        version: target.version,
        owner: ctx.actor,
      },
    );
  }
}

/**
 * The restored version did not get healthy: put back what ran before and say so (DEPLOY_FAILED), or, when Marathon
 * does not answer or that does not finish either, record and say that the state is unknown, with the commands that
 * resolve it. Superseded (someone else's change replaced ours): nothing is undone.
 */
async function failed(run: RollbackRun, ref: DeploymentRef, outcome: Extract<WaitOutcome, { ok: false }>): Promise<never> {
  const { ctx, req, appId, target, live } = run;
  const sent = { deploymentId: ref.deploymentId };
  const what = `rollback of ${appId} to ${target.version}`;
  if (outcome.reason === 'superseded') {
    await run.record('rollback.failed', { ...sent, reason: outcome.message });
    throw new C2CError('DEPLOY_FAILED', `${what} failed: ${outcome.message}; the change that replaced it is kept`, {
      hint: `check 'deploy status --env ${req.environment}'`,
    });
  }
  if (outcome.reason === 'unknown') throw await unknown(run, ref, outcome.message);
  ctx.onProgress?.({ kind: 'rollback', appId, message: `version ${target.version} did not get healthy: putting back ${live.version}` });
  const revert = await rollBack(ctx, { appId, deploymentId: ref.deploymentId, stillRunning: outcome.stillRunning, previous: live });
  if (revert.ok !== true) {
    // Not put back: what runs is not known (nor whether the target failed or Marathon stopped answering).
    const why =
      revert.ok === 'started'
        ? `putting back ${live.version} was sent (deployment ${revert.deploymentId}) but not confirmed healthy`
        : `putting back ${live.version} failed: ${revert.message}`;
    throw await unknown(run, ref, `${outcome.message}; ${why}`);
  }
  await run.record('rollback.failed', { ...sent, reason: outcome.message });
  await run.record('rollback.reverted', {
    ...sent,
    reason: `${target.version} did not get healthy (${outcome.message}); ${live.version} runs again`,
  });
  throw new C2CError('DEPLOY_FAILED', `${what} failed: ${outcome.message}; version ${live.version} (what ran before) runs again`, {
    hint: `pick another version with --to (see 'deploy history --service ${req.service.name}' and GET /v2/apps${appId}/versions)`,
  });
}

/** Records that the rollback's state is unknown and returns the error that says how to resolve it. */
async function unknown(run: RollbackRun, ref: DeploymentRef | undefined, message: string): Promise<C2CError> {
  const { req, appId, target, live } = run;
  await run.record('rollback.unknown', { ...(ref ? { deploymentId: ref.deploymentId } : {}), reason: message });
  const s = `--service ${req.service.name} --env ${req.environment}`;
  return new C2CError(
    'DEPLOY_STATE_UNKNOWN',
    `state unknown: ${appId} may run version ${target.version} (rolling back from ${live.version}) or be part way; ${message}`,
    {
      hint: `when Marathon answers, 'deploy status ${s}' shows what runs; to put back what ran before: 'deploy rollback ${s} --to ${live.version}'${req.environment === 'production' ? ' (with --break-glass --reason TEXT when it is not known good)' : ''}`,
      details: { service: req.service.name, environment: req.environment, appId, version: target.version, previousVersion: live.version },
    },
  );
}

/** The refusal for a production rollback that does not come through the gate (exit 2: nothing was sent). */
function productionNeedsGate(): C2CError {
  return new C2CError(
    'PRODUCTION_NEEDS_GATE',
    "production is rolled back only under the gate's rules (a known-good version, or a signed break-glass statement)",
    { hint: "run 'deploy rollback --service S --env production'" },
  );
}

/** Picks the version to restore: `to` (stored, and allowed by the rule), or the newest earlier one that differs and is allowed. */
async function findTarget(ctx: DeployContext, req: RollbackRequest, appId: string, live: MarathonAppInfo): Promise<Target> {
  const rule = req.rule;
  const versions = await ctx.client.listVersions(appId);
  if (req.to !== undefined) {
    if (!versions.includes(req.to)) {
      throw new C2CError('ROLLBACK_NO_TARGET', `version '${req.to}' is not stored for ${appId}`, {
        hint: `stored versions (newest first): ${versions.slice(0, 5).join(', ')}${versions.length > 5 ? ', …' : ''}`,
      });
    }
    const definition = await ctx.client.getVersion(appId, req.to);
    const why = rule?.reject(req.to, definition);
    if (rule && why !== undefined && !rule.override) throw rule.refusal(`refusing to restore ${appId} to ${req.to}: ${why}`);
    return { version: req.to, definition };
  }
  const bad = new Set(req.knownBadVersions ?? []);
  const known = new Set(req.knownGoodVersions ?? []);
  const currentKey = contentKey(live.raw);
  const currentTime = live.version ? Date.parse(live.version) : Number.POSITIVE_INFINITY;
  let fallback: Target | undefined;
  for (const v of versions.filter((x) => Date.parse(x) < currentTime && !bad.has(x)).slice(0, 30)) {
    const definition = await ctx.client.getVersion(appId, v);
    if (contentKey(definition) === currentKey) continue;
    const ok = rule ? rule.reject(v, definition) === undefined : known.size === 0 || known.has(v);
    if (ok) return { version: v, definition };
    fallback ??= { version: v, definition };
  }
  // Without a rule (or with the rule overridden) take the newest version that did not fail when none is known good.
  if (fallback && (!rule || rule.override)) return fallback;
  throw new C2CError(
    'ROLLBACK_NO_TARGET',
    `${appId} has no earlier ${rule ? rule.wanted : 'version with different content'} to roll back to`,
    {
      hint: rule ? rule.hint : `name one with --to VERSION (stored: ${versions.slice(0, 5).join(', ')})`,
    },
  );
}

/**
 * Sends the rollback; a lock (409) is waited out until the deadline, then reported (nothing sent). Marathon not
 * answering the PUT: whether it arrived is not known (rollback.unknown); any other answer: nothing changed.
 */
async function submitRollback(run: RollbackRun): Promise<DeploymentRef> {
  const { ctx, appId, target } = run;
  for (;;) {
    try {
      return await ctx.client.rollbackToVersion(appId, target.version, { force: run.req.force });
    } catch (err) {
      const locked = err instanceof C2CError && err.code === 'MARATHON_LOCKED';
      if (locked) {
        const holders = (err.details as { deploymentIds?: string[] } | undefined)?.deploymentIds ?? [];
        ctx.onProgress?.({ kind: 'waiting-for-lock', appId, deploymentIds: holders });
        if (await waitForDeploymentsGone(ctx, holders, run.deadline)) continue;
      }
      if (isOutage(err)) throw await unknown(run, undefined, `sending it failed: ${(err as Error).message}`);
      await run.record('rollback.failed', { reason: (err as Error).message });
      if (locked) {
        throw new C2CError(
          'DEPLOY_FAILED',
          `rollback of ${appId} to ${target.version} not sent: the app stayed locked by another deployment until the timeout`,
          { hint: 'pass --force to cancel the deployment that holds it (what an emergency usually wants)' },
        );
      }
      throw err;
    }
  }
}
