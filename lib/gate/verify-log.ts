import { AuditEvent, AuditProblem, AuditRead, auditRecordStatement } from '../audit/log';
import { C2CError } from '../errors';
import { LABEL_ENV, STAMP_LABELS } from '../marathon/app';
import { MarathonClient } from '../marathon/client';
import { mapLimit } from '../deploy/pool';
import { approvalStatement, planStatement } from './gate';
import { AllowedSigners, NAMESPACES, SignatureNamespace, verifySignature } from '../signing';

/** The outcome of `deploy history --verify`. */
export interface LogVerification {
  readonly records: number;
  /** Signatures that verified: approvals, plans, break-glass statements and writers' signatures of records. */
  readonly signatures: number;
  /** Records that carry no writer signature: who wrote them cannot be verified (see docs/security.md). */
  readonly unsigned: number;
  /** Anchors outside the log (production app versions) that were checked. */
  readonly anchors: number;
  /** Every problem, by line: malformed lines, chain breaks, signatures that do not verify, anchors not in the log. */
  readonly problems: readonly AuditProblem[];
}

/** A production app version that names the audit record that was the log's head when it was applied. */
export interface AuditAnchor {
  readonly appId: string;
  readonly version: string;
  /** SHA-256 of the anchored line (`c2c.audit-head`). */
  readonly head: string;
  /** The version's `c2c.plan-id`. */
  readonly planId?: string;
}

/**
 * Checks a whole audit log: the hash chain (from `read`), every signature it carries against the allowed signers
 * (approvals made at a terminal, which must be signed; signed plans; break-glass statements; each record's writer
 * signature), and the anchors outside it (`anchors`: production app versions carrying the head of the log when they
 * were applied). A chain break is named on the line that was changed when the record after it is signed (its link
 * cannot have been recomputed), else on the earlier of the two lines. Signed records are checked whatever the gate
 * would do with them, so a forged line shows even when nothing used it.
 */
export async function verifyAuditLog(
  read: AuditRead,
  signers: AllowedSigners | undefined,
  anchors: readonly AuditAnchor[] = [],
): Promise<LogVerification> {
  const problems: AuditProblem[] = read.problems.filter((p) => !p.chain);
  // ssh-keygen is a process per signature: records are checked a few at a time, their results kept in line order.
  const results = await mapLimit(read.events, 8, (e, i) => checkRecord(e, read.lines[i], signers));
  const signatures = results.reduce((n, r) => n + r.signatures, 0);
  const unsigned = results.filter((r) => r.unsigned).length;
  /** Lines whose writer signature verified. */
  const written = new Set(results.flatMap((r, i) => (r.written ? [read.lines[i]] : [])));
  problems.push(...results.flatMap((r) => r.problems));
  for (const p of read.problems.filter((x) => x.chain)) problems.push(attributeChainBreak(p, written.has(p.line), read));
  problems.push(...checkAnchors(read, anchors));
  problems.sort((a, b) => a.line - b.line);
  return { records: read.events.length, signatures, unsigned, anchors: anchors.length, problems };
}

/** One record's checks: its writer signature and the statement it carries. */
async function checkRecord(
  e: AuditEvent,
  line: number,
  signers: AllowedSigners | undefined,
): Promise<{ problems: AuditProblem[]; signatures: number; unsigned: boolean; written: boolean }> {
  const problems: AuditProblem[] = [];
  let signatures = 0;
  let written = false;
  if (e.writerSignature !== undefined) {
    const problem = await checkWriter(e, signers);
    if (problem) problems.push({ line, message: problem });
    else {
      written = true;
      signatures++;
    }
  }
  const check = statementOf(e);
  if (check !== undefined && 'problem' in check) problems.push({ line, message: check.problem });
  else if (check !== undefined) {
    const problem = await checkStatement(e, check, signers);
    if (problem) problems.push({ line, message: problem });
    else signatures++;
  }
  return { problems, signatures, unsigned: e.writerSignature === undefined, written };
}

type StatementCheck = { namespace: SignatureNamespace; message: string; claimed: string };

