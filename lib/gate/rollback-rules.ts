import type { AuditEvent } from '../audit/types';
import { EnvironmentName, ServiceDefinition } from '../catalog/types';
import { sealHook } from '../deploy/guard';
import { rollbackService, RollbackResult, TargetRule } from '../deploy/rollback';
import { DeployContext } from '../deploy/types';
import { C2CError, ErrorCode } from '../errors';
import { STAMP_LABELS } from '../marathon/app';
import { marathonAppId } from '../marathon/render';
import { AllowedSigners, NAMESPACES, statement, verifySignature } from '../signing';
import { checkWriter } from './verify-log';

/** A rollback as the CLI asks for it: the audit history and, for production outside the rules, a signed break-glass. */
export interface GatedRollbackRequest {
  readonly service: ServiceDefinition;
  readonly environment: EnvironmentName;
  /** A stored version to restore; default: the newest known-good one before the current. */
  readonly to?: string;
  /**
   * The audit records of this service in this environment (malformed lines already skipped): which versions ran
   * healthy, which came from an approved plan, which failed. In production only such versions are targets.
   */
  readonly history?: readonly AuditEvent[];
  /**
   * The gate's authorizations in the audit log, by the hash of their line (`authorizationsOf`): in production a target
   * counts as coming from an approved plan only when its `c2c.audit-head` label names one of them for its plan.
   */
  readonly authorizations?: ReadonlyMap<string, string>;
  /**
   * The allowed signers: in production an outcome record (`apply.succeeded`, `rollback.succeeded`) makes its version
   * known good only when its writer's signature verifies against them. Without them nothing does.
   */
  readonly signers?: AllowedSigners;
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
  /** Versions a success record names that does not count, and why (unsigned, or its signature does not verify). */
  readonly unverified: ReadonlyMap<string, string>;
}

/** Why a record does not count as a verified outcome (undefined: it does). */
export type OutcomeTrust = (e: AuditEvent) => string | undefined;

const SUCCESS = (e: AuditEvent) => e.type === 'apply.succeeded' || (e.type === 'rollback.succeeded' && !e.breakGlass);
const FAILURE = (e: AuditEvent) => e.type === 'apply.rolled-back' || e.type === 'apply.failed' || e.type === 'rollback.failed';

/**
 * Reads the audit records: a version is good when an apply of it succeeded, or a rollback (not break-glass) to it
 * succeeded, and `trust` accepts that record (default: every record, for staging); bad when an apply of it failed or
 * was rolled back, or a rollback to it failed, whether that record is verified or not (a failure, even unverified,
 * only ever takes a version out).
 */
export function versionHistory(events: readonly AuditEvent[], trust: OutcomeTrust = () => undefined): VersionHistory {
  const good = new Map<string, string>();
  const bad = new Set<string>();
  const unverified = new Map<string, string>();
  for (const e of events) {
    if (!e.appVersion) continue;
    if (SUCCESS(e)) {
      const why = trust(e);
      if (why === undefined) good.set(e.appVersion, e.planId ?? '');
      else unverified.set(e.appVersion, why);
    }
    if (FAILURE(e)) bad.add(e.appVersion);
  }
  for (const v of bad) good.delete(v);
  for (const v of good.keys()) unverified.delete(v);
  return { good, bad, unverified };
}

/**
 * Production's trust in outcome records: a success counts only when its writer's signature verifies against the
 * allowed signers (a record anyone can append or rewrite says nothing about what ran healthy). Checks each success
 * record once (ssh-keygen); returns the reason for each one that does not count.
 */
export async function verifiedOutcomes(events: readonly AuditEvent[], signers: AllowedSigners | undefined): Promise<OutcomeTrust> {
  const why = new Map<AuditEvent, string | undefined>();
  for (const e of events.filter((x) => x.appVersion && SUCCESS(x))) {
    const problem = signers ? await checkWriter(e, signers) : `${e.type} cannot be verified: no allowed-signers file`;
    why.set(e, problem);
  }
  return (e) => why.get(e) ?? (why.has(e) ? undefined : `${e.type} was not checked`);
}

/**
 * The gate's `apply.authorized` records by the SHA-256 of their line (hash -> plan id). A line's hash cannot be forged:
 * a version whose `c2c.audit-head` names one was sent by the gate after it verified that plan's approval.
 */
export function authorizationsOf(read: {
  readonly events: readonly AuditEvent[];
  readonly lines: readonly number[];
  readonly hashes: readonly string[];
}): Map<string, string> {
  const out = new Map<string, string>();
  read.events.forEach((e, i) => {
    if (e.type === 'apply.authorized' && e.planId) out.set(read.hashes[read.lines[i] - 1], e.planId);
  });
  return out;
}

/**
 * A production rollback decides on the audit log, so the log must still hold the authorization the live version was
 * applied under: a record rewritten with the chain recomputed changes every later line's hash, and the live version's
 * `c2c.audit-head` then names none (refused: GATE_AUDIT_LOG_DAMAGED; break-glass still works).
 */
async function checkLogHoldsLiveVersion(ctx: DeployContext, req: GatedRollbackRequest): Promise<void> {
  const live = await ctx.client.getApp(marathonAppId(req.service.name, req.environment));
  const head = live?.labels[STAMP_LABELS.auditHead];
  if (!live || !head || req.authorizations?.has(head)) return;
  refuse(
    'GATE_AUDIT_LOG_DAMAGED',
    `the audit log does not hold the authorization ${head.slice(0, 12)} that ${live.id} version ${live.version} was applied under: it was truncated, rewritten or replaced, so no version in it counts as known good`,
    "restore the log and run 'deploy history --verify'; if production must move now, use --break-glass --reason TEXT",
  );
}

