import { ArtifactRef } from '../catalog/artifact';
import { EnvironmentName, packageOf, ServiceDefinition } from '../catalog/types';
import { C2CError } from '../errors';
import { imageFor } from '../platform';
import { marathonAppId } from '../marathon/render';
import { ApplyResult } from './apply-service';
import { liveOfRelease, ReleaseContext, releaseService } from './release';
import { mapPool } from './pool';
import { artifactOf } from './status';

/** The outcome of one service in `applyAll`. */
export type FleetApplyEntry =
  | { readonly service: string; readonly status: 'deployed' | 'noop'; readonly result: ApplyResult }
  | { readonly service: string; readonly status: 'skipped'; readonly reason: string }
  | { readonly service: string; readonly status: 'failed'; readonly code: string; readonly message: string; readonly rolledBack: boolean };

export interface FleetApplyRequest {
  readonly services: readonly ServiceDefinition[];
  readonly environment: EnvironmentName;
  /** Deploy `<registryHost>/<service>:<tag>` for every service; default: keep the image each one runs now. */
  readonly tag?: string;
  readonly registryHost: string;
  readonly commit?: string;
  /** @default 4 */
  readonly concurrency?: number;
  readonly force?: boolean;
}

/**
 * Applies every service with at most `concurrency` deploys at a time. A failure of one service does not stop the
 * others; each entry says what happened. Without `tag`, a service that is not deployed yet is skipped.
 */
export async function applyAll(ctx: ReleaseContext, req: FleetApplyRequest): Promise<FleetApplyEntry[]> {
  const results = await mapPool(req.services, req.concurrency ?? 4, async (service): Promise<FleetApplyEntry> => {
    // After an interrupt, services not started yet are left alone.
    if (ctx.signal?.aborted) return { service: service.name, status: 'skipped', reason: 'interrupted before it started' };
    let image: string;
    let artifact: ArtifactRef | undefined;
    if (packageOf(service).kind === 'artifact') {
      // An artifact has no tag in a registry: --all keeps (re-applies) the artifact each one runs now.
      const live = await ctx.client.getApp(marathonAppId(service.name, req.environment));
      artifact = live ? (artifactOf(live) ?? undefined) : undefined;
      if (!artifact)
        return {
          service: service.name,
          status: 'skipped',
          reason: `an artifact service not deployed in ${req.environment} yet; deploy it with --service ${service.name} --artifact URI --sha256 HEX`,
        };
      image = artifact.uri;
    } else if (req.tag !== undefined) {
      image = imageFor({ registryHost: req.registryHost }, service.name, req.tag);
    } else {
      const live = await liveOfRelease(ctx.client, service, req.environment);
      if (!live?.image)
        return { service: service.name, status: 'skipped', reason: `not deployed in ${req.environment} yet; give --tag to deploy it` };
      image = live.image;
    }
    // Each with its strategy: a blue/green or canary service is a rollout (it may end paused for a promote).
    const result = await releaseService(ctx, {
      service,
      environment: req.environment,
      image,
      artifact,
      commit: req.commit,
      force: req.force,
    });
    return { service: service.name, status: result.outcome, result };
  });
  return results.map((r, i) => {
    if (r.ok) return r.value;
    const err = r.error;
    const code = err instanceof C2CError ? err.code : 'UNEXPECTED';
    return {
      service: req.services[i].name,
      status: 'failed',
      code,
      message: err instanceof Error ? err.message : String(err),
      rolledBack: code === 'DEPLOY_FAILED_ROLLED_BACK',
    };
  });
}
