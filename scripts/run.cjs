#!/usr/bin/env node
// Runs a built entry point, rebuilding dist/ first when any source is newer (about 0.2 s; a no-op otherwise).
// Usage: node scripts/run.cjs <scripts/name | bench/name | main> [args...]   (scripts/run.mjs is the same)
// CommonJS, so that a command starts without Node's ESM loader (about 20 ms of CPU each time).
//
// The entry is compiled with a V8 code cache, dist/.code-cache/<entry>.bin: the bytecode of the functions the last
// start ran, which spares most of the compile on the next start. The cache is a build product like dist/ itself and is
// used only for the exact bytes it was made from: its first 64 characters are the SHA-256 of the entry's source, and
// a cache for other bytes is ignored and rewritten (V8 alone checks only the source's length). V8 itself rejects a
// cache from another Node version or other flags, and the entry is then compiled from source as without a cache.
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');
const { dist, isStale, root } = require('./stale.cjs');

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/run.cjs <scripts/NAME|bench/NAME|main> [args...]\n');
  process.exit(2);
}
// Paths the user types are theirs (scripts/cli-kit.ts callerPath resolves them against INIT_CWD, which npm sets to
// where `npm run` was typed); defaults such as .c2c/ are the checkout's, wherever the command was started from.
process.env.INIT_CWD ||= process.cwd();
process.chdir(root);
// esbuild is loaded only when there is something to build.
if (isStale()) {
  import('./build.mjs')
    .then((build) => build.buildAll({ quiet: true }))
    .then(start, (err) => {
      process.stderr.write(`build failed: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    });
} else start();

function start() {
  const file = join(dist, `${entry}.js`);
  process.argv = [process.argv[0], file, ...rest];
  runWithCodeCache(file, join(dist, '.code-cache', `${entry.replace(/[^A-Za-z0-9_-]/g, '_')}.bin`));
}

/** Loads `file` as a CommonJS module, as require() would, compiling it with the code cache at `cacheFile`. */
function runWithCodeCache(file, cacheFile) {
  let source;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return require(file); // what require() says for an entry that is not there (an unknown name)
  }
  const hash = createHash('sha256').update(source).digest('hex');
  let cachedData;
  try {
    const cache = readFileSync(cacheFile);
    if (cache.subarray(0, 64).toString('latin1') === hash) cachedData = cache.subarray(64);
  } catch {
    // No cache yet.
  }
  // A `#!` line is a comment to Node's loader, but not inside the module wrapper; keep its length, so columns match.
  const script = new vm.Script(Module.wrap(source.replace(/^#!/, '//')), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachedData === undefined || script.cachedDataRejected) process.once('exit', () => saveCache(script, hash, cacheFile));
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  Module._cache[file] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
}

/** Writes the cache (the functions compiled so far) atomically; a cache that cannot be written is only a slower start. */
function saveCache(script, hash, cacheFile) {
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([Buffer.from(hash, 'latin1'), script.createCachedData()]));
    renameSync(tmp, cacheFile);
  } catch {
    // Read-only checkout: start without a cache.
  }
}
