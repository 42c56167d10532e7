import type { AuditEvent } from '../audit/types';
import { EnvironmentName, ServiceDefinition } from '../catalog/types';
import { C2CError, ErrorCode, interruption } from '../errors';
import { canonicalJson } from '../canonical-json';
import { AllowedSigners, NAMESPACES, statement, verifySignature } from '../signing';
import { STAMP_LABEL_KEYS, STAMP_LABELS } from '../marathon/app';
import { DeploymentRef, stripNulls } from '../marathon/client';
import { marathonAppId } from '../marathon/render';
import { DEFAULT_TIMEOUT_MS, DeployContext } from './types';
import { waitForDeployment, waitForDeploymentsGone } from './wait';

export interface RollbackRequest {
  readonly service: ServiceDefinition;
  readonly environment: EnvironmentName;
  /** A stored version to restore; default: the newest known-good one before the current. */
  readonly to?: string;
  /**
   * The audit records of this service in this environment (malformed lines already skipped): which versions ran
   * healthy, which came from an approved plan, which failed. In production only such versions are targets.
   */
  readonly history?: readonly AuditEvent[];
  /** More versions known to have run healthy (staging; preferred when picking "the previous"). */
  readonly knownGoodVersions?: readonly string[];
  /** More versions known to have failed: never picked as "the previous". */
  readonly knownBadVersions?: readonly string[];
  /** Cancel a deployment that holds the app instead of waiting for it (production: break-glass only). */
  readonly force?: boolean;
  /** Production outside the rules (a version not known good, `--force`): a signed, recorded reason. */
  readonly breakGlass?: BreakGlass;
  /** @default new Date() */
  readonly now?: Date;
}

/** A signed break-glass statement (`deploy rollback --break-glass --reason TEXT`). */
export interface BreakGlass {
  readonly reason: string;
  /** When it was signed (ISO); valid for 10 minutes, so an old signature cannot be replayed. */
  readonly time: string;
  readonly signature: string;
  readonly signers: AllowedSigners;
}

/** How long a break-glass signature stays valid. */
export const BREAK_GLASS_VALID_MS = 10 * 60_000;

/** The statement a break-glass rollback signs: which service, environment, target and force, why, and when. */
export function breakGlassStatement(f: {
  service: string;
  environment: string;
  to: string | undefined;
  force: boolean;
  reason: string;
  time: string;
}): string {
  return statement({
    statement: 'c2c.break-glass/v1',
    action: 'rollback',
    service: f.service,
    environment: f.environment,
    to: f.to ?? null,
    force: f.force,
    reason: f.reason,
    time: f.time,
  });
}

/** Versions the audit log saw healthy (with the plan they came from) and versions it saw fail. */
export interface VersionHistory {
  /** version -> plan id (empty string when no plan is recorded). */
  readonly good: ReadonlyMap<string, string>;
  readonly bad: ReadonlySet<string>;
  /** Plan ids with an approval record. */
  readonly approvedPlans: ReadonlySet<string>;
}

/**
 * Reads the audit records: a version is good when an apply of it succeeded, or a rollback (not break-glass) to it
 * succeeded; bad when an apply of it failed or was rolled back, or a rollback to it failed.
 */
export function versionHistory(events: readonly AuditEvent[]): VersionHistory {
  const good = new Map<string, string>();
  const bad = new Set<string>();
  const approvedPlans = new Set<string>();
  for (const e of events) {
    if (e.type === 'approval.recorded' && e.planId) approvedPlans.add(e.planId);
    if (!e.appVersion) continue;
    if (e.type === 'apply.succeeded' || (e.type === 'rollback.succeeded' && !e.breakGlass)) good.set(e.appVersion, e.planId ?? '');
    if (e.type === 'apply.rolled-back' || e.type === 'apply.failed' || e.type === 'rollback.failed') bad.add(e.appVersion);
  }
  for (const v of bad) good.delete(v);
  return { good, bad, approvedPlans };
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

const NOT_CONTENT = new Set([
  'version',
  'versionInfo',
  'tasksStaged',
  'tasksRunning',
  'tasksHealthy',
  'tasksUnhealthy',
  'deployments',
  'tasks',
  'lastTaskFailure',
  'tasksStats',
  'readinessCheckResults',
]);

/** What a stored definition runs, without version bookkeeping and stamp labels: equal keys = the same release. */
export function contentKey(definition: Readonly<Record<string, unknown>>): string {
  const clean = stripNulls(definition) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(clean)) if (!NOT_CONTENT.has(k)) out[k] = v;
  const labels = (out.labels ?? {}) as Record<string, string>;
  out.labels = Object.fromEntries(Object.entries(labels).filter(([k]) => !STAMP_LABEL_KEYS.includes(k)));
  return canonicalJson(out);
}

/** A production rollback refused by the rules (exit 3, recorded as `gate.refused` by the caller). */
function refuse(code: ErrorCode, message: string, hint: string): never {
  throw new C2CError(code, message, { hint });
}

