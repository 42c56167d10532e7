// The main job's "Release strategies" step: one blue/green release and one aborted canary of the marathon-lb service,
// through a real HAProxy (Debian's `haproxy`) configured from a local Marathon the way marathon-lb configures it (the
// stand-in in lib/demo/marathon-lb), with a request loop on the virtual host counting the requests that fail during
// the switch and during the abort. The releases use lib/deploy/rollout directly, as `deploy apply/promote/abort` do.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { AuditLog } from '../../lib/audit/log';
import { packageOf, ServiceDefinition, virtualHostFor } from '../../lib/catalog/types';
import { abortRollout, RolloutContext, RolloutTarget, startRollout } from '../../lib/deploy/rollout';
import { AuditRecorder } from '../../lib/deploy/types';
import { findHaproxy, freePort, HAPROXY_INSTALL, startMarathonLb } from '../../lib/demo/marathon-lb';
import { requestLoop, TrafficCount } from '../../lib/demo/marathon-lb/traffic';
import { firstAnswer, rolloutSettled } from '../../lib/demo/marathon-lb/waits';
import { MarathonClient } from '../../lib/marathon/client';
import { marathonAppId, renderMarathonApp } from '../../lib/marathon/render';
import { loadAllowedSigners, NAMESPACES, principalOfKey, signMessage } from '../../lib/signing';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { Build, MainJob, Step } from './job';
import { AUTHOR, buildAndPackage, commit } from './release';

/** What the step measured (the job's `--json` summary has it as `strategies`). */
export interface StrategyFigures {
  readonly service: string;
  /** Start of the blue/green release (what an approval starts) to 100 % of the tasks on the new colour. */
  readonly blueGreen: { readonly seconds: number; readonly sent: number; readonly failed: number };
  /** Start of the canary (the kept colour removed, the new one at its first step) to its pause. */
  readonly canary: { readonly seconds: number; readonly sent: number; readonly failed: number };
  /** `abort` of the canary paused at its first step to 100 % on the old colour. */
  readonly canaryAbort: { readonly seconds: number; readonly sent: number; readonly failed: number };
}

/** Everything the releases need; the step gathers it from the job, the docker test from its own fixtures. */
export interface StrategiesInput {
  /** The service as its file would read with a two-colour strategy (the strategy is set here, per release). */
  readonly def: ServiceDefinition;
  /** Three images of the service: what runs first, the blue/green release, the canary that is aborted. */
  readonly images: readonly [string, string, string];
  readonly haproxy: string;
  /** Starts the local Marathon the colours run on (Docker or the stand-in path, like the job's). */
  startMarathon(): Promise<LocalMarathon>;
  /** The service's smoke test against one task of the new colour. */
  smokeTest(url: string): Promise<{ ok: boolean; detail?: string }>;
  readonly audit: AuditRecorder;
  readonly actor: string;
  say(line: string): void;
  /**
   * Called with each server as it starts (the job stops them on Ctrl-C); the step closes them itself at the end and
   * then calls what this returns.
   */
  started(what: string, close: () => Promise<void>, marathonUrl?: string): () => void;
}

/**
 * The step: says in one line that it is skipped, with the install command, when no `haproxy` is on `path`; otherwise
 * builds two more commits of the service and releases them.
 */
export function releaseStrategies(path: string): Step {
  return {
    name: 'strategies',
    heading: (job) =>
      `Release strategies: blue/green, then an aborted canary, of ${strategyService(job).name} through marathon-lb (a real HAProxy)`,
    run: async (job) => {
      const haproxy = findHaproxy(path);
      if (!haproxy) {
        job.say(`  skipped: no haproxy on PATH, which runs marathon-lb's routing here; to see this step: ${HAPROXY_INSTALL}`);
        job.summary.strategies = { skipped: `no haproxy on PATH (${HAPROXY_INSTALL})` };
        return;
      }
      job.summary.strategies = await showReleaseStrategies(await inputFromJob(job, haproxy));
    },
  };
}

/** The service with a marathon-lb virtual host (storefront in the example fleet) and its first build. */
function strategyService(job: MainJob): ServiceDefinition {
  const def = job.catalog.services.find((s) => virtualHostFor(s, 'staging') !== undefined && packageOf(s).kind === 'image');
  if (!def) throw new Error('no image service of the catalog has a marathon-lb virtual host (virtualHost) to release through HAProxy');
  return def;
}

