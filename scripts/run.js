#!/usr/bin/env node
// Runs a built entry point, rebuilding dist/ first when any source is newer (about 0.2 s; a no-op otherwise).
// Usage: node scripts/run.js <scripts/name | bench/name | main> [args...]   (scripts/run.mjs is the same)
// CommonJS, so that a command starts without Node's ESM loader (about 20 ms of CPU each time); the entry is loaded with
// a V8 code cache in dist/.code-cache/ (scripts/code-cache.js).
'use strict';
const { createHash } = require('node:crypto');
const { join } = require('node:path');
const { runWithCodeCache } = require('./code-cache.js');
const { dist, isStale, root } = require('./stale.js');

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/run.js <scripts/NAME|bench/NAME|main> [args...]\n');
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
  // One cache per entry and set of Node flags (bin/deploy passes some): V8 rejects a cache made under other flags.
  const flags = createHash('sha256').update(process.execArgv.join('\0')).digest('hex').slice(0, 12);
  runWithCodeCache(file, join(dist, '.code-cache', `${entry.replace(/[^A-Za-z0-9_-]/g, '_')}.${flags}.bin`));
}
