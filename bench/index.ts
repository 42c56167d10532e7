#!/usr/bin/env node
// `npm run bench`: every benchmark, one after another, in one run, printing figures (medians and ratios).
// These machines are shared and noisy: read the medians, and compare figures from the same run only.
import { cpus, totalmem } from 'node:os';
import { main as deployBench } from './deploy';
import { main as localMarathonBench } from './local-marathon';
import { main as pipelineBench } from './pipeline';
import { main as synthBench } from './synth';

const suites: [string, () => Promise<void>][] = [
  ['synth', synthBench],
  ['local-marathon', localMarathonBench],
  ['deploy', deployBench],
  ['pipeline', pipelineBench],
];

async function run(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (process.argv.includes('--help')) {
    process.stdout.write(
      `usage: npm run bench [-- ${suites.map(([n]) => n).join('|')} ...]\nRuns the benchmarks and prints their figures. Exit 0 when all ran, 1 when one threw, 2 for an unknown name.\n`,
    );
    return;
  }
  const unknown = only.filter((n) => !suites.some(([name]) => name === n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; choose from ${suites.map(([n]) => n).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  console.log(
    `commit-to-cloud benchmarks: node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString()}`,
  );
  for (const [name, fn] of suites) {
    if (only.length > 0 && !only.includes(name)) continue;
    console.log(`\n== ${name} ==`);
    await fn();
  }
}

run().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
