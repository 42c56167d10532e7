import type { NewAuditEvent } from '../audit/types';
import { EnvironmentName, ServiceDefinition } from '../catalog/types';
import { canonicalJson } from '../canonical-json';
import { C2CError, interruption } from '../errors';
import { READ_ONLY_FIELDS, STAMP_LABEL_KEYS } from '../marathon/app';
import { DeploymentRef, MarathonAppInfo, stripNulls } from '../marathon/client';
import { marathonAppId } from '../marathon/render';
import { isSealedHook } from './guard';
import { DEFAULT_TIMEOUT_MS, DeployContext } from './types';
import { waitForDeployment, waitForDeploymentsGone } from './wait';

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

/**
 * Restores the previous version of a service (or `to`) with `PUT {"version": ts}` (§11 C) and waits until it is
 * healthy. "Previous" = the newest stored version older than the current one whose content differs (a re-submit of
 * the same release does not count), never a known-bad one, and the newest the rule allows (without a rule: a known-good
 * one when any is known; the version list is not a history, §8). Production needs the gate's sealed rule.
 * @throws C2CError PRODUCTION_NEEDS_GATE (no rule for production), ROLLBACK_NO_TARGET (nothing sent), the rule's
 *   refusal (nothing sent), DEPLOY_FAILED (the restored version did not get healthy)
 */
export async function rollbackService(ctx: DeployContext, req: RollbackRequest): Promise<RollbackResult> {
  const started = Date.now();
  const deadline = started + (ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const appId = marathonAppId(req.service.name, req.environment);
  if (req.environment === 'production' && !isSealedHook(req.rule)) throw productionNeedsGate();
  const live = await ctx.client.getApp(appId);
  if (!live) {
    throw new C2CError('ROLLBACK_NO_TARGET', `${appId} does not exist in Marathon; there is nothing to roll back`, {
      hint: `deploy it first: 'deploy apply --service ${req.service.name} --env ${req.environment} --image IMAGE'`,
    });
  }
  const target = await findTarget(ctx, req, appId, live);
  const wantKey = contentKey(target.definition);
  const docker = (target.definition.container as { docker?: { image?: string } } | undefined)?.docker;
  const image = docker?.image ?? null;
  const record = (
    type: 'rollback.started' | 'rollback.failed' | 'rollback.interrupted' | 'rollback.succeeded',
    extra: Partial<NewAuditEvent>,
  ) =>
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
  await record('rollback.started', {});
  ctx.onProgress?.({
    kind: 'phase',
    appId,
    message: `restoring version ${target.version} (running ${live.version})${req.rule?.note ?? ''}`,
  });
  const ref = await submitRollback(ctx, { appId, target: target.version, force: req.force, deadline, record });
  ctx.onProgress?.({ kind: 'submitted', appId, deploymentId: ref.deploymentId, version: ref.version });
  let outcome: Awaited<ReturnType<typeof waitForDeployment>>;
  try {
    outcome = await waitForDeployment(ctx, {
      appId,
      deploymentId: ref.deploymentId,
      deadline,
      expect: (app) => app !== null && contentKey(app.raw) === wantKey,
    });
  } catch (err) {
    if (!(err instanceof C2CError && (err.code === 'INTERRUPTED' || err.code === 'TERMINATED'))) throw err;
    await record('rollback.interrupted', { deploymentId: ref.deploymentId, reason: err.code === 'TERMINATED' ? 'SIGTERM' : 'SIGINT' });
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
  if (!outcome.ok) {
    await record('rollback.failed', { deploymentId: ref.deploymentId, reason: outcome.message });
    throw new C2CError('DEPLOY_FAILED', `rollback of ${appId} to ${target.version} failed: ${outcome.message}`, {
      hint: `check 'deploy status --env ${req.environment}'; pick another version with --to (see GET /v2/apps${appId}/versions)`,
    });
  }
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

/** Sends the rollback; a lock (409) is waited out until the deadline, then reported. */
async function submitRollback(
  ctx: DeployContext,
  input: {
    appId: string;
    target: string;
    force?: boolean;
    deadline: number;
    record: (type: 'rollback.failed', extra: Partial<NewAuditEvent>) => Promise<unknown> | undefined;
  },
): Promise<DeploymentRef> {
  const { appId, target } = input;
  for (;;) {
    try {
      return await ctx.client.rollbackToVersion(appId, target, { force: input.force });
    } catch (err) {
      const locked = err instanceof C2CError && err.code === 'MARATHON_LOCKED';
      if (locked) {
        const holders = (err.details as { deploymentIds?: string[] } | undefined)?.deploymentIds ?? [];
        ctx.onProgress?.({ kind: 'waiting-for-lock', appId, deploymentIds: holders });
        if (await waitForDeploymentsGone(ctx, holders, input.deadline)) continue;
      }
      await input.record('rollback.failed', { reason: (err as Error).message });
      if (locked) {
        throw new C2CError(
          'DEPLOY_FAILED',
          `rollback of ${appId} to ${target} not sent: the app stayed locked by another deployment until the timeout`,
          { hint: 'pass --force to cancel the deployment that holds it (what an emergency usually wants)' },
        );
      }
      throw err;
    }
  }
}
