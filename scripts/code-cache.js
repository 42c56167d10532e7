// Loads a built entry point as a CommonJS module, as require() would, compiled with a V8 code cache: the bytecode of
// the functions the entry's first run after a build compiled, which spares most of the compile on later starts
// (scripts/run.js, for every command). The cache is a build product kept in dist/.code-cache/ and is used only for the
// exact bytes it was made from: its first 64 characters are the SHA-256 of the entry's source, and a cache made from
// other bytes is ignored and rewritten (V8 itself checks only the source's length, so an edit of the same length would
// otherwise run the old code). V8 rejects a cache from another Node version or other flags; the entry is then compiled
// from source, as without a cache, and the cache rewritten.
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');

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

module.exports = { runWithCodeCache };
