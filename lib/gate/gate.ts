import { AuditEvent, AuditLog } from '../audit/log';
import { ServiceDefinition, SERVICE_DEFAULTS } from '../catalog/types';
import { diffApp, FieldChange } from '../deploy/diff';
import { isTwoColour, releaseOf } from '../deploy/release';
import { C2CError, ErrorCode } from '../errors';
import { GoogleAuth } from '../google/http';
import { artifactOfApp, LABEL_ENV, LABEL_SERVICE, STAMP_LABELS } from '../marathon/app';
import { MarathonAppInfo } from '../marathon/client';
import { marathonAppId } from '../marathon/render';
import { parseImageReference, pinnedImage } from '../image-reference';
import { approvedPlanId, CloudBuildContext, fetchBuild } from './cloudbuild';
import { canonicalJson } from '../canonical-json';
import { PlanFile } from './plan-file';
import {
  AllowedSigners,
  GROUP_PREFIX,
  NAMESPACES,
  principalOfKey,
  signMessage,
  statement,
  VerifiedSigner,
  verifySignature,
} from '../signing';

/** A reviewer's approval of one exact plan id. */
export interface Approval {
  readonly planId: string;
  /** The verified identity: the allowed-signers principal (local) or the Google account Cloud Build names. */
  readonly approver: string;
  readonly time: string;
  readonly expiresAt: string;
  readonly comment?: string;
  readonly source: 'cli' | 'cloudbuild';
  readonly buildId?: string;
}

/** What a reviewer sees, derived from the plan's `app` and the live app, never from the plan's stored fields. */
export interface DerivedPlan {
  /** The image that will run (`container.docker.image` of `app`). */
  readonly image: string | null;
  readonly digest: string | null;
  /** What runs, as a reviewer reads it: the image, or the artifact's fetch URI and its SHA-256 label. */
  readonly runs: string;
  /** `app` against the live app, as it is now. */
  readonly diff: readonly FieldChange[];
  readonly liveVersion: string | null;
}

/** Approvals dated further ahead than this are refused (clock skew allowance). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/** Refusals are C2CErrors with a `GATE_` code: the CLI exits 3 and sends nothing that changes Marathon. */
function refuse(code: ErrorCode, message: string, hint?: string): never {
  throw new C2CError(code, message, hint === undefined ? {} : { hint });
}

const short = (id: string) => id.slice(0, 12);

/** Refuses a plan made for another service than the one it is applied to or approved for (GATE_WRONG_SERVICE). */
export function checkPlanService(plan: Pick<PlanFile, 'id' | 'service'>, service: Pick<ServiceDefinition, 'name'>): void {
  if (plan.service !== service.name) refuse('GATE_WRONG_SERVICE', `plan ${short(plan.id)} is for ${plan.service}, not ${service.name}`);
}

/**
 * Refuses a plan whose release (strategy and steps, sealed by its id) is not what the service file says today
 * (GATE_RELEASE_MISMATCH): the approval covers the whole rollout, so the rollout run is the one reviewed. A plan
 * without `release` is a rolling restart.
 */
export function checkPlanRelease(
  plan: Pick<PlanFile, 'id' | 'service' | 'environment' | 'app' | 'release'>,
  service: ServiceDefinition,
): void {
  const expected = isTwoColour(service) ? releaseOf(service, plan.app.instances) : undefined;
  const actual = plan.release?.strategy.kind === 'rolling' ? undefined : plan.release;
  if (canonicalJson(expected ?? null) === canonicalJson(actual ?? null)) return;
  refuse(
    'GATE_RELEASE_MISMATCH',
    `plan ${short(plan.id)} releases ${plan.service} by '${actual?.summary ?? 'rolling'}', but its service file now says '${expected?.summary ?? 'rolling'}'`,
    `plan again ('deploy plan --service ${plan.service} --env ${plan.environment} ...') so the plan shows the release that will run${plan.environment === 'production' ? ', and have it approved' : ''}`,
  );
}

/** The statement an approver signs: one plan id, for one service and environment, at one time, until one time. */
export function approvalStatement(a: {
  planId: string;
  service: string;
  environment: string;
  approver: string;
  time: string;
  expiresAt: string;
  comment?: string;
}): string {
  return statement({
    statement: 'c2c.approval/v1',
    planId: a.planId,
    service: a.service,
    environment: a.environment,
    approver: a.approver,
    time: a.time,
    expiresAt: a.expiresAt,
    comment: a.comment,
  });
}

