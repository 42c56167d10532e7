#!/usr/bin/env node
// Runs a built entry point, rebuilding dist/ first when any source is newer (about 0.2 s; a no-op otherwise).
// Usage: node scripts/run.js <scripts/name | bench/name | main> [args...]   (scripts/run.mjs is the same)
// CommonJS, so that a command starts without Node's ESM loader (about 20 ms of CPU each time). (A V8 code cache for the
// entry, through vm.Script, was tried: Node 20 then cannot run the entry's import() of zx and vega without a flag.)
'use strict';
const { join } = require('node:path');
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
  require(file);
}
