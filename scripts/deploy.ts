#!/usr/bin/env node
// The deploy CLI (`npm run --silent deploy -- <command>`): a thin commander layer over lib/deploy. One module per
// command in scripts/deploy/commands/, each exporting register(program, ctx); shared plumbing in
// scripts/deploy/context.ts. Data goes to stdout; progress and errors go to stderr; the exit code says what happened.
// The first Ctrl-C (or SIGTERM) stops waiting and reports what keeps running (exit 130/143); a second exits at once.
import { interruptOnSignals } from './cli-kit';
import { main } from './deploy/cli';

// `deploy list | head -1`: a reader that went away is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const interrupt = interruptOnSignals(process, (signal) => {
  process.stderr.write(`\ndeploy: ${signal}: stopping (${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again exits at once)\n`);
});
main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: interrupt.signal }).then((code) => {
  interrupt.dispose();
  process.exitCode = code;
});