/** The statement a plan's author signs: its id (the hash of everything in it), service and environment. */
export function planStatement(plan: Pick<PlanFile, 'id' | 'service' | 'environment'>): string {
  return statement({ statement: 'c2c.plan/v1', planId: plan.id, service: plan.service, environment: plan.environment });
}

/**
 * Refuses (GATE_PLAN_INCONSISTENT) a plan whose stored fields disagree with its `app`: another Marathon app, service
 * or environment; an `image`, `imageDigest` or stamp label naming another image than `app` runs; gate labels set in
 * the app. Returns the image and digest the app runs.
 */
export function checkPlanConsistency(plan: PlanFile): { image: string | null; digest: string | null } {
  const inconsistent = (what: string): never =>
    refuse(
      'GATE_PLAN_INCONSISTENT',
      `plan ${short(plan.id)} says one thing and runs another: ${what}`,
      'plan again; never edit a plan file by hand',
    );
  const hidden = prototypeKeyIn(plan.app, 'app');
  if (hidden) inconsistent(`its app has a key named after an Object.prototype member (${hidden}), which no diff shows`);
  const appId = marathonAppId(plan.service, plan.environment);
  if (plan.app.id !== appId) inconsistent(`its app is ${plan.app.id}, but the plan is for ${appId}`);
  const labels = plan.app.labels ?? {};
  if (labels[LABEL_SERVICE] !== plan.service)
    inconsistent(`label ${LABEL_SERVICE} is ${JSON.stringify(labels[LABEL_SERVICE])}, not ${plan.service}`);
  if (labels[LABEL_ENV] !== plan.environment)
    inconsistent(`label ${LABEL_ENV} is ${JSON.stringify(labels[LABEL_ENV])}, not ${plan.environment}`);
  for (const gateLabel of [STAMP_LABELS.planId, STAMP_LABELS.approvedBy, STAMP_LABELS.auditHead]) {
    if (gateLabel in labels) inconsistent(`its app sets ${gateLabel}, which only the gate sets`);
  }
  const image = plan.app.container?.docker.image ?? null;
  const digest = image ? (parseImageReference(image).digest ?? null) : null;
  if (image !== null) {
    const stored = plan.imageDigest ? pinnedImage(plan.image, plan.imageDigest) : plan.image;
    if (stored !== image || (plan.imageDigest !== undefined && plan.imageDigest !== digest)) {
      inconsistent(`its image field says ${stored}, but its app runs ${image}`);
    }
    if (labels[STAMP_LABELS.image] !== undefined && labels[STAMP_LABELS.image] !== image) {
      inconsistent(`label ${STAMP_LABELS.image} says ${labels[STAMP_LABELS.image]}, but its app runs ${image}`);
    }
  }
  if (image === null) checkArtifactConsistency(plan, inconsistent);
  if ((labels[STAMP_LABELS.commit] ?? undefined) !== plan.commit) {
    inconsistent(
      `label ${STAMP_LABELS.commit} is ${JSON.stringify(labels[STAMP_LABELS.commit] ?? null)}, its commit field ${JSON.stringify(plan.commit ?? null)}`,
    );
  }
  return { image, digest };
}

/**
 * An app without a container runs what its fetcher fetches: exactly one fetch entry, whose URI and checksum label are
 * the plan's `image`, `artifact` and `c2c.image` (what output and the audit log show), or the plan is inconsistent.
 */
function checkArtifactConsistency(plan: PlanFile, inconsistent: (what: string) => never): void {
  const fetches = Array.isArray(plan.app.fetch) ? plan.app.fetch.length : 0;
  const runs = artifactOfApp(plan.app);
  if (runs === null) {
    if (plan.artifact) inconsistent(`its artifact field says ${plan.artifact.uri}, but its app fetches nothing`);
    return;
  }
  if (fetches !== 1) inconsistent(`its app fetches ${fetches} URIs; an artifact app fetches exactly its artifact`);
  const imageLabel = plan.app.labels?.[STAMP_LABELS.image];
  if (plan.image !== runs.uri) inconsistent(`its image field says ${plan.image}, but its app fetches ${runs.uri}`);
  if (plan.artifact?.uri !== runs.uri || plan.artifact.sha256 !== runs.sha256) {
    inconsistent(
      `its artifact field says ${plan.artifact?.uri ?? '(none)'} (sha256 ${plan.artifact?.sha256 ?? 'none'}), but its app fetches ${runs.uri} (sha256 ${runs.sha256 ?? 'none'})`,
    );
  }
  if (imageLabel !== undefined && imageLabel !== runs.uri)
    inconsistent(`label ${STAMP_LABELS.image} says ${imageLabel}, but its app fetches ${runs.uri}`);
}

