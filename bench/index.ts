#!/usr/bin/env node
// `npm run bench`: every benchmark, one after another, in one run, printing figures (medians and ratios); `main-job`
// (`npm start` with and without Docker, five minutes and more) only when named: `npm run bench -- main-job`.
// These machines are shared and noisy: read the medians, and compare figures from the same run only.
import { cpus, totalmem } from 'node:os';
import { runCleanups } from './cleanup';
import { main as deployBench } from './deploy';
import { main as dockerBench, mainJobBench } from './docker';
import { main as executorBench } from './executor';
import { main as localMarathonBench } from '@commit-to-cloud/local-marathon/bench';
import { main as pipelineBench } from './pipeline';
import { main as reportBench } from './report';
import { main as rolloutBench } from './rollout';
import { main as synthBench } from './synth';

const suites: [string, () => Promise<void>][] = [
  ['synth', synthBench],
  ['local-marathon', localMarathonBench],
  ['deploy', deployBench],
  ['pipeline', pipelineBench],
  ['report', reportBench],
  ['docker', dockerBench],
  ['rollout', rolloutBench],
  ['executor', executorBench],
];
/** Run only when named. */
const named: [string, () => Promise<void>][] = [['main-job', mainJobBench]];

async function run(): Promise<void> {
  const args = process.argv.slice(2);
  const only = args.filter((a) => !a.startsWith('-'));
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      `usage: npm run bench [-- ${[...suites, ...named].map(([n]) => n).join('|')} ...]\nRuns the benchmarks (all but ${named.map(([n]) => n).join(', ')}, which runs only when named) and prints their figures. Ctrl-C stops them and everything they started (exit 130).\nExit 0 when all ran, 1 when one threw, 2 for an unknown name or option.\n`,
    );
    return;
  }
  const options = args.filter((a) => a.startsWith('-'));
  if (options.length > 0) {
    process.stderr.write(`bench: unknown option ${options.join(', ')}; the only option is --help\n`);
    process.exitCode = 2;
    return;
  }
  const unknown = only.filter((n) => ![...suites, ...named].some(([name]) => name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown benchmark ${unknown.join(', ')}; choose from ${[...suites, ...named].map(([n]) => n).join(', ')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  console.log(
    `commit-to-cloud benchmarks: node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString()}`,
  );
  for (const [name, fn] of [...suites, ...named]) {
    if (only.length > 0 ? !only.includes(name) : named.some(([n]) => n === name)) continue;
    console.log(`\n== ${name} ==`);
    await fn();
  }
}

// Ctrl-C or SIGTERM: stop what the benchmarks started (local Marathon servers and their tasks, work directories), then exit.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(signal === 'SIGTERM' ? 143 : 130);
    stopping = true;
    process.stderr.write(`\nbench: ${signal}: stopping what the benchmarks started\n`);
    void runCleanups((m) => process.stderr.write(`${m}\n`)).then(() => process.exit(signal === 'SIGTERM' ? 143 : 130));
  });
}

run().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
