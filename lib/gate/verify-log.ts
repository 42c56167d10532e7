import { AuditProblem, AuditRead } from '../audit/log';
import { C2CError } from '../errors';
import { approvalStatement, planStatement } from './gate';
import { AllowedSigners, NAMESPACES, SignatureNamespace, verifySignature } from '../signing';

/** The outcome of `deploy history --verify`. */
export interface LogVerification {
  readonly records: number;
  readonly signatures: number;
  /** Every problem, by line: malformed lines, chain breaks, signatures that do not verify. Empty = intact. */
  readonly problems: readonly AuditProblem[];
}

/**
 * Checks a whole audit log: the hash chain (from `read`), and every signature it carries against the allowed signers:
 * approvals made at a terminal (which must be signed), signed plans, break-glass rollbacks. Signed records are checked
 * whatever the gate would do with them, so a forged line shows even when nothing used it.
 */
export async function verifyAuditLog(read: AuditRead, signers: AllowedSigners | undefined): Promise<LogVerification> {
  const problems: AuditProblem[] = [...read.problems];
  let signatures = 0;
  for (const [i, e] of read.events.entries()) {
    const line = read.lines[i];
    let check: { namespace: SignatureNamespace; message: string; claimed: string } | undefined;
    if (e.type === 'approval.recorded' && e.approvalSource !== 'cloudbuild') {
      const approver = e.approver ?? e.actor;
      check = {
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
    } else if (e.type === 'plan.created' && e.signature) {
      check = {
        namespace: NAMESPACES.plan,
        claimed: e.actor,
        message: planStatement({ id: e.planId ?? '', service: e.service, environment: e.environment }),
      };
    } else if (e.breakGlass) {
      const signed = parseStatement(e.signedStatement);
      if (!signed || signed.service !== e.service || signed.environment !== e.environment) {
        problems.push({
          line,
          message: `break-glass ${e.type} by ${e.actor}: its signed statement is missing or names another service or environment`,
        });
        continue;
      }
      check = { namespace: NAMESPACES.breakGlass, claimed: e.actor, message: e.signedStatement ?? '' };
    }
    if (!check) continue;
    if (!signers) {
      problems.push({ line, message: `${e.type} by ${check.claimed}: cannot check its signature without the allowed-signers file` });
      continue;
    }
    try {
      const who = await verifySignature(signers, check.namespace, check.message, e.signature, `${e.type} by ${check.claimed}`);
      if (who.principal.toLowerCase() !== check.claimed.toLowerCase()) {
        problems.push({ line, message: `${e.type} names ${check.claimed}, but it is signed by ${who.principal}` });
      } else signatures++;
    } catch (err) {
      if (!(err instanceof C2CError)) throw err;
      problems.push({ line, message: err.message });
    }
  }
  problems.sort((a, b) => a.line - b.line);
  return { records: read.events.length, signatures, problems };
}

function parseStatement(text: string | undefined): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text ?? '') as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