/** What runs, read from the app itself: its image, else the URI of the artifact it fetches, else the plan's field. */
export function packageOfPlan(plan: PlanFile): string {
  return plan.app.container?.docker.image ?? artifactOfApp(plan.app)?.uri ?? plan.image;
}

/** Names that every JavaScript object answers to (`constructor`, `toString`, `__proto__`, …). */
const PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The path of the first own key in `value` (at any depth) named after an `Object.prototype` member, if any. */
export function prototypeKeyIn(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = prototypeKeyIn(item, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const key of Object.keys(value)) {
    if (PROTOTYPE_KEYS.has(key)) return `${path}.${key}`;
    const found = prototypeKeyIn((value as Record<string, unknown>)[key], `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * What a reviewer sees, derived from the plan's `app` and the live app: after `checkPlanConsistency`, refuses
 * GATE_STALE_PLAN when the live app is not the version the plan was made against, and GATE_PLAN_INCONSISTENT when
 * the stored diff is not the diff of `app` against it.
 */
export function derivePlan(plan: PlanFile, live: MarathonAppInfo | null): DerivedPlan {
  const { image, digest } = checkPlanConsistency(plan);
  const appId = plan.app.id;
  const liveVersion = live?.version ?? null;
  if (plan.liveVersion !== liveVersion) {
    refuse(
      'GATE_STALE_PLAN',
      `plan ${short(plan.id)} was made against version ${plan.liveVersion ?? '(no app)'}, but ${appId} now runs version ${liveVersion ?? '(no app)'}`,
      `plan again ('deploy plan --service ${plan.service} --env ${plan.environment} --image ${plan.image}') and have the new plan approved`,
    );
  }
  const diff = diffApp(plan.app, live?.raw ?? null);
  if (canonicalJson(diff) !== canonicalJson(plan.diff)) {
    refuse(
      'GATE_PLAN_INCONSISTENT',
      `plan ${short(plan.id)} says one thing and runs another: its stored diff (${plan.diff.length} change(s)) is not what its app changes against version ${liveVersion ?? '(no app)'} (${diff.length})`,
      'plan again; never edit a plan file by hand',
    );
  }
  const artifact = image === null ? artifactOfApp(plan.app) : null;
  const runs = image ?? (artifact ? `${artifact.uri} (sha256 ${artifact.sha256 ?? 'none'})` : '(nothing: no image, no fetch)');
  return { image, digest, runs, diff, liveVersion };
}

function ttlMs(service: ServiceDefinition): number {
  return (service.approvalTtlHours ?? SERVICE_DEFAULTS.approvalTtlHours) * 3600_000;
}

function fourEyesOn(service: ServiceDefinition): boolean {
  return service.fourEyes ?? SERVICE_DEFAULTS.fourEyes;
}

/** Case-insensitive, NFKC: for comparing identities that are already verified ASCII principals or Google accounts. */
const norm = (s: string) => s.normalize('NFKC').toLowerCase();

/** The plan's verified author: the principal whose key signed it, which must be the plan's `createdBy`. */
export async function verifyPlanAuthor(plan: PlanFile, signers: AllowedSigners): Promise<VerifiedSigner> {
  const author = await verifySignature(signers, NAMESPACES.plan, planStatement(plan), plan.signature, `plan ${short(plan.id)}`);
  if (norm(author.principal) !== norm(plan.createdBy)) {
    refuse(
      'GATE_PLAN_INCONSISTENT',
      `plan ${short(plan.id)} names ${plan.createdBy} as its author, but it is signed by ${author.principal}`,
      'plan again; never edit a plan file by hand',
    );
  }
  return author;
}

/**
 * Four-eyes on verified identities: the approver is neither the plan's signer (same principal or same key) nor the
 * commit's author.
 */
function checkFourEyes(
  service: ServiceDefinition,
  plan: PlanFile,
  approver: { principal: string; fingerprint?: string },
  author: VerifiedSigner | null,
): void {
  if (!fourEyesOn(service)) return;
  const self =
    (author !== null && (norm(author.principal) === norm(approver.principal) || author.fingerprint === approver.fingerprint)) ||
    (plan.commitAuthor !== undefined && norm(plan.commitAuthor) === norm(approver.principal));
  if (self) {
    refuse(
      'GATE_SELF_APPROVAL',
      `${approver.principal} ${author && norm(author.principal) === norm(approver.principal) ? 'created' : 'wrote'} plan ${short(plan.id)} and may not approve it (four-eyes rule for ${service.name})`,
      `ask another approver (${service.approvers.join(', ')}); set 'fourEyes: false' in services/${service.name}.ts to allow self-approval`,
    );
  }
}

/**
 * The approver must be one of the service's `approvers`: `user:EMAIL` by its principal, `group:G` only by a member the
 * allowed-signers file lists with the principal `group:G`, `domain:D` by a principal at D. For a Cloud Build approval
 * the principal is the Google account Cloud Build names, and its groups are those the allowed-signers file lists on
 * that account's lines: IAM's approver role (project-wide) alone never makes a click count for a service.
 */
function checkApprover(
  service: ServiceDefinition,
  approver: { principal: string; groups?: readonly string[] },
  source: 'cli' | 'cloudbuild',
): void {
  const p = norm(approver.principal);
  const ok = service.approvers.some((member) => {
    const [kind, ...rest] = member.split(':');
    const value = norm(rest.join(':'));
    if (kind === 'user') return value === p;
    if (kind === 'group') return (approver.groups ?? []).some((g) => norm(g) === `${GROUP_PREFIX}${value}`);
    if (kind === 'domain') return p.endsWith(`@${value}`);
    return false;
  });
  if (!ok) {
    const groups = service.approvers.filter((m) => m.startsWith(GROUP_PREFIX));
    refuse(
      'GATE_NOT_APPROVER',
      `${approver.principal} is not an approver of ${service.name} (approvers: ${service.approvers.join(', ')})`,
      groups.length > 0
        ? source === 'cli'
          ? `a group approves through its members' keys: list '${approver.principal},${groups[0]}' on the key's line in the allowed-signers file`
          : `in Cloud Build a group approves through its members listed for it in the allowed-signers file: '${approver.principal},${groups[0]}' on the member's key line`
        : `ask one of them to approve, or add the reviewer to 'approvers' in services/${service.name}.ts`,
    );
  }
}

