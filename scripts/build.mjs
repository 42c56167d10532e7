#!/usr/bin/env node
// Builds every entry point (main.ts, scripts/*.ts, bench/*.ts, each workspace package's src/cli.ts) into dist/ with
// esbuild: node_modules stay external, so each entry loads in ~100 ms and cdktf runs without source maps.
// Each package under packages/ with a src/cli.ts also gets its bin, packages/<name>/dist/cli.js, one self-contained file.
// It also writes dist/deploy-bundle.cjs: the deploy CLI with every dependency inlined, the single file that
// synthesis publishes to the deploy bucket pinned by its SHA-256, so a build runs the script the platform
// was synthesized with; its bytes do not depend on where the checkout or node_modules are (normalizeBundle).
// Type-checking is `tsc --noEmit` (npm test), not this step.
import { build } from 'esbuild';
import { dist, isStale, root, stampFile } from './stale.js';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export { isStale, root, sources } from './stale.js';

/** The workspace packages that have a command-line entry (packages/<name>/src/cli.ts). */
export function packageClis() {
  const dir = join(root, 'packages');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((p) => existsSync(join(p, 'src', 'cli.ts')));
}

/** The entry points: main.ts, every top-level .ts file in scripts/ and bench/, and each package's src/cli.ts. */
export function entries() {
  const list = [join(root, 'main.ts'), ...packageClis().map((p) => join(p, 'src', 'cli.ts'))];
  for (const d of ['scripts', 'bench']) {
    const dir = join(root, d);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.endsWith('.ts') && !name.endsWith('.d.ts')) list.push(join(dir, name));
  }
  return list;
}

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' };

/**
 * The packages a synthesis loads, inlined into the entries that use them rather than loaded from node_modules: one
 * file to read instead of about 120 modules to resolve, and archiver (which cdktf loads at start for zip assets, and
 * this app never makes) only on first use (`lazyArchiver`). On 2 cores this took the 30-service synth from about 1.6
 * to 1.25 s of CPU. cdktf and constructs are inlined together, so each entry has one copy of each.
 */
const INLINED = new Set(['cdktf', 'constructs', '@cdktf/provider-google', '@cdktf/provider-github']);

/**
 * The npm packages the entry points load from node_modules at run time (a name also covers its subpaths), all but
 * {@link INLINED}. The workspace packages (packages/*, imported by their package name, e.g.
 * `@commit-to-cloud/local-marathon`) are TypeScript sources, so they are bundled instead.
 */
function npmPackages() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => !INLINED.has(name));
}

/**
 * `require('archiver')` in inlined cdktf becomes a function that loads cdktf's own archiver (resolved from cdktf's
 * folder in node_modules, as cdktf would) when first called.
 */
const lazyArchiver = {
  name: 'lazy-archiver',
  setup(b) {
    b.onResolve({ filter: /^archiver$/ }, () => ({ path: 'archiver', namespace: 'lazy-archiver' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-archiver' }, () => ({
      contents:
        'module.exports = (...args) => require("node:module").createRequire(require.resolve("cdktf/package.json"))("archiver")(...args);',
      loader: 'js',
    }));
  },
};

/**
 * The bundle with every module's label made independent of where the checkout and its node_modules are: esbuild names
 * each wrapped CommonJS module by its path relative to the working directory (`"node_modules/commander/lib/error.js"`,
 * or `"../node_modules/..."` when node_modules resolves above the checkout, or through a symlink). The label is only a
 * name, so the same sources and lock file give the same bytes, and the same SHA-256, from any checkout.
 */
export function normalizeBundle(text) {
  return text.replace(/"[^"\n]*?node_modules\/([^"\n]+)"(?=\()/g, '"node_modules/$1"');
}

/** Builds the deploy CLI with every dependency inlined into `outfile` from the checkout at `from`; returns its SHA-256. */
export async function buildDeployBundle({ from = root, outfile = join(dist, 'deploy-bundle.cjs') } = {}) {
  const result = await build({
    ...common,
    absWorkingDir: from,
    entryPoints: [join(from, 'scripts/deploy.ts')],
    outfile,
    minifyWhitespace: true,
    legalComments: 'none',
    write: false,
  });
  const text = normalizeBundle(result.outputFiles[0].text);
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, text);
  return createHash('sha256').update(text).digest('hex');
}

export async function buildAll({ quiet = false } = {}) {
  const started = Date.now();
  mkdirSync(dist, { recursive: true });
  await build({
    ...common,
    absWorkingDir: root,
    entryPoints: entries(),
    outdir: dist,
    outbase: root,
    external: [...npmPackages(), 'cdktf/package.json'],
    plugins: [lazyArchiver],
  });
  for (const pkg of packageClis()) {
    await build({ ...common, absWorkingDir: root, entryPoints: [join(pkg, 'src', 'cli.ts')], outfile: join(pkg, 'dist', 'cli.js') });
    chmodSync(join(pkg, 'dist', 'cli.js'), 0o755);
  }
  const bundle = join(dist, 'deploy-bundle.cjs');
  const sha256 = await buildDeployBundle({ outfile: bundle });
  writeFileSync(join(dist, 'deploy-bundle.sha256'), `${sha256}\n`);
  writeFileSync(stampFile, new Date().toISOString());
  if (!quiet)
    process.stderr.write(
      `built ${entries().length} entries and deploy-bundle.cjs (sha256 ${sha256.slice(0, 12)}) in ${Date.now() - started} ms\n`,
    );
  return { sha256, bundle };
}

if (process.argv[1] && relative(process.argv[1], fileURLToPath(import.meta.url)) === '') {
  const quiet = process.argv.includes('--quiet');
  const ifStale = process.argv.includes('--if-stale');
  if (!ifStale || isStale()) await buildAll({ quiet });
}
