import { ServiceDefinition } from '../catalog/types';
import { planStatement } from './gate';
import { PlanContent, PlanFile, sealPlan } from './plan-file';
import { AllowedSigners, NAMESPACES, principalOfKey, signMessage, verifySignature } from '../signing';
import { STAMP_LABELS } from '../marathon/app';
import { MarathonAppInfo } from '../marathon/client';
import { pinnedImage } from '../image-reference';
import { renderForDeploy } from '../deploy/apply-service';
import { commitsBetween } from '../deploy/changes';
import { diffApp } from '../deploy/diff';
import { DeployContext } from '../deploy/types';
import { isTwoColour, liveOfRelease, releaseOf } from '../deploy/release';

/**
 * What a plan is made of: the service, and the plan's own fields as {@link PlanContent} declares them (what runs, the
 * digest, the commit and its author).
 */
export interface PlanRequest extends Pick<
  PlanContent,
  'environment' | 'image' | 'artifact' | 'imageDigest' | 'commit' | 'commitTime' | 'commitAuthor'
> {
  readonly service: ServiceDefinition;
  /**
   * A git checkout of the service's repository (the build's workspace, or a clone): the plan then records the commits
   * between what production runs (its `c2c.commit` label) and `commit`. Needs `commit`.
   */
  readonly repository?: string;
  /** Sign the plan with this key; its principal in `signers` becomes the plan's author. */
  readonly signing?: { readonly keyPath: string; readonly signers: AllowedSigners };
  /** @default new Date() */
  readonly now?: Date;
}

/**
 * Computes a plan: the rendered definition (with stamps), the live version it was compared against, and the
 * field-level diff, sealed with its SHA-256 id, and signed when a key is given (its verified principal is the author).
 * Reads Marathon only; records `plan.created` in the audit log.
 */
export async function planService(ctx: DeployContext, req: PlanRequest): Promise<{ plan: PlanFile; live: MarathonAppInfo | null }> {
  const author = req.signing ? (await principalOfKey(req.signing.signers, req.signing.keyPath)).principal : ctx.actor;
  const runImage = req.imageDigest ? pinnedImage(req.image, req.imageDigest) : req.image;
  const app = renderForDeploy(req.service, req.environment, {
    image: runImage,
    artifact: req.artifact,
    commit: req.commit,
    actor: author,
  });
  // A blue/green or canary service runs as two colour apps: the newer one, seen as the app it stands for, is what runs.
  const live = await liveOfRelease(ctx.client, req.service, req.environment, app);
  const changes =
    req.repository && req.commit ? await commitsBetween(req.repository, live?.labels[STAMP_LABELS.commit] ?? null, req.commit) : undefined;
  const sealed = sealPlan({
    format: 'c2c.plan/v1',
    service: req.service.name,
    environment: req.environment,
    image: req.image,
    ...(req.imageDigest ? { imageDigest: req.imageDigest } : {}),
    // An artifact service's URI and checksum, as its app fetches them: the gate checks the two agree.
    ...(req.artifact ? { artifact: req.artifact } : {}),
    ...(req.commit ? { commit: req.commit } : {}),
    ...(req.commitTime ? { commitTime: req.commitTime } : {}),
    ...(req.commitAuthor ? { commitAuthor: req.commitAuthor } : {}),
    ...(changes ? { changes } : {}),
    app,
    ...(isTwoColour(req.service) ? { release: releaseOf(req.service, app.instances) } : {}),
    liveVersion: live?.version ?? null,
    diff: diffApp(app, live?.raw ?? null),
    createdBy: author,
    createdAt: (req.now ?? new Date()).toISOString(),
  });
  let plan: PlanFile = sealed;
  let signerKey: string | undefined;
  if (req.signing) {
    const signature = await signMessage(req.signing.keyPath, NAMESPACES.plan, planStatement(sealed));
    signerKey = (
      await verifySignature(req.signing.signers, NAMESPACES.plan, planStatement(sealed), signature, `plan ${sealed.id.slice(0, 12)}`)
    ).fingerprint;
    plan = { ...sealed, signature };
  }
  await ctx.audit?.record({
    type: 'plan.created',
    service: plan.service,
    environment: plan.environment,
    actor: author,
    planId: plan.id,
    image: plan.image,
    ...(plan.commit ? { commit: plan.commit } : {}),
    ...(plan.commitTime ? { commitTime: plan.commitTime } : {}),
    ...(plan.liveVersion ? { previousVersion: plan.liveVersion } : {}),
    ...(plan.signature ? { signature: plan.signature, signerKey } : {}),
  });
  return { plan, live };
}