/** The signed statement a record carries (approval, plan, break-glass), or a problem, or undefined for none. */
function statementOf(e: AuditEvent): StatementCheck | { problem: string } | undefined {
  if (e.type === 'approval.recorded' && e.approvalSource !== 'cloudbuild') {
    const approver = e.approver ?? e.actor;
    return {
      namespace: NAMESPACES.approval,
      claimed: approver,
      message: approvalStatement({
        planId: e.planId ?? '',
        service: e.service,
        environment: e.environment,
        approver,
        time: e.time,
        expiresAt: e.expiresAt ?? '',
        ...(e.comment ? { comment: e.comment } : {}),
      }),
    };
  }
  if (e.type === 'plan.created' && e.signature) {
    return {
      namespace: NAMESPACES.plan,
      claimed: e.actor,
      message: planStatement({ id: e.planId ?? '', service: e.service, environment: e.environment }),
    };
  }
  if (e.breakGlass) {
    const mismatch = breakGlassMismatch(e);
    if (mismatch) return { problem: `break-glass ${e.type} by ${e.actor}: ${mismatch}` };
    return { namespace: NAMESPACES.breakGlass, claimed: e.actor, message: e.signedStatement ?? '' };
  }
  return undefined;
}

/** Verifies one statement signature and that it is by the principal the record names; the problem, if any. */
async function checkStatement(e: AuditEvent, check: StatementCheck, signers: AllowedSigners | undefined): Promise<string | undefined> {
  if (!signers) return `${e.type} by ${check.claimed}: cannot check its signature without the allowed-signers file`;
  try {
    const who = await verifySignature(signers, check.namespace, check.message, e.signature, `${e.type} by ${check.claimed}`);
    return who.principal.toLowerCase() === check.claimed.toLowerCase()
      ? undefined
      : `${e.type} names ${check.claimed}, but it is signed by ${who.principal}`;
  } catch (err) {
    if (!(err instanceof C2CError)) throw err;
    return err.message;
  }
}

/** Verifies a record's writer signature over everything in it; the problem, if any (an unsigned record is one). */
export async function checkWriter(e: AuditEvent, signers: AllowedSigners | undefined): Promise<string | undefined> {
  const what = `${e.type} written by ${e.writer ?? '(no writer)'}`;
  if (e.writerSignature === undefined) return `${e.type} is unsigned (written without a key listed in the allowed signers)`;
  if (!signers) return `${what}: cannot check the writer's signature without the allowed-signers file`;
  try {
    const who = await verifySignature(
      signers,
      NAMESPACES.audit,
      auditRecordStatement(e as unknown as Record<string, unknown>),
      e.writerSignature,
      what,
    );
    return who.principal.toLowerCase() === (e.writer ?? '').toLowerCase() ? undefined : `${what}, but signed by ${who.principal}`;
  } catch (err) {
    if (!(err instanceof C2CError)) throw err;
    return `${err.message.replace(/: the signed content was changed$/, '')}: this record was changed after it was written`;
  }
}

/**
 * A record whose `prev` is not the hash of the line before: when that record is signed by its writer, its link is
 * authentic and the line before it is the one changed (or a record was removed or inserted there); when it is
 * unsigned, either line may be the changed one, and the earlier is named.
 */
function attributeChainBreak(p: AuditProblem, signedAfter: boolean, read: AuditRead): AuditProblem {
  const i = read.lines.indexOf(p.line);
  // A record with no link at all was written by hand (or by an old version): it is the bad line itself.
  if (i >= 0 && read.events[i].prev === undefined) return { line: p.line, message: p.message };
  if (p.line === 1) return { line: 1, message: `${p.message} (records before line 1 were removed)` };
  const before = p.line - 1;
  const writer = i >= 0 ? read.events[i].writer : undefined;
  return signedAfter
    ? {
        line: before,
        message: `changed, or a record was removed or inserted after it: line ${p.line} (signed by ${writer}) links to another record`,
      }
    : {
        line: before,
        message: `line ${before} or line ${p.line} was changed, or a record was removed or inserted between them (line ${p.line} is unsigned, so which one cannot be told)`,
      };
}

/**
 * Each anchor must name a line of the log, in order: a version applied later names a later line. The first anchor the
 * log does not hold means the log was truncated, deleted or rewritten from the line after the last anchor it holds.
 */