/** The `group:` principals the allowed-signers file lists on the lines of `principal` (none without the file). */
function groupsOf(signers: AllowedSigners | undefined, principal: string): string[] {
  return (signers?.signers ?? []).filter((s) => norm(s.principal) === norm(principal)).flatMap((s) => s.groups);
}

/** Everything the gate needs besides the plan. */
export interface GateInput {
  readonly plan: PlanFile;
  readonly service: ServiceDefinition;
  /** The live app as read just now (null: it does not exist). */
  readonly live: MarathonAppInfo | null;
  readonly audit: AuditLog;
  /** The repository's allowed signers (local approvals, signed plans). */
  readonly signers?: AllowedSigners;
  /** @default new Date() */
  readonly now?: Date;
}

/**
 * Records an approval of a production plan (`deploy approve`): derives what the reviewer sees from the plan's app and
 * the live app, verifies the plan's author signature, signs the approval with the reviewer's key and records it with
 * its signature. The approver is the principal the key is listed for, never a name from the environment.
 * @throws C2CError USAGE for a staging plan (staging needs no approval); GATE_* refusals
 */
export async function approvePlan(
  input: GateInput & { readonly keyPath: string | undefined; readonly signers: AllowedSigners; readonly comment?: string },
): Promise<{ approval: Approval; derived: DerivedPlan }> {
  const { plan, service } = input;
  const now = input.now ?? new Date();
  if (plan.environment !== 'production') {
    throw new C2CError('USAGE', `plan ${short(plan.id)} is for ${plan.environment}, which needs no approval`, {
      hint: `apply it: 'deploy apply --plan FILE'`,
    });
  }
  checkPlanService(plan, service);
  checkPlanRelease(plan, service);
  if (!input.keyPath) {
    refuse(
      'GATE_NO_SIGNING_KEY',
      'an approval is signed with your SSH key, and no key is set',
      "pass --key PATH or set DEPLOY_SIGNING_KEY (or git's user.signingkey); its public key must be listed in the allowed-signers file",
    );
  }
  const derived = derivePlan(plan, input.live);
  const author = await verifyPlanAuthor(plan, input.signers);
  const me = await principalOfKey(input.signers, input.keyPath);
  checkFourEyes(service, plan, me, author);
  checkApprover(service, me, 'cli');
  const time = now.toISOString();
  const expiresAt = new Date(now.getTime() + ttlMs(service)).toISOString();
  const fields = {
    planId: plan.id,
    service: plan.service,
    environment: plan.environment,
    approver: me.principal,
    time,
    expiresAt,
    ...(input.comment ? { comment: input.comment } : {}),
  };
  const signature = await signMessage(input.keyPath, NAMESPACES.approval, approvalStatement(fields));
  // Verify what was just made, as the gate will: the key on disk must be the listed one.
  const verified = await verifySignature(input.signers, NAMESPACES.approval, approvalStatement(fields), signature, 'the new approval');
  await input.audit.record({
    type: 'approval.recorded',
    service: plan.service,
    environment: plan.environment,
    actor: verified.principal,
    planId: plan.id,
    ...(derived.image ? { image: derived.image } : {}),
    approver: verified.principal,
    approvalSource: 'cli',
    time,
    expiresAt,
    signature,
    signerKey: verified.fingerprint,
    ...(input.comment ? { comment: input.comment } : {}),
  });
  return {
    approval: {
      planId: plan.id,
      approver: verified.principal,
      time,
      expiresAt,
      source: 'cli',
      ...(input.comment ? { comment: input.comment } : {}),
    },
    derived,
  };
}