/** A production rollback refused by the rules (exit 3, recorded as `gate.refused` by the caller). */
function refuse(code: ErrorCode, message: string, hint: string): never {
  throw new C2CError(code, message, { hint });
}

/**
 * Restores the previous healthy version of a service (or `to`) through the deploy library's `rollbackService`, under
 * the gate's rules. Versions the audit log saw fail are never picked; versions it saw healthy are preferred.
 *
 * In production it needs no approval (it must stay fast) but only goes back to a known-good version: one the audit log
 * saw healthy there, deployed from an approved plan (its `c2c.plan-id` label), never one that failed. Anything else,
 * and `force`, needs a signed break-glass statement with a reason, which is verified here and recorded loudly.
 * @throws C2CError ROLLBACK_NO_TARGET (nothing sent), GATE_ROLLBACK_NOT_KNOWN_GOOD / GATE_BREAK_GLASS_* (refused,
 *   nothing sent), DEPLOY_FAILED (the restored version did not get healthy)
 */
export async function gatedRollback(ctx: DeployContext, req: GatedRollbackRequest): Promise<RollbackResult> {
  const production = req.environment === 'production';
  const breakGlassHint = `if you must, say why: 'deploy rollback --service ${req.service.name} --env ${req.environment}${req.to ? ` --to ${req.to}` : ''}${req.force ? ' --force' : ''} --break-glass --reason TEXT' (signed with your key, recorded as break-glass)`;
  const signer = req.breakGlass ? await verifyBreakGlass(req, req.breakGlass) : undefined;
  if (production && req.force && !signer) {
    refuse('GATE_FORCE_NEEDS_BREAK_GLASS', '--force cancels a production deployment: that is break-glass only', breakGlassHint);
  }
  if (production && !signer) await checkLogHoldsLiveVersion(ctx, req);
  const events = req.history ?? [];
  const history = versionHistory(events, production ? await verifiedOutcomes(events, req.signers) : undefined);
  const rule = production
    ? knownGoodRule(req.environment, history, req.authorizations ?? new Map(), { breakGlassHint, signer, breakGlass: req.breakGlass })
    : undefined;
  return rollbackService(ctx, {
    service: req.service,
    environment: req.environment,
    ...(req.to !== undefined ? { to: req.to } : {}),
    ...(req.force ? { force: true } : {}),
    knownGoodVersions: [...history.good.keys(), ...(req.knownGoodVersions ?? [])],
    knownBadVersions: [...history.bad, ...(req.knownBadVersions ?? [])],
    ...(rule ? { rule } : {}),
  });
}

/** Production's rule for a target: seen healthy here, from an approved plan (its label), never failed; break-glass overrides it. */
function knownGoodRule(
  environment: EnvironmentName,
  history: VersionHistory,
  authorizations: ReadonlyMap<string, string>,
  input: { breakGlassHint: string; signer?: { principal: string; fingerprint: string; statement: string }; breakGlass?: BreakGlass },
): TargetRule {
  const { signer, breakGlass } = input;
  return sealHook<TargetRule>({
    reject: (version, definition) => {
      if (history.bad.has(version)) return `version ${version} failed in ${environment}`;
      if (!history.good.has(version)) {
        const unverified = history.unverified.get(version);
        return unverified
          ? `version ${version} is not known good: the only record of it running healthy does not verify (${unverified})`
          : `version ${version} was never seen healthy in ${environment} (no successful apply or rollback of it in the audit log)`;
      }
      const labels = (definition.labels ?? {}) as Record<string, string>;
      const planId = labels[STAMP_LABELS.planId];
      if (!planId) return `version ${version} did not come from an approved plan (no ${STAMP_LABELS.planId} label)`;
      // Not an approval line anyone could append: the authorization the gate wrote before it sent this version, named
      // by the hash Marathon keeps on the version itself.
      const head = labels[STAMP_LABELS.auditHead];
      if (!head || authorizations.get(head) !== planId) {
        return `version ${version} did not come from an approved plan (${head ? `its ${STAMP_LABELS.auditHead} names no authorization of plan ${planId.slice(0, 12)} in the audit log` : `no ${STAMP_LABELS.auditHead} label: not applied through the gate`})`;
      }
      return undefined;
    },
    override: signer !== undefined,
    refusal: (message) => new C2CError('GATE_ROLLBACK_NOT_KNOWN_GOOD', message, { hint: input.breakGlassHint }),
    wanted: 'known-good version (healthy here, from an approved plan, never failed)',
    hint: input.breakGlassHint,
    ...(signer ? { actor: signer.principal, note: `: BREAK-GLASS by ${signer.principal}` } : {}),
    auditFields: {
      emergency: true,
      ...(signer && breakGlass
        ? {
            breakGlass: true,
            reason: `BREAK-GLASS: ${breakGlass.reason}`,
            signature: breakGlass.signature,
            signerKey: signer.fingerprint,
            signedStatement: signer.statement,
          }
        : {}),
    },
  });
}

/** Verifies a break-glass statement for this rollback: signed by an allowed signer, made in the last 10 minutes. */
async function verifyBreakGlass(
  req: GatedRollbackRequest,
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