export function checkAnchors(read: AuditRead, anchors: readonly AuditAnchor[]): AuditProblem[] {
  const problems: AuditProblem[] = [];
  let lastLine = 0;
  for (const a of [...anchors].sort((x, y) => Date.parse(x.version) - Date.parse(y.version))) {
    const index = read.hashes.indexOf(a.head);
    if (index < 0) {
      problems.push({
        line: lastLine + 1,
        message:
          read.hashes.length === 0
            ? `the audit log is empty or missing, but ${a.appId} version ${a.version} was applied through the gate (audit head ${a.head.slice(0, 12)})`
            : `from line ${lastLine + 1} on, the log does not hold the record ${a.head.slice(0, 12)} that ${a.appId} version ${a.version} was applied under: records were removed, or the log was rewritten or replaced`,
      });
      return problems;
    }
    const e = read.events[read.lines.indexOf(index + 1)];
    if (!e || e.type !== 'apply.authorized' || (a.planId !== undefined && e.planId !== a.planId)) {
      problems.push({
        line: index + 1,
        message: `${a.appId} version ${a.version} names this line as its apply record, but it is not the authorization of plan ${a.planId ?? '(none)'}`,
      });
    }
    lastLine = Math.max(lastLine, index + 1);
  }
  return problems;
}

/** The anchors Marathon keeps: every stored version of every production app that carries `c2c.audit-head`. */
export async function readAnchors(client: MarathonClient): Promise<AuditAnchor[]> {
  const anchors: AuditAnchor[] = [];
  const apps = (await client.listApps()).filter((a) => a.labels[LABEL_ENV] === 'production');
  for (const app of apps) {
    for (const version of await client.listVersions(app.id)) {
      const def = await client.getVersion(app.id, version);
      const labels = (def.labels ?? {}) as Record<string, unknown>;
      const head = labels[STAMP_LABELS.auditHead];
      if (typeof head !== 'string') continue;
      const planId = labels[STAMP_LABELS.planId];
      anchors.push({ appId: app.id, version, head, ...(typeof planId === 'string' ? { planId } : {}) });
    }
  }
  return anchors;
}

/**
 * What a break-glass record says that its signed statement does not: another service or environment, another reason,
 * another target version (when one was named). The signed statement is what counts; the record's fields must be its
 * copy. Undefined when they agree.
 */
export function breakGlassMismatch(e: AuditEvent): string | undefined {
  const signed = parseBreakGlass(e.signedStatement);
  if (!signed) return 'its signed statement is missing or not a break-glass statement';
  if (signed.service !== e.service || signed.environment !== e.environment)
    return 'its signed statement names another service or environment';
  if (e.reason !== `BREAK-GLASS: ${signed.reason}`) return `its reason is not the signed one (${JSON.stringify(signed.reason)})`;
  // A rollback's records name its target, but `rollback.succeeded` names the new version Marathon made of it (§11 C).
  if (signed.to !== null && e.type.startsWith('rollback.') && e.type !== 'rollback.succeeded' && e.appVersion !== signed.to) {
    return `its target ${e.appVersion ?? '(none)'} is not the signed one (${signed.to})`;
  }
  return undefined;
}

/** A break-glass statement as signed: service, environment, target (null: the newest known good), force, reason, time. */
export interface BreakGlassStatement {
  readonly service: string;
  readonly environment: string;
  readonly to: string | null;
  readonly force: boolean;
  readonly reason: string;
  readonly time: string;
}

/** Parses a signed break-glass statement; undefined when it is not one. */
export function parseBreakGlass(text: string | undefined): BreakGlassStatement | undefined {
  const v = parseStatement(text);
  if (!v || v.statement !== 'c2c.break-glass/v1') return undefined;
  const { service, environment, to, force, reason, time } = v;
  if (typeof service !== 'string' || typeof environment !== 'string' || typeof reason !== 'string' || typeof time !== 'string')
    return undefined;
  if (to !== null && typeof to !== 'string') return undefined;
  return { service, environment, to, force: force === true, reason, time };
}

function parseStatement(text: string | undefined): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text ?? '') as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
