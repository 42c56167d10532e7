// Deploy benchmarks against the local Marathon, in one run: an apply through the CLI against the same deploy done as
// curl PUT + a polling loop (the headline), a no-op apply and status, `apply --all` for 30 services vs the slowest
// single deploy, and a failing image to rolled back. Prints medians; asserts nothing (benchmarks are scripts, not tests).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { $ } from 'zx';
import { ServiceDefinition } from '../lib/catalog';
import { applyAll } from '../lib/deploy/apply-all';
import { applyService, renderForDeploy } from '../lib/deploy/apply-service';
import { fleetStatus } from '../lib/deploy/status';
import { C2CError } from '../lib/errors';
import { MarathonClient } from '../lib/marathon/client';
import { findRepoRoot } from '../constructs/settings';
import { loadCatalog } from '../services';
import { startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { onInterrupt } from './cleanup';

const RUNS = 3;

/** The most the CLI may cost: over the same deploy by curl, for a no-op apply, for status (README, Benchmarks). */
const TARGET_MS = 300;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A fleet service with health checks fast enough that 30 of them deploy in seconds. */
function benchService(i: number): ServiceDefinition {
  return {
    name: `bench-${String(i).padStart(2, '0')}`,
    repo: 'acme/bench',
    cpus: 0.01,
    mem: 16,
    instances: 1,
    healthCheck: { path: '/health', gracePeriodSeconds: 5, intervalSeconds: 0.5, timeoutSeconds: 0.4, maxConsecutiveFailures: 3 },
    smokeTest: './e2e.sh',
    approvers: ['user:bench@example.com'],
  };
}

/** The deploy CLI as the benchmarks run it: `bin/deploy` (scripts/run.js without npm: staleness check, then the built CLI). */
type RunCli = (args: string[]) => Promise<{ ms: number; stdout: string }>;

/** Runs and prints the deploy benchmarks. */
export async function main(): Promise<void> {
  const root = findRepoRoot(__dirname);
  const cli = join(root, 'bin/deploy');
  const work = mkdtempSync(join(tmpdir(), 'c2c-bench-deploy-'));
  // An image that cannot start: every task exits 125 at once (what `docker run` gives for an image it cannot pull).
  mkdirSync(join(work, 'images', 'bench-fail', 'broken'), { recursive: true });
  writeFileSync(join(work, 'images', 'bench-fail', 'broken', 'run'), '#!/bin/sh\necho "image not found" >&2\nexit 125\n');
  chmodSync(join(work, 'images', 'bench-fail', 'broken', 'run'), 0o755);
  const lm = await startLocalMarathon({ docker: 'never', imageStore: join(work, 'images') });
  const forget = onInterrupt(async () => {
    await lm.close();
    rmSync(work, { recursive: true, force: true });
  });
  const env = {
    ...process.env,
    MARATHON_URL: lm.url,
    CI: 'true',
    DEPLOY_ACTOR: 'bench@example.com',
    C2C_AUDIT_LOG: join(work, 'audit.jsonl'),
  };
  const run: RunCli = async (args) => {
    const started = performance.now();
    const out = await $({ env, cwd: work, nothrow: true, quiet: true })`${cli} ${args}`;
    const ms = performance.now() - started;
    if (out.exitCode !== 0) throw new Error(`deploy ${args.join(' ')} exited ${out.exitCode}: ${out.stderr}`);
    return { ms, stdout: out.stdout };
  };
  try {
    console.log(`local Marathon ${lm.url} (stand-in tasks); ${RUNS} runs per figure unless noted; medians`);
    await applyVersusCurl(run, lm.url, work);
    await noopAndStatus(run);
    await startCost(root);
    const client = new MarathonClient({ baseUrl: lm.url, auth: { source: 'none' } });
    const ctx = { client, actor: 'bench@example.com', timeoutMs: 120_000 };
    await fleetOf30(ctx);
    await failingImage(ctx);
  } finally {
    forget();
    await lm.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The headline: one apply through the CLI against the same deploy done by hand, curl PUT + a loop polling
 * /v2/deployments every 100 ms (no health confirmation on the app, no rollback). The difference is what the CLI costs:
 * node start, loading, the audit log, the confirmation, and its own poll intervals (which count as the CLI's time, not
 * Marathon's).
 */
async function applyVersusCurl(run: RunCli, marathonUrl: string, work: string): Promise<void> {
  await run(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:warm']);
  const walls: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    walls.push((await run(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', `reg:5000/bulb-api:cli${i}`, '--json'])).ms);
  }
  const service = loadCatalog().get('bulb-api');
  const curlWalls: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const file = join(work, `app-${i}.json`);
    writeFileSync(
      file,
      JSON.stringify(renderForDeploy(service, 'staging', { image: `reg:5000/bulb-api:curl${i}`, actor: 'bench@example.com' })),
    );
    const started = performance.now();
    const put = await $({
      quiet: true,
    })`curl -sS -f -X PUT -H ${'Content-Type: application/json'} --data-binary ${`@${file}`} ${`${marathonUrl}/v2/apps/staging/bulb-api?partialUpdate=false`}`;
    const { deploymentId } = JSON.parse(put.stdout) as { deploymentId: string };
    for (;;) {
      const list = JSON.parse((await $({ quiet: true })`curl -sS -f ${`${marathonUrl}/v2/deployments`}`).stdout) as { id: string }[];
      if (!list.some((d) => d.id === deploymentId)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    curlWalls.push(performance.now() - started);
  }
  const cliMs = median(walls);
  const curlMs = median(curlWalls);
  console.log(
    `apply (bulb-api, 5 s health-check interval): CLI ${secs(cliMs)}, the same deploy as curl PUT + a 100 ms polling loop ${secs(curlMs)}: the CLI costs ${secs(cliMs - curlMs)} more (target ${secs(TARGET_MS)}; ${(cliMs / curlMs).toFixed(2)}x; it also confirms health on the app and can roll back)`,
  );
}

/** A no-op apply (nothing sent) and status, through the CLI. */
async function noopAndStatus(run: RunCli): Promise<void> {
  const noop: number[] = [];
  for (let i = 0; i < RUNS + 2; i += 1)
    noop.push((await run(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:curl2'])).ms);
  console.log(`no-op apply (CLI, nothing sent): ${secs(median(noop))} (target ${secs(TARGET_MS)})`);
  const status: number[] = [];
  for (let i = 0; i < RUNS + 2; i += 1) status.push((await run(['status', '--env', 'staging', '--json'])).ms);
  console.log(`status (CLI, the catalog's services): ${secs(median(status))} (target ${secs(TARGET_MS)})`);
  // What the machine gives any process at this moment (shared cores): read the figures above against it.
  const bare: number[] = [];
  for (let i = 0; i < RUNS + 2; i += 1) {
    const started = performance.now();
    await $({ quiet: true })`${process.execPath} -e ''`;
    bare.push(performance.now() - started);
  }
  console.log(`bare node start (node -e '', the same way): ${secs(median(bare))}`);
}

/** What each way in costs before the CLI does anything: `--help` through npm, through bin/deploy, and the built file. */
async function startCost(root: string): Promise<void> {
  const time = async (command: string[]): Promise<number> => {
    const walls: number[] = [];
    for (let i = 0; i < RUNS + 2; i += 1) {
      const started = performance.now();
      await $({ cwd: root, quiet: true })`${command}`;
      walls.push(performance.now() - started);
    }
    return median(walls);
  };
  const npm = await time(['npm', 'run', '--silent', 'deploy', '--', '--help']);
  const bin = await time([join(root, 'bin/deploy'), '--help']);
  const direct = await time([process.execPath, join(root, 'dist/scripts/deploy.js'), '--help']);
  console.log(
    `deploy --help: npm run deploy ${secs(npm)}, bin/deploy ${secs(bin)}, node dist/scripts/deploy.js ${secs(direct)} (what the figures above run: bin/deploy)`,
  );
}

type BenchContext = { client: MarathonClient; actor: string; timeoutMs: number };

/**
 * 30 services: status and no-op over the fleet (library, same code the CLI runs), and apply --all at concurrency 8
 * and 16 vs the slowest single deploy.
 */
async function fleetOf30(ctx: BenchContext): Promise<void> {
  const fleet = Array.from({ length: 30 }, (_, i) => benchService(i + 1));
  const applyFleet = (tag: string, concurrency: number) =>
    applyAll(ctx, { services: fleet, environment: 'staging', tag, registryHost: 'reg:5000', concurrency });
  const setupFailed = (await applyFleet('v1', 8)).filter((e) => e.status === 'failed');
  if (setupFailed.length > 0) throw new Error(`fleet setup failed: ${JSON.stringify(setupFailed[0])}`);
  const status30: number[] = [];
  for (let i = 0; i < RUNS + 2; i += 1)
    status30.push(await timed(() => fleetStatus({ services: fleet, clients: { staging: ctx.client } })));
  console.log(`status over 30 services (library, 2 requests): ${secs(median(status30))} (target < 1 s)`);
  const noop30: number[] = [];
  for (let i = 0; i < RUNS; i += 1) noop30.push(await timed(() => applyFleet('v1', 8)));
  console.log(`no-op apply --all over 30 services (library): ${secs(median(noop30))}`);
  const singles: number[] = [];
  for (const s of fleet.slice(0, 4)) {
    singles.push(await timed(() => applyService(ctx, { service: s, environment: 'staging', image: `reg:5000/${s.name}:single` })));
  }
  const slowest = Math.max(...singles);
  let all: Awaited<ReturnType<typeof applyFleet>> = [];
  const allMs = await timed(async () => (all = await applyFleet('v2', 8)));
  console.log(
    `apply --all, 30 services, concurrency 8: ${secs(allMs)} (${all.filter((e) => e.status === 'deployed').length} deployed); slowest of 4 single deploys ${secs(slowest)}; ratio ${(allMs / slowest).toFixed(2)}x (target within 2x; ${Math.ceil(30 / 8)} waves of 8 bound it near ${Math.ceil(30 / 8)}x when a deploy is dominated by health-check time)`,
  );
  // The same change at concurrency 16: two waves, which is what the 2x target takes.
  const all16Ms = await timed(async () => (all = await applyFleet('v3', 16)));
  console.log(
    `apply --all, 30 services, concurrency 16: ${secs(all16Ms)} (${all.filter((e) => e.status === 'deployed').length} deployed); ratio to the slowest single deploy ${(all16Ms / slowest).toFixed(2)}x`,
  );
}

/**
 * A failing image: seconds from the PUT to rolled back, with a 5 s health-check interval and the default 300 s deadline
 * (before failing fast, the whole deadline passed before the rollback).
 */
async function failingImage(ctx: BenchContext): Promise<void> {
  const failing = { ...benchService(0), name: 'bench-fail' };
  const healthCheck = { ...failing.healthCheck, gracePeriodSeconds: 30, intervalSeconds: 5, timeoutSeconds: 2 };
  const failService = { ...failing, healthCheck };
  await applyService(ctx, { service: failService, environment: 'staging', image: 'reg:5000/bench-fail:good' });
  const toRolledBack: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    let putAt = 0;
    const failCtx = {
      ...ctx,
      timeoutMs: 300_000,
      onProgress: (e: { kind: string }) => {
        if (e.kind === 'submitted') putAt = performance.now();
      },
    };
    try {
      await applyService(failCtx, {
        service: { ...failService, env: { RUN: String(i) } },
        environment: 'staging',
        image: 'reg:5000/bench-fail:broken',
      });
      throw new Error('the failing image deployed');
    } catch (err) {
      if (!(err instanceof C2CError && err.code === 'DEPLOY_FAILED_ROLLED_BACK')) throw err;
    }
    toRolledBack.push(performance.now() - putAt);
  }
  console.log(
    `failing image (every task exits 125), 5 s health-check interval: ${secs(median(toRolledBack))} from PUT to rolled back (target < 3 intervals = 15 s; before failing fast: the whole --timeout, 300 s by default)`,
  );
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

// Run as its own entry (node dist/bench/deploy.js); bundled into `npm run bench` (dist/bench/index.js) this module is
// the main module too, and index runs it.
if (require.main === module && basename(__filename).startsWith('deploy.')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
