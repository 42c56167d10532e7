import { EnvironmentName } from '../catalog/types';

/** What happened. Append-only: an event is never changed or removed once written. */
export type AuditEventType =
  | 'plan.created'
  | 'approval.recorded'
  | 'gate.refused'
  /**
   * The gate authorized a plan and the change is sent next: written BEFORE anything is sent (nothing is sent when it
   * cannot be written); its line's hash is the `c2c.audit-head` label of the version it produces.
   */
  | 'apply.authorized'
  | 'apply.started'
  | 'apply.succeeded'
  | 'apply.failed'
  | 'apply.rolled-back'
  | 'apply.noop'
  /** The apply was interrupted (Ctrl-C, SIGTERM) while its deployment ran: the deployment keeps running, owned by `actor`. */
  | 'apply.interrupted'
  /** Marathon stopped answering after the change was sent: version `appVersion` may be live. */
  | 'apply.unknown'
  | 'rollback.started'
  | 'rollback.succeeded'
  | 'rollback.failed'
  /** The rollback was interrupted while its deployment ran: the deployment keeps running, owned by `actor`. */
  | 'rollback.interrupted'
  /** The rollback's target did not get healthy and the version that ran before (`appVersion`) runs again. */
  | 'rollback.reverted'
  /** Marathon stopped answering, or putting back what ran before did not finish: what runs is not known. */
  | 'rollback.unknown'
  /** A blue/green or canary release created its new colour (`comment` names the strategy and its steps). */
  | 'rollout.started'
  /** The new colour reached a step (`rolloutStep`, `trafficPercent`). */
  | 'rollout.step'
  /** The rollout waits for `deploy promote` after a step. */
  | 'rollout.paused'
  | 'rollout.promoted'
  /** Traffic went back to the old colour (by `deploy abort`, or by itself when the analysis failed: `reason`). */
  | 'rollout.aborted'
  /** 100 % on the new colour. */
  | 'rollout.succeeded'
  /** Interrupted, out of time or Marathon gone mid-rollout: both colours keep serving. */
  | 'rollout.interrupted';

/** One audit record, as written (one JSON object per line locally, one object per event in GCS). */
export interface AuditEvent {
  readonly id: string;
  readonly time: string;
  readonly type: AuditEventType;
  readonly service: string;
  readonly environment: EnvironmentName;
  /**
   * Who did it. For plans, approvals and break-glass rollbacks: the principal whose SSH signature verified against the
   * allowed signers. Otherwise who ran the command (DEPLOY_ACTOR, else the git user, else the OS user): informative only,
   * never used by the gate.
   */
  readonly actor: string;
  readonly planId?: string;
  readonly image?: string;
  readonly commit?: string;
  /** When the deployed commit was made (ISO): the start of the DORA lead time. */
  readonly commitTime?: string;
  /** The Marathon app version this event produced or concerns. */
  readonly appVersion?: string;
  readonly previousVersion?: string;
  readonly deploymentId?: string;
  readonly approver?: string;
  readonly approvalSource?: 'cli' | 'cloudbuild';
  readonly comment?: string;
  /** A production rollback done without a new approval (to a known-good version). */
  readonly emergency?: boolean;
  /** A production action outside the rules (rollback to a version not known good, --force), signed, with a reason. */
  readonly breakGlass?: boolean;
  readonly reason?: string;
  readonly durationMs?: number;
  /** Rollouts: the step reached (1-based) and the share of instances on the new colour. */
  readonly rolloutStep?: number;
  readonly trafficPercent?: number;
  /** For approvals: when the approval stops being valid. */
  readonly expiresAt?: string;
  /** The refusal's error code (`gate.refused`). */
  readonly code?: string;
  /** An SSH signature (`ssh-keygen -Y sign`, armored) over the record's signed statement (approvals, plans, break-glass). */
  readonly signature?: string;
  /** Break-glass: the exact statement that was signed (service, environment, target, force, reason, time). */
  readonly signedStatement?: string;
  /** SHA-256 fingerprint of the key that signed, as ssh-keygen prints it (`SHA256:…`). */
  readonly signerKey?: string;
  /** Hash chain: SHA-256 (hex) of the previous record's line exactly as stored; 64 zeros for the first. */
  readonly prev?: string;
  /** Who wrote this record: the allowed-signers principal of the key that signed it (`writerSignature`). */
  readonly writer?: string;
  /** SHA-256 fingerprint of the writer's key. */
  readonly writerKey?: string;
  /**
   * The writer's SSH signature (namespace `c2c-audit@commit-to-cloud`) over the record without this field
   * (`auditRecordStatement`), `prev` included: a signed record cannot be rewritten, nor the records before it.
   */
  readonly writerSignature?: string;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'time' | 'prev' | 'writer' | 'writerKey' | 'writerSignature'> & {
  readonly time?: string;
};

/** Signs records as they are written: a key listed in the allowed signers, made by the layer that holds keys. */
export interface AuditWriter {
  readonly principal: string;
  readonly fingerprint: string;
  /** The armored SSH signature of `message` in the audit namespace. */
  sign(message: string): Promise<string>;
}

/** What a writer signs for a record: everything in it but the signature, as stored. */
export function auditRecordStatement(record: Readonly<Record<string, unknown>>): string {
  const rest = Object.fromEntries(Object.entries(record).filter(([k]) => k !== 'writerSignature'));
  return `c2c.audit/v1\n${JSON.stringify(rest)}\n`;
}

export interface AuditFilter {
  readonly service?: string;
  readonly environment?: EnvironmentName;
  readonly since?: Date;
  readonly types?: readonly AuditEventType[];
}

/**
 * Where records go: a local JSON-lines file, objects in a GCS bucket, or memory (tests). A sink stores lines in order
 * and appends atomically: `append` gives `line` the hash-chain link to the last stored line, under the sink's lock.
 */
export interface AuditSink {
  readonly location: string;
  /** Stores the line `line(prevHash)` after the last one; `prevHash` is the SHA-256 of the last stored line. */
  append(line: (prevHash: string) => string | Promise<string>): Promise<void>;
  /**
   * Problems only the store can see (GCS: a record number missing from the sequence, a generation older than the
   * record before it). @default - none
   */
  integrity?(): Promise<AuditProblem[]>;
  /** Every stored line, oldest first, exactly as stored. */
  readAll(): Promise<string[]>;
}

/** The `prev` of the first record. */
export const GENESIS = '0'.repeat(64);

/** A line of the log that was skipped or breaks the chain: reported, never fatal for readers. */
export interface AuditProblem {
  /** 1-based line number (record number in GCS). */
  readonly line: number;
  readonly message: string;
  /** A broken hash-chain link at `line` (its `prev` is not the hash of the line before). */
  readonly chain?: boolean;
}