/** Checks one recorded approval: signature, statement, dates, four-eyes, approver. Returns it or throws a GATE_ refusal. */
async function checkRecordedApproval(
  e: AuditEvent,
  input: GateInput & { readonly signers: AllowedSigners },
  author: VerifiedSigner,
  now: Date,
): Promise<Approval> {
  const { plan, service } = input;
  const claimed = e.approver ?? e.actor;
  if (!e.expiresAt || Number.isNaN(Date.parse(e.time)) || Number.isNaN(Date.parse(e.expiresAt))) {
    refuse('GATE_BAD_SIGNATURE', `the approval of plan ${short(plan.id)} recorded for ${claimed} has no valid time or expiry`);
  }
  const signed = approvalStatement({
    planId: e.planId ?? '',
    service: e.service,
    environment: e.environment,
    approver: claimed,
    time: e.time,
    expiresAt: e.expiresAt,
    ...(e.comment ? { comment: e.comment } : {}),
  });
  const who = await verifySignature(
    input.signers,
    NAMESPACES.approval,
    signed,
    e.signature,
    `the approval of plan ${short(plan.id)} recorded for ${claimed}`,
  );
  if (norm(who.principal) !== norm(claimed)) {
    refuse('GATE_BAD_SIGNATURE', `the approval of plan ${short(plan.id)} names ${claimed}, but it is signed by ${who.principal}`);
  }
  const time = Date.parse(e.time);
  if (time > now.getTime() + MAX_FUTURE_SKEW_MS) {
    refuse(
      'GATE_APPROVAL_FUTURE',
      `the approval of plan ${short(plan.id)} by ${who.principal} is dated ${e.time}, in the future`,
      'an approval counts from when it was made; check the approver clock and approve again',
    );
  }
  // The signed expiry, but never longer than the service's TTL allows today.
  const expires = Math.min(Date.parse(e.expiresAt), time + ttlMs(service));
  if (now.getTime() > expires) {
    refuse(
      'GATE_APPROVAL_EXPIRED',
      `the approval of plan ${short(plan.id)} by ${who.principal} expired at ${new Date(expires).toISOString()}`,
      'plan again and have the new plan approved',
    );
  }
  checkFourEyes(service, plan, who, author);
  checkApprover(service, who, 'cli');
  return {
    planId: plan.id,
    approver: who.principal,
    time: e.time,
    expiresAt: new Date(expires).toISOString(),
    source: 'cli',
    ...(e.comment ? { comment: e.comment } : {}),
  };
}

