// scripts/code-cache.js, how every command loads its built entry: a V8 code cache that is used only for the exact
// bytes it was made from. V8 alone checks only the source's length, so the cache is keyed by the source's SHA-256.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const loader = join(__dirname, '..', '..', 'scripts', 'code-cache.js');
const dir = mkdtempSync(join(tmpdir(), 'c2c-code-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = join(dir, 'entry.js');
const cacheFile = join(dir, 'cache', 'entry.bin');

/** Runs `entry` through the loader in a fresh Node process; returns what it printed. */
function run(...args: string[]): string {
  const code = `require(${JSON.stringify(loader)}).runWithCodeCache(process.argv[1], process.argv[2])`;
  return execFileSync(process.execPath, ['-e', code, entry, cacheFile, ...args], { encoding: 'utf8' });
}

/** An entry of a fixed length that prints `word` (and its module's file name and its arguments). */
function writeEntry(word: string): void {
  writeFileSync(
    entry,
    `#!/usr/bin/env node\nconsole.log(${JSON.stringify(word)}, module.filename === __filename, require.resolve('node:fs'));\n`,
  );
  utimesSync(entry, 1_000_000, 1_000_000);
}

it('runs an entry as a module, keeps a cache of it, and runs an edit of the same length and time as edited', () => {
  writeEntry('alpha');
  expect(run()).toBe('alpha true node:fs\n');
  const cache = readFileSync(cacheFile);
  expect(cache.subarray(0, 64).toString('latin1')).toMatch(/^[0-9a-f]{64}$/);
  expect(run()).toBe('alpha true node:fs\n');
  // The same length and modification time: only the content tells the two apart.
  writeEntry('omega');
  expect(run()).toBe('omega true node:fs\n');
  expect(readFileSync(cacheFile).subarray(0, 64)).not.toEqual(cache.subarray(0, 64));
});

it('ignores a cache whose data is not V8 code cache', () => {
  writeEntry('gamma');
  run();
  const header = readFileSync(cacheFile).subarray(0, 64);
  writeFileSync(cacheFile, Buffer.concat([header, Buffer.from('not a code cache')]));
  expect(run()).toBe('gamma true node:fs\n');
  expect(readFileSync(cacheFile).length).toBeGreaterThan(64 + 'not a code cache'.length);
});
