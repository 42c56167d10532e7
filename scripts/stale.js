// Whether dist/ is older than the sources: what `node scripts/run.js` asks before every command, so it loads nothing
// but node:fs (esbuild is loaded by scripts/build.mjs only when a build is needed) and stops at the first newer file.
// CommonJS (a .js file here), not ESM: starting Node's ESM loader costs about 20 ms of CPU on every command.
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dist = join(root, 'dist');
const stampFile = join(dist, '.stamp');
const sourceDirs = ['constructs', 'services', 'scripts', 'lib', 'bench', 'packages'];
const SOURCE = /\.(ts|mjs|json|sh|tmpl)$/;

/**
 * Visits every source file under `dir` (not dist/ or node_modules/) until `visit` returns true; returns whether it did.
 * Paths are joined by hand: path.join's normalization was most of this walk's time on every start.
 */
function walk(dir, visit) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== 'dist' && e.name !== 'node_modules' && walk(p, visit)) return true;
    } else if (SOURCE.test(e.name) && visit(p)) return true;
  }
  return false;
}

/** Every file whose change should trigger a rebuild. */
function sources() {
  const out = [join(root, 'main.ts'), join(root, 'package.json')];
  for (const d of sourceDirs) walk(join(root, d), (p) => void out.push(p));
  return out;
}

/** True when dist/ is older than any source file (or missing). */
function isStale() {
  if (!existsSync(stampFile)) return true;
  const built = statSync(stampFile).mtimeMs;
  const newer = (p) => (statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? 0) > built;
  return newer(join(root, 'main.ts')) || newer(join(root, 'package.json')) || sourceDirs.some((d) => walk(join(root, d), newer));
}

module.exports = { root, dist, stampFile, sources, isStale };