/**
 * Restores the previous healthy version of a service (or `to`) with `PUT {"version": ts}` (§11 C) and waits until it
 * is healthy. "Previous" = the newest stored version older than the current one whose content differs (a re-submit of
 * the same release does not count), never one the audit log saw fail, preferring versions it saw healthy (the version
 * list is not a history, §8).
 *
 * In production it needs no approval (it must stay fast) but only goes back to a known-good version: one the audit log
 * saw healthy there, deployed from an approved plan (its `c2c.plan-id` label), never one that failed. Anything else,
 * and `force`, needs a signed break-glass statement with a reason, which is verified here and recorded loudly.
 * @throws C2CError ROLLBACK_NO_TARGET (nothing sent), GATE_ROLLBACK_NOT_KNOWN_GOOD / GATE_BREAK_GLASS_* (refused,
 *   nothing sent), DEPLOY_FAILED (the restored version did not get healthy)
 */
export async function rollbackService(ctx: DeployContext, req: RollbackRequest): Promise<RollbackResult> {
  const started = Date.now();
  const deadline = started + (ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const production = req.environment === 'production';
  const appId = marathonAppId(req.service.name, req.environment);
  const breakGlassHint = `if you must, say why: 'deploy rollback --service ${req.service.name} --env ${req.environment}${req.to ? ` --to ${req.to}` : ''}${req.force ? ' --force' : ''} --break-glass --reason TEXT' (signed with your key, recorded as break-glass)`;
  const signer = req.breakGlass ? await verifyBreakGlass(req, req.breakGlass) : undefined;
  if (production && req.force && !signer) {
    refuse('GATE_FORCE_NEEDS_BREAK_GLASS', '--force cancels a production deployment: that is break-glass only', breakGlassHint);
  }
  const live = await ctx.client.getApp(appId);
  if (!live) {
    throw new C2CError('ROLLBACK_NO_TARGET', `${appId} does not exist in Marathon; there is nothing to roll back`, {
      hint: `deploy it first: 'deploy apply --service ${req.service.name} --env ${req.environment} --image IMAGE'`,
    });
  }
  const history = versionHistory(req.history ?? []);
  const bad = new Set([...history.bad, ...(req.knownBadVersions ?? [])]);
  const known = new Set([...history.good.keys(), ...(req.knownGoodVersions ?? [])]);
  /** Production's rule for a target: seen healthy here, from an approved plan (its label), never failed. */
  const knownGood = (version: string, definition: Record<string, unknown>): string | undefined => {
    if (bad.has(version)) return `version ${version} failed in ${req.environment}`;
    if (!history.good.has(version))
      return `version ${version} was never seen healthy in ${req.environment} (no successful apply or rollback of it in the audit log)`;
    const planId = ((definition.labels ?? {}) as Record<string, string>)[STAMP_LABELS.planId];
    if (!planId || !history.approvedPlans.has(planId)) {
      return `version ${version} did not come from an approved plan (${planId ? `plan ${planId.slice(0, 12)} has no approval record` : `no ${STAMP_LABELS.planId} label`})`;
    }
    return undefined;
  };
  const versions = await ctx.client.listVersions(appId);
  let target: string | undefined;
  let targetDefinition: Record<string, unknown> | undefined;
  if (req.to !== undefined) {
    if (!versions.includes(req.to)) {
      throw new C2CError('ROLLBACK_NO_TARGET', `version '${req.to}' is not stored for ${appId}`, {
        hint: `stored versions (newest first): ${versions.slice(0, 5).join(', ')}${versions.length > 5 ? ', …' : ''}`,
      });
    }
    target = req.to;
    targetDefinition = await ctx.client.getVersion(appId, req.to);
    const why = production ? knownGood(req.to, targetDefinition) : undefined;
    if (why !== undefined && !signer) {
      refuse('GATE_ROLLBACK_NOT_KNOWN_GOOD', `refusing to restore ${appId} to ${req.to}: ${why}`, breakGlassHint);
    }
  } else {
    const currentKey = contentKey(live.raw);
    const currentTime = live.version ? Date.parse(live.version) : Number.POSITIVE_INFINITY;
    let fallback: { version: string; definition: Record<string, unknown> } | undefined;
    for (const v of versions.filter((x) => Date.parse(x) < currentTime && !bad.has(x)).slice(0, 30)) {
      const definition = await ctx.client.getVersion(appId, v);
      if (contentKey(definition) === currentKey) continue;
      const ok = production ? knownGood(v, definition) === undefined : known.size === 0 || known.has(v);
      if (ok) {
        target = v;
        targetDefinition = definition;
        break;
      }
      fallback ??= { version: v, definition };
    }
    // Staging (or break-glass) takes the newest version that did not fail when none is known good.
    if (target === undefined && fallback && (!production || signer)) {
      target = fallback.version;
      targetDefinition = fallback.definition;
    }
    if (target === undefined || targetDefinition === undefined) {
      throw new C2CError(
        'ROLLBACK_NO_TARGET',
        `${appId} has no earlier ${production ? 'known-good version (healthy here, from an approved plan, never failed)' : 'version with different content'} to roll back to`,
        {
          hint: production ? breakGlassHint : `name one with --to VERSION (stored: ${versions.slice(0, 5).join(', ')})`,
        },
      );
    }
  }
  const wantKey = contentKey(targetDefinition as Record<string, unknown>);
  const docker = ((targetDefinition as Record<string, unknown>).container as { docker?: { image?: string } } | undefined)?.docker;
  const image = docker?.image ?? null;
  const auditBase = {
    service: req.service.name,
    environment: req.environment,
    actor: signer?.principal ?? ctx.actor,
    previousVersion: live.version ?? undefined,
    ...(image ? { image } : {}),
    ...(production ? { emergency: true } : {}),
    ...(signer && req.breakGlass
      ? {
          breakGlass: true,
          reason: `BREAK-GLASS: ${req.breakGlass.reason}`,
          signature: req.breakGlass.signature,
          signerKey: signer.fingerprint,
          signedStatement: signer.statement,
        }
      : {}),
  };
  await ctx.audit?.record({ type: 'rollback.started', ...auditBase, appVersion: target });
  ctx.onProgress?.({
    kind: 'phase',
    appId,
    message: `restoring version ${target} (running ${live.version})${signer ? `: BREAK-GLASS by ${signer.principal}` : ''}`,
  });

  let ref: DeploymentRef;
  for (;;) {
    try {
      ref = await ctx.client.rollbackToVersion(appId, target, { force: req.force });
      break;
    } catch (err) {
      if (err instanceof C2CError && err.code === 'MARATHON_LOCKED') {
        const holders = (err.details as { deploymentIds?: string[] } | undefined)?.deploymentIds ?? [];
        ctx.onProgress?.({ kind: 'waiting-for-lock', appId, deploymentIds: holders });
        if (await waitForDeploymentsGone(ctx, holders, deadline)) continue;
      }
      await ctx.audit?.record({
        type: 'rollback.failed',
        ...auditBase,
        appVersion: target,
        reason: (err as Error).message,
        durationMs: Date.now() - started,
      });
      if (err instanceof C2CError && err.code === 'MARATHON_LOCKED') {
        throw new C2CError(
          'DEPLOY_FAILED',
          `rollback of ${appId} to ${target} not sent: the app stayed locked by another deployment until the timeout`,
          {
            hint: 'pass --force to cancel the deployment that holds it (what an emergency usually wants)',
          },
        );
      }
      throw err;
    }
  }
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
    await ctx.audit?.record({
      type: 'rollback.interrupted',
      ...auditBase,
      appVersion: target,
      deploymentId: ref.deploymentId,
      reason: err.code === 'TERMINATED' ? 'SIGTERM' : 'SIGINT',
      durationMs: Date.now() - started,
    });
    throw interruption(
      ctx.signal,
      `interrupted: rollback deployment ${ref.deploymentId} of ${appId} (to version ${target}, started by ${ctx.actor}) keeps running`,
      { service: req.service.name, environment: req.environment, appId, deploymentId: ref.deploymentId, version: target, owner: ctx.actor },
    );
  }
  if (!outcome.ok) {
    await ctx.audit?.record({
      type: 'rollback.failed',
      ...auditBase,
      appVersion: target,
      deploymentId: ref.deploymentId,
      reason: outcome.message,
      durationMs: Date.now() - started,
    });
    throw new C2CError('DEPLOY_FAILED', `rollback of ${appId} to ${target} failed: ${outcome.message}`, {
      hint: `check 'deploy status --env ${req.environment}'; pick another version with --to (see GET /v2/apps${appId}/versions)`,
    });
  }
  const version = outcome.app?.version ?? null;
  await ctx.audit?.record({
    type: 'rollback.succeeded',
    ...auditBase,
    appVersion: version ?? target,
    deploymentId: ref.deploymentId,
    durationMs: Date.now() - started,
  });
  return {
    service: req.service.name,
    environment: req.environment,
    appId,
    from: live.version,
    restored: target,
    version,
    image,
    deploymentId: ref.deploymentId,
    durationMs: Date.now() - started,
  };
}

/** Verifies a break-glass statement for this rollback: signed by an allowed signer, made in the last 10 minutes. */
async function verifyBreakGlass(
  req: RollbackRequest,
  bg: BreakGlass,
): Promise<{ principal: string; fingerprint: string; statement: string }> {
  const now = (req.now ?? new Date()).getTime();
  if (bg.reason.trim() === '') {
    refuse('GATE_BREAK_GLASS_NO_REASON', 'break-glass needs a reason', "say why with --reason 'TEXT' (it is kept in the audit log)");
  }
  const time = Date.parse(bg.time);
  if (Number.isNaN(time) || Math.abs(now - time) > BREAK_GLASS_VALID_MS) {
    refuse('GATE_BREAK_GLASS_EXPIRED', `the break-glass statement was signed at ${bg.time}; it is valid for 10 minutes`, 'sign it again');
  }
  const message = breakGlassStatement({
    service: req.service.name,
    environment: req.environment,
    to: req.to,
    force: Boolean(req.force),
    reason: bg.reason,
    time: bg.time,
  });
  const who = await verifySignature(bg.signers, NAMESPACES.breakGlass, message, bg.signature, 'the break-glass statement');
  return { principal: who.principal, fingerprint: who.fingerprint, statement: message };
}
