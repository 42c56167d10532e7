import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { EnvironmentName } from '../catalog/types';
import { C2CError } from '../errors';
import { gcsSink } from './gcs';

/** What happened. Append-only: an event is never changed or removed once written. */
export type AuditEventType =
  | 'plan.created'
  | 'approval.recorded'
  | 'gate.refused'
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
  | 'rollback.failed';

/** One audit record, as written (one JSON object per line locally, one object per event in GCS). */
export interface AuditEvent {
  readonly id: string;
  readonly time: string;
  readonly type: AuditEventType;
  readonly service: string;
  readonly environment: EnvironmentName;
  /** Who did it: DEPLOY_ACTOR, else the git user, else the OS user (see lib/gate/identity.ts). */
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
  /** A production rollback done without a new approval. */
  readonly emergency?: boolean;
  readonly reason?: string;
  readonly durationMs?: number;
  /** For approvals: when the approval stops being valid. */
  readonly expiresAt?: string;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'time'> & { readonly time?: string };

export interface AuditFilter {
  readonly service?: string;
  readonly environment?: EnvironmentName;
  readonly since?: Date;
  readonly types?: readonly AuditEventType[];
}

/** Where events go: a local JSON-lines file, or objects in a GCS bucket. */
export interface AuditSink {
  readonly location: string;
  append(event: AuditEvent): Promise<void>;
  readAll(): Promise<AuditEvent[]>;
}

/** The default local log, relative to the working directory. */
export const DEFAULT_AUDIT_LOG = '.c2c/audit.jsonl';

/**
 * The one module that writes the audit log. `AuditLog.open()` picks the sink from its argument, else
 * `C2C_AUDIT_LOG`, else `gs://$C2C_AUDIT_BUCKET/events/` (what the platform's build steps set), else `.c2c/audit.jsonl`; a `gs://bucket/prefix` location writes one object per event to a bucket
 * whose retention policy keeps them (declared by the platform constructs).
 */
export class AuditLog {
  private constructor(private readonly sink: AuditSink) {}

  static open(location?: string, env: NodeJS.ProcessEnv = {}): AuditLog {
    const where = location ?? env.C2C_AUDIT_LOG ?? (env.C2C_AUDIT_BUCKET ? `gs://${env.C2C_AUDIT_BUCKET}/events/` : DEFAULT_AUDIT_LOG);
    if (where.startsWith('gs://')) return new AuditLog(gcsSink(where, env));
    return new AuditLog(fileSink(resolve(where)));
  }

  /** For tests and other stores. */
  static withSink(sink: AuditSink): AuditLog {
    return new AuditLog(sink);
  }

  get location(): string {
    return this.sink.location;
  }

  async record(event: NewAuditEvent): Promise<AuditEvent> {
    const full: AuditEvent = { id: randomUUID(), ...event, time: event.time ?? new Date().toISOString() };
    await this.sink.append(full);
    return full;
  }

  /** Events in time order, filtered. */
  async list(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    const all = await this.sink.readAll();
    return all
      .filter((e) => filter.service === undefined || e.service === filter.service)
      .filter((e) => filter.environment === undefined || e.environment === filter.environment)
      .filter((e) => filter.since === undefined || Date.parse(e.time) >= filter.since.getTime())
      .filter((e) => filter.types === undefined || filter.types.includes(e.type))
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }
}

function fileSink(path: string): AuditSink {
  return {
    location: path,
    async append(event) {
      await mkdir(dirname(path), { recursive: true });
      // One write per line with O_APPEND: concurrent writers interleave whole lines, never bytes.
      await appendFile(path, `${JSON.stringify(event)}\n`, { flag: 'a' });
    },
    async readAll() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const out: AuditEvent[] = [];
      text.split('\n').forEach((line, i) => {
        if (line.trim() === '') return;
        try {
          out.push(JSON.parse(line) as AuditEvent);
        } catch {
          throw new C2CError('AUDIT_CORRUPT', `audit log ${path} line ${i + 1} is not valid JSON`, {
            hint: 'the log is append-only; restore the line from a backup or move the file aside (nothing else reads it)',
          });
        }
      });
      return out;
    },
  };
}