/**
 * The live version carries the hash of the audit record it was applied under (`c2c.audit-head`): the log must still
 * hold it. A log that was truncated, deleted or replaced since is refused (GATE_AUDIT_LOG_DAMAGED) before anything
 * more is decided or written on it.
 */
async function checkLogHoldsLive(audit: AuditLog, live: MarathonAppInfo | null): Promise<void> {
  const head = live?.labels?.[STAMP_LABELS.auditHead];
  if (head === undefined || live === null) return;
  const read = await audit.read();
  if (read.hashes.includes(head)) return;
  refuse(
    'GATE_AUDIT_LOG_DAMAGED',
    read.hashes.length === 0
      ? `the audit log ${audit.location} is empty or missing, but ${live.id} version ${live.version} was applied under audit record ${head.slice(0, 12)}`
      : `the audit log ${audit.location} does not hold audit record ${head.slice(0, 12)}, under which ${live.id} version ${live.version} was applied: it was truncated, rewritten or replaced`,
    "restore the log (GCS keeps every record; locally, from a backup), then run 'deploy history --verify'",
  );
}

/** Where the approval of a production apply comes from. */
export type ApprovalSource =
  | { readonly kind: 'local' }
  | {
      readonly kind: 'cloudbuild';
      readonly build: CloudBuildContext;
      readonly auth: GoogleAuth;
      /** Cloud Build API base URL; only the library's tests set it (the CLI refuses an override). */
      readonly baseUrl?: string;
    };

/**
 * The production gate. Returns the approval that authorizes applying `plan` onto `live`, or throws a C2CError with a
 * GATE_ code and a one-line reason. It checks the plan against its app and the live app (`derivePlan`), then:
 * locally, the plan's author signature and a signed approval in the audit log (any unsigned, forged, future-dated,
 * expired, self- or non-approver record does not count); in Cloud Build, the build's own approval from the Cloud Build
 * API. It sends nothing to Marathon.
 */
export async function authorizeProduction(
  input: GateInput & { readonly source: ApprovalSource },
): Promise<{ approval: Approval; derived: DerivedPlan }> {
  const { plan, service } = input;
  const now = input.now ?? new Date();
  checkPlanService(plan, service);
  checkPlanRelease(plan, service);
  if (plan.environment !== 'production')
    refuse('GATE_WRONG_ENVIRONMENT', `plan ${short(plan.id)} is for ${plan.environment}, not production`);
  const derived = derivePlan(plan, input.live);
  await checkLogHoldsLive(input.audit, input.live);
  if (input.source.kind === 'cloudbuild') return { approval: await cloudBuildApproval(input, input.source, now), derived };

  if (!input.signers) refuse('GATE_NO_ALLOWED_SIGNERS', 'local approvals need the allowed-signers file, and none was given');
  const signers = input.signers;
  const author = await verifyPlanAuthor(plan, signers);
  const approvals = (await input.audit.list({ service: plan.service, environment: plan.environment, types: ['approval.recorded'] })).filter(
    (e) => e.approvalSource !== 'cloudbuild',
  );
  const mine = approvals.filter((e) => e.planId === plan.id);
  if (mine.length === 0) {
    const other = approvals[approvals.length - 1];
    if (other) {
      refuse(
        'GATE_APPROVAL_MISMATCH',
        `no approval for plan ${short(plan.id)}; the latest approval for ${plan.service} in ${plan.environment} is for plan ${short(other.planId ?? '')}`,
        `an approval covers one exact plan: have plan ${short(plan.id)} approved ('deploy approve FILE')`,
      );
    }
    refuse(
      'GATE_NO_APPROVAL',
      `plan ${short(plan.id)} for ${plan.service} in ${plan.environment} has no approval`,
      `ask one of ${service.approvers.join(', ')} to run 'deploy approve <plan file>'`,
    );
  }
  // The newest approval that holds wins; when none does, the newest one's reason is the refusal.
  let firstRefusal: unknown;
  for (const e of [...mine].reverse()) {
    try {
      return { approval: await checkRecordedApproval(e, { ...input, signers }, author, now), derived };
    } catch (err) {
      if (!(err instanceof C2CError)) throw err;
      firstRefusal ??= err;
    }
  }
  throw firstRefusal;
}

