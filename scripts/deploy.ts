#!/usr/bin/env node
// The deploy CLI (`npm run --silent deploy -- <command>`): a thin commander layer over lib/deploy. One module per
// command in scripts/deploy/commands/, each exporting register(program, ctx); shared plumbing in
// scripts/deploy/context.ts. Data goes to stdout; progress and errors go to stderr; the exit code says what happened.
import { main } from './deploy/cli';

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, setExitCode: () => undefined }).then(
  (code) => {
    process.exitCode = code;
  },
);
