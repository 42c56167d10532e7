// The deploy bundle's SHA-256 names the object builds fetch and is checked by every build: it must be the same from
// any checkout of the same sources and lock file, wherever node_modules resolves.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'c2c-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `code` in a real Node process as an ES module with `build` = scripts/build.mjs (jest runs CommonJS). */
function withBuild(code: string, args: readonly string[] = []): string {
  const prelude = `const build = await import(${JSON.stringify(join(root, 'scripts', 'build.mjs'))});\n`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', prelude + code, '--', ...args], { encoding: 'utf8' });
}

it('labels wrapped modules by their path under node_modules only', () => {
  const input =
    'var a=__commonJS({"../../x/node_modules/commander/lib/error.js"(e){}});' +
    'var b=__commonJS({"node_modules/a/node_modules/b/i.js"(e){}});var c=__esm({"/abs/node_modules/zx/x.js"(){}});' +
    'var s="see node_modules/foo"';
  expect(withBuild('process.stdout.write(build.normalizeBundle(process.argv[1]));', [input])).toBe(
    'var a=__commonJS({"node_modules/commander/lib/error.js"(e){}});' +
      'var b=__commonJS({"node_modules/a/node_modules/b/i.js"(e){}});var c=__esm({"node_modules/zx/x.js"(){}});' +
      'var s="see node_modules/foo"',
  );
});

it('builds the same bytes from another checkout whose node_modules is one folder up', () => {
  const checkout = join(dir, 'elsewhere', 'checkout');
  for (const part of ['scripts', 'lib', 'services', 'constructs', 'templates', 'package.json', 'tsconfig.json']) {
    cpSync(join(root, part), join(checkout, part), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'elsewhere', 'node_modules'), 'dir');
  const bundle = (from: string, outfile: string) =>
    withBuild('process.stdout.write(await build.buildDeployBundle({ from: process.argv[1], outfile: process.argv[2] }));', [from, outfile]);
  const here = bundle(root, join(dir, 'a.cjs'));
  const there = bundle(checkout, join(dir, 'b.cjs'));
  expect(here).toMatch(/^[0-9a-f]{64}$/);
  expect(there).toBe(here);
  expect(readFileSync(join(dir, 'b.cjs'), 'utf8')).toBe(readFileSync(join(dir, 'a.cjs'), 'utf8'));
  expect(readFileSync(join(dir, 'a.cjs'), 'utf8')).not.toContain(root);
});