async function inputFromJob(job: MainJob, haproxy: string): Promise<StrategiesInput> {
  const catalogDef = strategyService(job);
  const first = job.builds.find((b) => b.name === catalogDef.name);
  if (!first) throw new Error(`${catalogDef.name} has no build yet: the strategies step runs after the build step`);
  const next = async (from: Build, message: string) => {
    const { sha, commitTime } = await commit(from.repo, message, 'README.md', `\n${message}.\n`);
    return buildAndPackage(job, from.name, from.repo, sha, commitTime);
  };
  // The broken release of an earlier step left a BROKEN file in the service's repository (its /health answers 500
  // while it is there): the next commit fixes that, or the new colour would never get healthy.
  await rm(join(first.repo, 'BROKEN'), { force: true });
  const v2 = await next(first, 'Release it blue/green (and drop the BROKEN marker)');
  const v3 = await next(v2, 'Release it as a canary');
  // The storefront's file as a team would write it for a two-colour release: a fixed public service port and an
  // alternate one (marathon-lb's HAPROXY_0_PORT and HAPROXY_DEPLOYMENT_ALT_PORT), two instances so that a canary has
  // a step, and health checks every second so that the demo takes seconds (marathon-lb routes to healthy tasks only).
  const ports = catalogDef.ports ?? [{ name: 'http', containerPort: 8080 }];
  const def: ServiceDefinition = {
    ...catalogDef,
    instances: 2,
    ports: [{ ...ports[0], servicePort: await freePort() }, ...ports.slice(1)],
    healthCheck: { path: '/health', gracePeriodSeconds: 10, intervalSeconds: 1, timeoutSeconds: 0.9, maxConsecutiveFailures: 3 },
  };
  const registry = job.registry;
  return {
    def,
    images: [first.image, v2.image, v3.image],
    haproxy,
    startMarathon: () =>
      startLocalMarathon({
        imageStore: registry ? undefined : job.images,
        docker: registry ? 'auto' : 'never',
        stateDir: join(job.work, 'marathon-lb-lane'),
      }),
    smokeTest: async (url) => {
      const r = await $({ cwd: v3.repo, env: { ...process.env, SERVICE_URL: url }, quiet: true, nothrow: true })`bash -c ${def.smokeTest}`;
      return { ok: r.exitCode === 0, detail: `${def.smokeTest} exited ${r.exitCode}` };
    },
    audit: await signedAudit(job),
    actor: AUTHOR,
    say: (line) => job.say(line),
    started: (what, close, marathonUrl) => {
      const server = { what, close, marathonUrl };
      job.servers.push(server);
      return () => {
        const i = job.servers.indexOf(server);
        if (i >= 0) job.servers.splice(i, 1);
      };
    },
  };
}

/**
 * The job's audit log, its records signed by the author's key as `deploy` signs them (the keys the clusters step
 * made: `<work>/keys/<e-mail>`, listed in `<work>/allowed_signers`), so that `deploy history --verify` and the page
 * count them as signed.
 */