async function cloudBuildApproval(input: GateInput, source: Extract<ApprovalSource, { kind: 'cloudbuild' }>, now: Date): Promise<Approval> {
  const { plan, service } = input;
  const build = await fetchBuild(source.build, source.auth, source.baseUrl);
  const result = build.approval?.result;
  if (build.approval?.state !== 'APPROVED' || result?.decision !== 'APPROVED' || !result.approverAccount || !result.approvalTime) {
    refuse(
      'GATE_NO_APPROVAL',
      `build ${source.build.buildId} is not approved (approval state ${build.approval?.state ?? 'none'})`,
      'approve the build in the Cloud Build console (Approve), as one of the service approvers',
    );
  }
  const approvedPlan = approvedPlanId(build);
  if (approvedPlan !== plan.id) {
    refuse(
      'GATE_APPROVAL_MISMATCH',
      `build ${source.build.buildId} was approved for plan ${approvedPlan ? short(approvedPlan) : '(none)'}, not plan ${short(plan.id)}`,
      'the production build must be started for this plan: its _PLAN_OBJECT must be <prefix>/<plan id>.json (or _PLAN_ID the plan id)',
    );
  }
  const time = Date.parse(result.approvalTime);
  if (Number.isNaN(time) || time > now.getTime() + MAX_FUTURE_SKEW_MS) {
    refuse('GATE_APPROVAL_FUTURE', `build ${source.build.buildId} reports an approval time ${result.approvalTime} in the future`);
  }
  const approver = { principal: result.approverAccount, groups: groupsOf(input.signers, result.approverAccount) };
  // A signed plan's author is verified; an unsigned one (made by the push build) names the commit's author only when
  // the build verified the commit's signature against the allowed signers (its plan step runs 'deploy plan --verify-commit').
  const author = plan.signature && input.signers ? await verifyPlanAuthor(plan, input.signers) : null;
  if (fourEyesOn(service) && author === null && plan.commitAuthor === undefined) {
    refuse(
      'GATE_AUTHOR_UNVERIFIED',
      `plan ${short(plan.id)} has no verified author (it is unsigned and names no verified commit author), so nobody can be shown not to be its author (four-eyes rule for ${service.name})`,
      "sign the commits (the push build verifies the signature against security/allowed_signers and records the signer), or plan locally with a listed key ('deploy plan --key …') and approve with 'deploy approve'",
    );
  }
  checkFourEyes(service, plan, approver, author);
  checkApprover(service, approver, 'cloudbuild');
  const expires = time + ttlMs(service);
  if (now.getTime() > expires) {
    refuse(
      'GATE_APPROVAL_EXPIRED',
      `the approval of plan ${short(plan.id)} by ${approver.principal} expired at ${new Date(expires).toISOString()}`,
      'plan again and have the new plan approved',
    );
  }
  const approval: Approval = {
    planId: plan.id,
    approver: approver.principal,
    time: result.approvalTime,
    expiresAt: new Date(expires).toISOString(),
    source: 'cloudbuild',
    buildId: source.build.buildId,
    ...(result.comment ? { comment: result.comment } : {}),
  };
  // The click in Cloud Build is the approval: keep who, when and the comment in our own audit log too.
  await input.audit.record({
    type: 'approval.recorded',
    service: plan.service,
    environment: plan.environment,
    actor: approval.approver,
    approver: approval.approver,
    approvalSource: 'cloudbuild',
    planId: plan.id,
    image: packageOfPlan(plan),
    time: new Date(time).toISOString(),
    reason: `Cloud Build build ${source.build.buildId}`,
    expiresAt: approval.expiresAt,
    ...(approval.comment ? { comment: approval.comment } : {}),
  });
  return approval;
}

/**
 * Who may move a production rollout on (`deploy promote`), and on what: the promoter proves their key (a signature
 * over the promote, verified against the allowed signers) and must be an approver of the service (`checkApprover`,
 * the rule an approval meets); the newer colour must be the rollout the gate authorized: its `c2c.audit-head` names an
 * `apply.authorized` record of the log (hash-chained up to it) for the plan its `c2c.plan-id` names and the image it
 * runs, and its definition is still the one the rollout created (`lastConfigChangeAt` is the version recorded in
 * `rollout.started` for that plan). Nothing here trusts a file a user edits.
 * @throws C2CError GATE_NO_SIGNING_KEY, GATE_BAD_SIGNATURE, GATE_NOT_APPROVER, GATE_ROLLOUT_NOT_APPROVED, GATE_AUDIT_LOG_DAMAGED
 */
