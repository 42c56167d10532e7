// Deploy benchmarks against the local Marathon, in one run: the CLI's own overhead for an apply, a no-op apply and
// status, `apply --all` for 30 services at concurrency 8 vs the slowest single deploy, and the same deploy done as
// curl PUT + a polling loop. Prints medians; asserts nothing (benchmarks are scripts, not tests).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** Runs and prints the deploy benchmarks. */
export async function main(): Promise<void> {
  const root = findRepoRoot(__dirname);
  const cli = join(root, 'dist/scripts/deploy.js');
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
  const run = async (args: string[]) => {
    const started = performance.now();
    const out = await $({ env, cwd: work, nothrow: true, quiet: true })`node ${cli} ${args}`;
    const ms = performance.now() - started;
    if (out.exitCode !== 0) throw new Error(`deploy ${args.join(' ')} exited ${out.exitCode}: ${out.stderr}`);
    return { ms, stdout: out.stdout };
  };
  try {
    console.log(`local Marathon ${lm.url} (stand-in tasks); ${RUNS} runs per figure unless noted; medians`);

    // 1. One apply through the CLI: wall time minus the time spent waiting on Marathon (requests + polling).
    await run(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:warm']);
    const walls: number[] = [];
    const overheads: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const r = await run(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', `reg:5000/bulb-api:cli${i}`, '--json']);
      const result = JSON.parse(r.stdout) as { marathonMs: number; outcome: string };
      walls.push(r.ms);
      overheads.push(r.ms - result.marathonMs);
    }
    console.log(
      `apply (CLI, bulb-api, 5 s health-check interval): wall ${secs(median(walls))}; script overhead (wall - Marathon time) ${secs(median(overheads))} (target < 0.5 s)`,
    );

    // 2. The same deploy as curl PUT + a polling loop on /v2/deployments (no health confirmation, no rollback).
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
      })`curl -sS -f -X PUT -H ${'Content-Type: application/json'} --data-binary ${`@${file}`} ${`${lm.url}/v2/apps/staging/bulb-api?partialUpdate=false`}`;
      const { deploymentId } = JSON.parse(put.stdout) as { deploymentId: string };
      for (;;) {
        const list = JSON.parse((await $({ quiet: true })`curl -sS -f ${`${lm.url}/v2/deployments`}`).stdout) as { id: string }[];
        if (!list.some((d) => d.id === deploymentId)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      curlWalls.push(performance.now() - started);
    }
    console.log(
      `same deploy as curl PUT + polling loop: ${secs(median(curlWalls))}; CLI / curl = ${(median(walls) / median(curlWalls)).toFixed(2)}x (the CLI also confirms health on the app and can roll back)`,
    );

    // 3. A no-op apply and status through the CLI.
    const noop: number[] = [];
    for (let i = 0; i < RUNS + 2; i += 1)
      noop.push((await run(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:curl2'])).ms);
    console.log(`no-op apply (CLI, nothing sent): ${secs(median(noop))} (target < 1 s)`);
    const status: number[] = [];
    for (let i = 0; i < RUNS + 2; i += 1) status.push((await run(['status', '--env', 'staging', '--json'])).ms);
    console.log(`status (CLI, the 3-service catalog): ${secs(median(status))} (target < 1 s)`);

    // 4. 30 services: status and no-op over the fleet (library, same code the CLI runs), and apply --all at
    //    concurrency 8 vs the slowest single deploy.
    const fleet = Array.from({ length: 30 }, (_, i) => benchService(i + 1));
    const client = new MarathonClient({ baseUrl: lm.url, auth: { source: 'none' } });
    const ctx = { client, actor: 'bench@example.com', timeoutMs: 120_000 };
    const setup = await applyAll(ctx, { services: fleet, environment: 'staging', tag: 'v1', registryHost: 'reg:5000', concurrency: 8 });
    const setupFailed = setup.filter((e) => e.status === 'failed');
    if (setupFailed.length > 0) throw new Error(`fleet setup failed: ${JSON.stringify(setupFailed[0])}`);
    const status30: number[] = [];
    for (let i = 0; i < RUNS + 2; i += 1) {
      const started = performance.now();
      await fleetStatus({ services: fleet, clients: { staging: client } });
      status30.push(performance.now() - started);
    }
    console.log(`status over 30 services (library, 2 requests): ${secs(median(status30))} (target < 1 s)`);
    const noop30: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const started = performance.now();
      await applyAll(ctx, { services: fleet, environment: 'staging', tag: 'v1', registryHost: 'reg:5000', concurrency: 8 });
      noop30.push(performance.now() - started);
    }
    console.log(`no-op apply --all over 30 services (library): ${secs(median(noop30))}`);

    const singles: number[] = [];
    for (const s of fleet.slice(0, 4)) {
      const started = performance.now();
      await applyService(ctx, { service: s, environment: 'staging', image: `reg:5000/${s.name}:single` });
      singles.push(performance.now() - started);
    }
    const slowest = Math.max(...singles);
    const started = performance.now();
    const all = await applyAll(ctx, { services: fleet, environment: 'staging', tag: 'v2', registryHost: 'reg:5000', concurrency: 8 });
    const allMs = performance.now() - started;
    const deployed = all.filter((e) => e.status === 'deployed').length;
    console.log(
      `apply --all, 30 services, concurrency 8: ${secs(allMs)} (${deployed} deployed); slowest of 4 single deploys ${secs(slowest)}; ratio ${(allMs / slowest).toFixed(2)}x (target within 2x; ${Math.ceil(30 / 8)} waves of 8 bound it near ${Math.ceil(30 / 8)}x when a deploy is dominated by health-check time)`,
    );
    // The same change at concurrency 16: two waves, which is what the 2x target takes.
    const started16 = performance.now();
    const all16 = await applyAll(ctx, { services: fleet, environment: 'staging', tag: 'v3', registryHost: 'reg:5000', concurrency: 16 });
    const all16Ms = performance.now() - started16;
    console.log(
      `apply --all, 30 services, concurrency 16: ${secs(all16Ms)} (${all16.filter((e) => e.status === 'deployed').length} deployed); ratio to the slowest single deploy ${(all16Ms / slowest).toFixed(2)}x`,
    );

    // 5. A failing image: seconds from the PUT to rolled back, with the fleet's 5 s health-check interval and the
    //    default 300 s deadline (before failing fast, the whole deadline passed before the rollback).
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
  } finally {
    forget();
    await lm.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
