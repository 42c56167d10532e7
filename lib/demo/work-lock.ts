/**
 * The main job's lock on its work directory: `<workdir>.lock`, created atomically (O_EXCL) and holding the pid, host
 * and start time of the run that holds it, so a second run cannot wipe the directory under the first. A lock whose
 * pid no longer runs on this host is stale and is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { C2CError } from '../errors';

/** What a lock file holds. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO 8601 */
  readonly since: string;
}

/** A held lock: release it on every exit path (it only removes the file while the file is still this run's). */
export interface WorkLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** The stale lock this run took over, if any. */
  readonly tookOver?: LockHolder;
  release(): void;
}

/** The lock file of a work directory. */
export function lockPathOf(workdir: string): string {
  return `${workdir.replace(/\/+$/, '')}.lock`;
}

/**
 * Takes the lock of `workdir` for this process.
 * @throws C2CError WORKDIR_LOCKED when a live run (or a run on another host, or an unreadable lock) holds it
 */
export function acquireWorkLock(workdir: string, now: Date = new Date()): WorkLock {
  const path = lockPathOf(workdir);
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: now.toISOString() };
  let tookOver: LockHolder | undefined;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createExclusive(path, `${JSON.stringify(holder)}\n`)) return held(path, holder, tookOver);
    const current = readHolder(path);
    if (current === 'gone') continue;
    if (current === undefined || !isStale(current, holder.host)) throw lockedError(workdir, path, current);
    tookOver = current;
    removeIfUnchanged(path, current);
  }
  throw lockedError(workdir, path, readHolderOrUndefined(path));
}

function held(path: string, holder: LockHolder, tookOver: LockHolder | undefined): WorkLock {
  let released = false;
  return {
    path,
    holder,
    tookOver,
    release() {
      if (released) return;
      released = true;
      const current = readHolder(path);
      if (current !== 'gone' && current?.pid === holder.pid && current.since === holder.since) unlinkQuietly(path);
    },
  };
}

/** true when this call created the file; false when it exists. */
function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The holder, `'gone'` when there is no file, undefined when the file does not say who holds it. */
function readHolder(path: string): LockHolder | 'gone' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string' && typeof v.since === 'string')
      return { pid: v.pid as number, host: v.host, since: v.since };
  } catch {
    // not JSON: see below
  }
  return undefined;
}

function readHolderOrUndefined(path: string): LockHolder | undefined {
  const h = readHolder(path);
  return h === 'gone' ? undefined : h;
}

/** Stale: the holder ran on this host and its pid no longer runs (a pid on another host cannot be checked). */
function isStale(h: LockHolder, host: string): boolean {
  if (h.host !== host) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes a stale lock only while it still names the same holder (another run may have taken it over meanwhile). */
function removeIfUnchanged(path: string, stale: LockHolder): void {
  const now = readHolder(path);
  if (now !== 'gone' && now?.pid === stale.pid && now.since === stale.since) unlinkQuietly(path);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** One line: who holds the lock, since when, and what to do. */
function lockedError(workdir: string, path: string, h: LockHolder | undefined): C2CError {
  const message = h
    ? `${workdir} is in use by the main job pid ${h.pid} on ${h.host}, running since ${h.since}: wait for it, stop it (kill -INT ${h.pid}), or run with --workdir <another dir>`
    : `${workdir} is locked by ${path}, which does not say who holds it: if no main job is running, remove it; or run with --workdir <another dir>`;
  return new C2CError('WORKDIR_LOCKED', message, { details: h });
}
