import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireWorkLock, lockPathOf } from '../../../lib/demo/work-lock';
import { C2CError } from '../../../lib/errors';

const base = mkdtempSync(join(tmpdir(), 'c2c-work-lock-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function caught(f: () => unknown): C2CError {
  try {
    f();
  } catch (err) {
    if (err instanceof C2CError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

it('writes pid, host and start time next to the directory (creating its parent), and release removes it', () => {
  const dir = join(base, 'a', 'demo');
  const lock = acquireWorkLock(dir, new Date('2026-12-07T18:00:00Z'));
  expect(lock.path).toBe(`${dir}.lock`);
  expect(JSON.parse(readFileSync(lockPathOf(dir), 'utf8'))).toEqual({
    pid: process.pid,
    host: hostname(),
    since: '2026-12-07T18:00:00.000Z',
  });
  expect(lock.tookOver).toBeUndefined();
  lock.release();
  expect(existsSync(lock.path)).toBe(false);
});

it('refuses a second holder while the first lives, naming it', () => {
  const dir = join(base, 'b');
  const first = acquireWorkLock(dir, new Date('2026-12-07T18:00:00Z'));
  const err = caught(() => acquireWorkLock(dir));
  expect(err.code).toBe('WORKDIR_LOCKED');
  expect(err.message).toBe(
    `${dir} is in use by the main job pid ${process.pid} on ${hostname()}, running since 2026-12-07T18:00:00.000Z: wait for it, stop it (kill -INT ${process.pid}), or run with --workdir <another dir>`,
  );
  first.release();
});

it('takes over the lock of a pid that no longer runs on this host, but not one from another host', () => {
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const dir = join(base, 'c');
  const stale = { pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z' };
  writeFileSync(lockPathOf(dir), JSON.stringify(stale));
  const lock = acquireWorkLock(dir);
  expect(lock.tookOver).toEqual(stale);
  lock.release();
  writeFileSync(lockPathOf(dir), JSON.stringify({ ...stale, host: `not-${hostname()}` }));
  expect(caught(() => acquireWorkLock(dir)).code).toBe('WORKDIR_LOCKED');
});

it('refuses an unreadable lock and says to remove it if no job runs', () => {
  const dir = join(base, 'd');
  writeFileSync(lockPathOf(dir), 'garbage');
  expect(caught(() => acquireWorkLock(dir)).message).toBe(
    `${dir} is locked by ${dir}.lock, which does not say who holds it: if no main job is running, remove it; or run with --workdir <another dir>`,
  );
});

it('release leaves a lock that another run holds now', () => {
  const dir = join(base, 'e');
  const lock = acquireWorkLock(dir);
  const other = JSON.stringify({ pid: 1, host: hostname(), since: '2026-01-01T00:00:00.000Z' });
  writeFileSync(lock.path, other);
  lock.release();
  expect(readFileSync(lock.path, 'utf8')).toBe(other);
});
