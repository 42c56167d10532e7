#!/usr/bin/env node
// `npm test`: every jest suite, and beside it formatting (prettier), lint (eslint) and the type check (tsc), each
// with its cache in node_modules/.cache. The checks run at a lower CPU priority (nice 10): on 2 cores jest keeps the
// CPU whenever it can use it, and the checks take what it leaves while suites wait on servers and child processes.
// Each check's output is printed when it ends; jest's as it runs. Arguments go to jest (`npm test --
// __tests__/lib/deploy`). Exit code: the first failing check's (in the order below), else jest's.
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const bin = (pkg, file) => join(dirname(require.resolve(`${pkg}/package.json`)), file);
const CHECKS = [
  ['format', bin('prettier', 'bin/prettier.cjs'), ['--check', '--cache', '--cache-strategy', 'content', '--log-level', 'warn', '.']],
  [
    'lint',
    bin('eslint', 'bin/eslint.js'),
    ['--cache', '--cache-strategy', 'content', '--cache-location', 'node_modules/.cache/eslint/', '.'],
  ],
  [
    'typecheck',
    bin('typescript', 'bin/tsc'),
    ['--noEmit', '--incremental', '--tsBuildInfoFile', 'node_modules/.cache/tsc/tsconfig.tsbuildinfo'],
  ],
];

const children = [];

/** Runs `file` with node at a lower priority, buffering its output; resolves to its exit code and output. */
function check([name, file, args]) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    try {
      setPriority(child.pid, 10);
    } catch {
      // Not allowed here: the check runs at jest's priority.
    }
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0), output, seconds: (Date.now() - started) / 1000 }));
  });
}

const jest = spawn(process.execPath, [bin('jest', 'bin/jest.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
const jestDone = new Promise((resolve) => jest.on('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 143))));
const checks = CHECKS.map((c) =>
  check(c).then((r) => {
    if (r.output.trim() !== '') process.stdout.write(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
    process.stderr.write(`${r.name}: ${r.code === 0 ? 'ok' : `failed (exit ${r.code})`} in ${r.seconds.toFixed(1)} s\n`);
    return r;
  }),
);
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    interrupted = true;
    for (const child of [jest, ...children]) child.kill(sig);
  });
const [jestCode, ...results] = await Promise.all([jestDone, ...checks]);
process.exit(interrupted ? jestCode : (results.find((r) => r.code !== 0)?.code ?? jestCode));