async function signedAudit(job: MainJob): Promise<AuditLog> {
  const log = AuditLog.open(job.clusters.audit, job.clusters.auditEnv);
  const key = join(job.work, 'keys', AUTHOR);
  const signers = join(job.work, 'allowed_signers');
  if (existsSync(key) && existsSync(signers)) {
    const me = await principalOfKey(await loadAllowedSigners(signers), key);
    log.signWith({ principal: me.principal, fingerprint: me.fingerprint, sign: (m) => signMessage(key, NAMESPACES.audit, m) });
  }
  return log;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const sent = (c: TrafficCount) => c.ok + c.failed + c.appErrors;

/**
 * A local Marathon and HAProxy configured from it; the service released blue/green (its first release starts blue at
 * full size, the second is green beside it, traffic moves, blue is kept drained), then as a canary to its first step
 * (blue again, with the third image, beside green) and aborted: everything back on green. Prints what it measured.
 */
export async function showReleaseStrategies(input: StrategiesInput): Promise<StrategyFigures> {
  const { def, images, say } = input;
  const host = virtualHostFor(def, 'staging')!;
  const marathon = await input.startMarathon();
  const forgetMarathon = input.started('the marathon-lb lane Marathon', () => marathon.close(), marathon.url);
  let lb: Awaited<ReturnType<typeof startMarathonLb>>;
  try {
    lb = await startMarathonLb(marathon.url, { haproxy: input.haproxy });
  } catch (err) {
    await marathon.close();
    forgetMarathon();
    throw err;
  }
  const forgetLb = input.started('HAProxy (the marathon-lb stand-in)', () => lb.close());
  say(`  a local Marathon of its own (${marathon.url}: the rolling ${def.name} of the steps above keeps its virtual host)`);
  say(`  and HAProxy ${input.haproxy} configured from it as marathon-lb does: ${lb.httpUrl} (Host: ${host}), stats ${lb.statsUrl}`);
  const client = new MarathonClient({ baseUrl: marathon.url, auth: { source: 'none' } });
  const rc = (strategy: ServiceDefinition['strategy']): [RolloutContext, RolloutTarget] => [
    {
      client,
      actor: input.actor,
      timeoutMs: 120_000,
      pollIntervalMs: 200,
      lb: { urls: [lb.statsUrl] },
      smokeTest: (url) => input.smokeTest(url),
      audit: input.audit,
      onProgress: (e) => e.kind === 'phase' && say(`    ${e.message}`),
    },
    { def: { ...def, strategy }, env: 'staging' },
  ];
  const altPort = await freePort();
  const app = (image: string) => renderMarathonApp(def, 'staging', { image });
  let traffic: ReturnType<typeof requestLoop> | undefined;
  try {
    const [bg, bgTarget] = rc({ kind: 'blueGreen', altPort });
    await startRollout(bg, bgTarget, app(images[0]));
    traffic = requestLoop(lb.httpUrl, host);
    await firstAnswer(traffic);
    say(
      `  ${def.name}-blue serves ${images[0].split('@')[0]} (${def.instances} tasks); a request loop on the virtual host runs from now on`,
    );
    let began = Date.now();
    const released = await startRollout(bg, bgTarget, app(images[1]));
    const blueGreen = { seconds: seconds(Date.now() - began), ...countOf(traffic.reset()) };
    say(
      `  blue/green: ${def.name}-${released.colour} at 100 % in ${blueGreen.seconds} s; ${blueGreen.sent} requests, ${blueGreen.failed} failed`,
    );
    const [canary, canaryTarget] = rc({ kind: 'canary', altPort, steps: [{ percent: 50, pause: 'promote' }, { percent: 100 }] });
    // The team's next release comes later: here, as soon as Marathon has finished the blue/green release's deployments.
    await rolloutSettled(client, marathonAppId(def.name, 'staging'));
    began = Date.now();
    const paused = await startRollout(canary, canaryTarget, app(images[2]));
    if (paused.state !== 'paused') throw new Error(`the canary was expected to pause at its first step, it ended ${paused.state}`);
    const canaryStep = { seconds: seconds(Date.now() - began), ...countOf(traffic.reset()) };
    say(
      `  canary: ${def.name}-${paused.colour} at step ${paused.step.index} (${paused.step.percent} % of the tasks) in ${canaryStep.seconds} s, waiting for promote; aborted instead`,
    );
    began = Date.now();
    const aborted = await abortRollout(canary, canaryTarget, 'aborted by the demo at the first canary step');
    const canaryAbort = { seconds: seconds(Date.now() - began), ...countOf(await traffic.stop()) };
    traffic = undefined;
    say(
      `  abort: 100 % back on ${def.name}-${aborted.colour} in ${canaryAbort.seconds} s; ${canaryAbort.sent} requests, ${canaryAbort.failed} failed`,
    );
    say(
      `  requests through HAProxy: blue/green switch ${blueGreen.sent} sent, ${blueGreen.failed} failed; canary ${canaryStep.sent} sent, ${canaryStep.failed} failed; abort ${canaryAbort.sent} sent, ${canaryAbort.failed} failed (goal: 0 failed)`,
    );
    return { service: def.name, blueGreen, canary: canaryStep, canaryAbort };
  } finally {
    await traffic?.stop();
    await lb.close();
    await marathon.close();
    forgetLb();
    forgetMarathon();
  }
}

function countOf(c: TrafficCount): { sent: number; failed: number } {
  return { sent: sent(c), failed: c.failed };
}
