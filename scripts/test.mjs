#!/usr/bin/env node
// `npm test`: formatting (prettier), lint (eslint) and the type check (tsc) side by side, each with its cache in
// node_modules/.cache, then every jest suite. Each check's output is printed when it ends; jest's as it runs.
// Arguments go to jest (`npm test -- __tests__/lib/deploy`). Exit code: the first failing step's, else jest's.
import { spawn } from 'node:child_process';
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

/** Runs `file` with node, buffering its output; resolves to its exit code and output. */
function check([name, file, args]) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code, signal) => resolve({ name, code: code ?? (signal ? 1 : 0), output, seconds: (Date.now() - started) / 1000 }));
  });
}

const results = await Promise.all(CHECKS.map(check));
let failed = 0;
for (const r of results) {
  if (r.output.trim() !== '') process.stdout.write(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
  process.stderr.write(`${r.name}: ${r.code === 0 ? 'ok' : `failed (exit ${r.code})`} in ${r.seconds.toFixed(1)} s\n`);
  if (r.code !== 0 && failed === 0) failed = r.code;
}
if (failed !== 0) process.exit(failed);
const jest = spawn(process.execPath, [bin('jest', 'bin/jest.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => jest.kill(sig));
jest.on('close', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 143)));