export async function authorizePromote(input: {
  readonly service: ServiceDefinition;
  /** The newer colour app as Marathon holds it. */
  readonly newer: MarathonAppInfo;
  readonly audit: AuditLog;
  readonly signers: AllowedSigners;
  readonly keyPath: string | undefined;
  readonly now?: Date;
}): Promise<{ readonly principal: string; readonly planId: string }> {
  const { service, newer } = input;
  if (!input.keyPath) {
    refuse(
      'GATE_NO_SIGNING_KEY',
      `a production promote of ${service.name} is signed by one of its approvers, and no signing key was given`,
      "pass --key PATH (or set DEPLOY_SIGNING_KEY, or git's user.signingkey) to your key listed in security/allowed_signers",
    );
  }
  const statement = `c2c promote ${service.name} production ${newer.id} ${(input.now ?? new Date()).toISOString()}`;
  const signature = await signMessage(input.keyPath, NAMESPACES.audit, statement);
  const who = await verifySignature(input.signers, NAMESPACES.audit, statement, signature, `the promote of ${service.name}`);
  checkApprover(service, who, 'cli');
  const planId = await checkApprovedRollout(input.audit, service, newer);
  return { principal: who.principal, planId };
}

async function checkApprovedRollout(audit: AuditLog, service: ServiceDefinition, newer: MarathonAppInfo): Promise<string> {
  const notApproved = (why: string): never =>
    refuse(
      'GATE_ROLLOUT_NOT_APPROVED',
      `${newer.id} is not the rollout an approved plan started: ${why}`,
      `'deploy abort ${service.name} --env production' moves traffic back; release through an approved plan ('deploy apply --plan FILE')`,
    );
  const planId = newer.labels[STAMP_LABELS.planId];
  const head = newer.labels[STAMP_LABELS.auditHead];
  if (!planId || !head) return notApproved(`it carries no ${!planId ? STAMP_LABELS.planId : STAMP_LABELS.auditHead} label`);
  const read = await audit.read();
  const index = read.hashes.indexOf(head);
  if (index < 0) return notApproved(`the audit log holds no record ${head.slice(0, 12)} (its ${STAMP_LABELS.auditHead})`);
  const broken = read.problems.find((p) => p.chain && p.line <= index + 1);
  if (broken) {
    refuse(
      'GATE_AUDIT_LOG_DAMAGED',
      `the audit log ${audit.location} is damaged at line ${broken.line}: ${broken.message}`,
      "run 'deploy history --verify'",
    );
  }
  const authorized = read.events[read.lines.indexOf(index + 1)];
  if (
    authorized?.type !== 'apply.authorized' ||
    authorized.service !== service.name ||
    authorized.environment !== 'production' ||
    authorized.planId !== planId
  ) {
    return notApproved(
      `audit record ${head.slice(0, 12)} is not the authorization of plan ${short(planId)} for ${service.name} in production`,
    );
  }
  // What the colour runs, from Marathon (its container image, or an artifact's fetch URI), never from a stamp label.
  const runs = newer.image ?? artifactOfApp(newer.raw as never)?.uri ?? null;
  if (runs === null || authorized.image !== runs) {
    return notApproved(
      `it runs ${runs ?? 'nothing known'}, and plan ${short(planId)} was approved for ${authorized.image ?? '(no image)'}`,
    );
  }
  const started = read.events.find(
    (e, i) =>
      i > read.lines.indexOf(index + 1) &&
      e.type === 'rollout.started' &&
      e.service === service.name &&
      e.environment === 'production' &&
      e.planId === planId,
  );
  if (!started?.appVersion || started.appVersion !== newer.lastConfigChangeAt) {
    return notApproved(
      `its definition was changed (version ${newer.lastConfigChangeAt ?? 'unknown'}) since the rollout of plan ${short(planId)} created it (${started?.appVersion ?? 'no rollout.started record'})`,
    );
  }
  return planId;
}
