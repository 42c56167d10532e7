#!/usr/bin/env node
// Runs a built entry point, rebuilding dist/ first when any source is newer (about 0.2 s; a no-op otherwise).
// Usage: node scripts/run.mjs <scripts/name | bench/name | main> [args...]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isStale, root } from './stale.mjs';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/run.mjs <scripts/NAME|bench/NAME|main> [args...]\n');
  process.exit(2);
}
// Paths the user types are theirs (scripts/cli-kit.ts callerPath resolves them against INIT_CWD, which npm sets to
// where `npm run` was typed); defaults such as .c2c/ are the checkout's, wherever the command was started from.
process.env.INIT_CWD ||= process.cwd();
process.chdir(root);
// esbuild is loaded only when there is something to build.
if (isStale()) await (await import('./build.mjs')).buildAll({ quiet: true });
process.argv = [process.argv[0], join(root, 'dist', `${entry}.js`), ...rest];
createRequire(import.meta.url)(join(root, 'dist', `${entry}.js`));
