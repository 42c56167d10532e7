import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { C2CError } from '../errors';
import { googleAuthFromEnv } from '../google/http';
import { gcsSink } from './gcs';
import { AuditEvent, AuditFilter, AuditProblem, AuditSink, AuditWriter, auditRecordStatement, GENESIS, NewAuditEvent } from './types';

export type { AuditEvent, AuditEventType, AuditFilter, AuditProblem, AuditSink, AuditWriter, NewAuditEvent } from './types';
export { auditRecordStatement, GENESIS } from './types';

/** The default local log, relative to the working directory. */
export const DEFAULT_AUDIT_LOG = '.c2c/audit.jsonl';

/** SHA-256 (hex) of one stored line: the hash chain's link. */
export function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

/** What a read of the whole log found: the records that parse, and every line that was skipped or breaks the chain. */
export interface AuditRead {
  readonly events: AuditEvent[];
  /** Line number (1-based) of each event in `events`. */
  readonly lines: number[];
  /** SHA-256 of every stored line (index = line number - 1): what anchors outside the log name. */
  readonly hashes: string[];
  readonly problems: AuditProblem[];
}

/**
 * Parses stored lines and checks the hash chain. A line that is not a JSON record is reported with its number and
 * skipped; a record whose `prev` is not the hash of the line before it is reported (something was edited, removed
 * or inserted) and still read. Nothing here throws: a damaged log never blocks a reader such as a rollback.
 */
export function parseAuditLines(rawLines: readonly string[]): AuditRead {
  const events: AuditEvent[] = [];
  const lines: number[] = [];
  const problems: AuditProblem[] = [];
  const hashes = rawLines.map(lineHash);
  rawLines.forEach((raw, i) => {
    const line = i + 1;
    const expected = i === 0 ? GENESIS : hashes[i - 1];
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      problems.push({ line, message: 'not valid JSON; skipped' });
      return;
    }
    const e = data as Partial<AuditEvent>;
    if (!data || typeof data !== 'object' || typeof e.type !== 'string' || typeof e.time !== 'string' || typeof e.service !== 'string') {
      problems.push({ line, message: 'not an audit record (needs type, time, service); skipped' });
      return;
    }
    if (e.prev !== expected) {
      problems.push({
        line,
        chain: true,
        message:
          e.prev === undefined
            ? 'has no hash-chain link (prev): written by hand or by an old version'
            : `hash chain broken: prev ${String(e.prev).slice(0, 12)} is not the hash of line ${line - 1} (${expected.slice(0, 12)}): a line before it was changed, removed or inserted`,
      });
    }
    events.push(data as AuditEvent);
    lines.push(line);
  });
  return { events, lines, hashes, problems };
}

/**
 * The one module that writes the audit log. Every record carries the SHA-256 of the record before it, so an edit,
 * a removal or an insertion anywhere but at the end shows (`deploy audit verify`). `AuditLog.open()` picks the sink
 * from its argument, else `C2C_AUDIT_LOG`, else `gs://$C2C_AUDIT_BUCKET/events/` (what the platform's build steps
 * set), else `.c2c/audit.jsonl`; a `gs://bucket/prefix` location writes one write-once object per record to a bucket
 * whose retention policy keeps them (declared by the platform constructs).
 */
export class AuditLog {
  private writer?: AuditWriter;

  private constructor(private readonly sink: AuditSink) {}

  /** From now on every record is signed by `writer` (the CLI sets it when the user has a listed key). */
  signWith(writer: AuditWriter): void {
    this.writer = writer;
  }

  /** The principal records are signed by, if any. */
  get signedBy(): string | undefined {
    return this.writer?.principal;
  }

  /** `env` is the environment the CLI read once (libraries never read `process.env`). */
  static open(location?: string, env: Readonly<Record<string, string | undefined>> = {}): AuditLog {
    const where = location ?? env.C2C_AUDIT_LOG ?? (env.C2C_AUDIT_BUCKET ? `gs://${env.C2C_AUDIT_BUCKET}/events/` : DEFAULT_AUDIT_LOG);
    if (where.startsWith('gs://')) {
      return new AuditLog(
        gcsSink(where, { auth: googleAuthFromEnv(env), ...(env.C2C_GCS_BASE_URL ? { baseUrl: env.C2C_GCS_BASE_URL } : {}) }),
      );
    }
    return new AuditLog(fileSink(resolve(where)));
  }

  /** For tests and other stores. */
  static withSink(sink: AuditSink): AuditLog {
    return new AuditLog(sink);
  }

  /** A log in memory (unit tests): `lines` is what a file would hold. */
  static inMemory(): AuditLog & { readonly lines: string[] } {
    const lines: string[] = [];
    const log = new AuditLog({
      location: 'memory',
      append: async (line) => {
        lines.push(await line(lines.length ? lineHash(lines[lines.length - 1]) : GENESIS));
      },
      readAll: async () => [...lines],
    });
    return Object.assign(log, { lines });
  }

