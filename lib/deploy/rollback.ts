import { EnvironmentName, ServiceDefinition } from '../catalog/types';
import { C2CError } from '../errors';
import { canonicalJson } from '../gate/plan';
import { STAMP_LABEL_KEYS } from '../marathon/app';
import { DeploymentRef, stripNulls } from '../marathon/client';
import { marathonAppId } from '../marathon/render';
import { DEFAULT_TIMEOUT_MS, DeployContext } from './types';
import { waitForDeployment, waitForDeploymentsGone } from './wait';

export interface RollbackRequest {
  readonly service: ServiceDefinition;
  readonly environment: EnvironmentName;
  /** A stored version to restore; default: the previous healthy one. */
  readonly to?: string;
  /**
   * Versions known to have run healthy (from the audit log's apply.succeeded / rollback.succeeded events); preferred
   * when picking "the previous" because Marathon's version list also holds rejected attempts (§8).
   */
  readonly knownGoodVersions?: readonly string[];
  /** Versions known to have failed (apply.rolled-back / apply.failed events): never picked as "the previous". */
  readonly knownBadVersions?: readonly string[];
  /** A production rollback without a new approval: recorded as an emergency. */
  readonly emergency?: boolean;
  /** Cancel a deployment that holds the app instead of waiting for it. */
  readonly force?: boolean;
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

/**
 * Restores the previous healthy version of a service (or `to`) with `PUT {"version": ts}` (§11 C) and waits until it
 * is healthy. "Previous" = the newest stored version older than the current one whose content differs (a re-submit of
 * the same release does not count), preferring versions the audit log saw healthy, since the version list is not a
 * history (§8).
 * @throws C2CError ROLLBACK_NO_TARGET (nothing sent), DEPLOY_FAILED (the restored version did not get healthy)
 */
export async function rollbackService(ctx: DeployContext, req: RollbackRequest): Promise<RollbackResult> {
  const started = Date.now();
  const deadline = started + (ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const appId = marathonAppId(req.service.name, req.environment);
  const live = await ctx.client.getApp(appId);
  if (!live) {
    throw new C2CError('ROLLBACK_NO_TARGET', `${appId} does not exist in Marathon; there is nothing to roll back`, {
      hint: `deploy it first: 'deploy apply --service ${req.service.name} --env ${req.environment} --image IMAGE'`,
    });
  }
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
  } else {
    const currentKey = contentKey(live.raw);
    const currentTime = live.version ? Date.parse(live.version) : Number.POSITIVE_INFINITY;
    const known = new Set(req.knownGoodVersions ?? []);
    const bad = new Set(req.knownBadVersions ?? []);
    let fallback: { version: string; definition: Record<string, unknown> } | undefined;
    for (const v of versions.filter((x) => Date.parse(x) < currentTime && !bad.has(x)).slice(0, 30)) {
      const definition = await ctx.client.getVersion(appId, v);
      if (contentKey(definition) === currentKey) continue;
      if (known.size === 0 || known.has(v)) {
        target = v;
        targetDefinition = definition;
        break;
      }
      fallback ??= { version: v, definition };
    }
    if (target === undefined && fallback) {
      target = fallback.version;
      targetDefinition = fallback.definition;
    }
    if (target === undefined || targetDefinition === undefined) {
      throw new C2CError('ROLLBACK_NO_TARGET', `${appId} has no earlier version with different content to roll back to`, {
        hint: `name one with --to VERSION (stored: ${versions.slice(0, 5).join(', ')})`,
      });
    }
  }
  const wantKey = contentKey(targetDefinition as Record<string, unknown>);
  const docker = ((targetDefinition as Record<string, unknown>).container as { docker?: { image?: string } } | undefined)?.docker;
  const image = docker?.image ?? null;
  const auditBase = {
    service: req.service.name,
    environment: req.environment,
    actor: ctx.actor,
    previousVersion: live.version ?? undefined,
    ...(image ? { image } : {}),
    ...(req.emergency ? { emergency: true } : {}),
  };
  await ctx.audit?.record({ type: 'rollback.started', ...auditBase, appVersion: target });
  ctx.onProgress?.({ kind: 'phase', appId, message: `restoring version ${target} (running ${live.version})` });

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
  const outcome = await waitForDeployment(ctx, {
    appId,
    deploymentId: ref.deploymentId,
    deadline,
    expect: (app) => app !== null && contentKey(app.raw) === wantKey,
  });
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
