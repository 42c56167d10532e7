import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { C2CError } from '../../lib/errors';

/**
 * Checks, before anything is sent or recorded, that a file can be written at `path` (named `what` in the message): not
 * a directory, in a directory where a file can be created (probed with a file that is removed at once).
 * @throws C2CError FILE_TARGET (exit 2)
 */
export function checkFileTarget(path: string, what: string): void {
  const bad = (why: string) =>
    new C2CError('FILE_TARGET', `${what} '${path}' ${why}`, { hint: 'give the path of a file in a directory you can write to' });
  const full = resolve(path);
  const stat = statSync(full, { throwIfNoEntry: false });
  if (stat?.isDirectory()) throw bad('is a directory');
  if (stat && !stat.isFile()) throw bad('is not a regular file');
  let dir = dirname(full);
  for (let up = statSync(dir, { throwIfNoEntry: false }); up === undefined; up = statSync(dir, { throwIfNoEntry: false })) {
    if (dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw bad(`cannot be created: ${dir} is not a directory`);
  const probe = join(dir, `.c2c-probe-${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw bad(`cannot be written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} in ${dir}`);
  }
}