  get location(): string {
    return this.sink.location;
  }

  async record(event: NewAuditEvent): Promise<AuditEvent> {
    return (await this.append(event)).event;
  }

  /**
   * Writes a record and returns it with the SHA-256 of its stored line (the head of the log once written): what the
   * gate anchors outside the log. With a writer, the record is signed over everything in it, `prev` included.
   */
  async append(event: NewAuditEvent): Promise<{ event: AuditEvent; hash: string }> {
    let full: AuditEvent | undefined;
    let text = '';
    const writer = this.writer;
    await this.sink.append(async (prev) => {
      const unsigned: AuditEvent = {
        id: randomUUID(),
        ...event,
        time: event.time ?? new Date().toISOString(),
        prev,
        ...(writer ? { writer: writer.principal, writerKey: writer.fingerprint } : {}),
      };
      full = writer
        ? { ...unsigned, writerSignature: await writer.sign(auditRecordStatement(unsigned as unknown as Record<string, unknown>)) }
        : unsigned;
      text = JSON.stringify(full);
      return text;
    });
    return { event: full as AuditEvent, hash: lineHash(text) };
  }

  /** Every line, parsed, with the problems found (malformed lines, chain breaks, gaps the store can see). */
  async read(): Promise<AuditRead> {
    const read = parseAuditLines(await this.sink.readAll());
    const more = this.sink.integrity ? await this.sink.integrity() : [];
    return more.length === 0 ? read : { ...read, problems: [...read.problems, ...more].sort((a, b) => a.line - b.line) };
  }

  /** Records in time order, filtered; malformed lines are skipped (see `read()` for what was skipped). */
  async list(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    return filterEvents((await this.read()).events, filter);
  }
}

/** Records matching `filter`, in time order. */
export function filterEvents(all: readonly AuditEvent[], filter: AuditFilter = {}): AuditEvent[] {
  return all
    .filter((e) => filter.service === undefined || e.service === filter.service)
    .filter((e) => filter.environment === undefined || e.environment === filter.environment)
    .filter((e) => filter.since === undefined || Date.parse(e.time) >= filter.since.getTime())
    .filter((e) => filter.types === undefined || filter.types.includes(e.type))
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** Writers in this process, per file: one append at a time (the lock file serializes other processes). */
const queues = new Map<string, Promise<unknown>>();

function fileSink(path: string): AuditSink {
  const readLines = async (): Promise<string[]> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
        throw new C2CError('USAGE', `audit log ${path} is a directory`, { hint: 'point C2C_AUDIT_LOG at a file' });
      }
      throw err;
    }
    return text.split('\n').filter((l) => l.trim() !== '');
  };
  const append = async (line: (prevHash: string) => string | Promise<string>): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const unlock = await lockFile(`${path}.lock`);
    try {
      const { last, endsWithNewline } = await lastLine(path);
      const text = await line(last === undefined ? GENESIS : lineHash(last));
      const fh = await open(path, 'a');
      try {
        // A torn last line (a crash mid-write) stays a line of its own.
        await fh.write(`${endsWithNewline ? '' : '\n'}${text}\n`);
      } finally {
        await fh.close();
      }
    } finally {
      await unlock();
    }
  };
  return {
    location: path,
    append: (line) => {
      const next = (queues.get(path) ?? Promise.resolve()).catch(() => undefined).then(() => append(line));
      queues.set(path, next);
      return next;
    },
    readAll: readLines,
  };
}

/** The last non-empty line of a file (read from its end), and whether the file ends with a newline. */
async function lastLine(path: string): Promise<{ last?: string; endsWithNewline: boolean }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { endsWithNewline: true };
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return { endsWithNewline: true };
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      const text = buf.toString('utf8');
      const lines = text.split('\n');
      const endsWithNewline = text.endsWith('\n');
      const complete = start === 0 ? lines : lines.slice(1);
      const nonEmpty = complete.filter((l) => l.trim() !== '');
      if (nonEmpty.length > 0 || start === 0) return { last: nonEmpty[nonEmpty.length - 1], endsWithNewline };
      chunk *= 4;
    }
  } finally {
    await fh.close();
  }
}

const STALE_LOCK_MS = 30_000;
/** A lock dated further ahead than this is from a wrong clock or a forger: stale. */
const FUTURE_LOCK_MS = 2_000;

/**
 * An exclusive lock file (O_EXCL); a lock older than 30 s is a crashed writer's and is taken over, and so is a lock
 * dated in the future (it would otherwise never grow old).
 */
async function lockFile(lock: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 60_000;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      const fh = await open(lock, 'wx');
      await fh.close();
      return () => unlink(lock).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > STALE_LOCK_MS || age < -FUTURE_LOCK_MS) await unlink(lock).catch(() => undefined);
    if (Date.now() > deadline) {
      throw new C2CError('AUDIT_WRITE', `audit log is locked by another writer (${lock})`, {
        hint: 'another deploy is writing; if none is running, remove the lock file',
      });
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}
