// The main job (`npm start`) as a list of named steps, run in order by runMainJob (scripts/demo/job.ts). To add a
// step, write it here and put it into MAIN_JOB_STEPS where it belongs; a step with a heading is numbered.
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { packageOf } from '../../lib/catalog/types';
import { startArtifactBucket } from '../../lib/demo/artifacts';
import { RUN_LABEL } from '../../lib/demo/docker-images';
import { summarizeSynth } from '../../lib/demo/synth-summary';
import { ensureBaseImage } from '../../lib/docker/base-image';
import { probeDockerEngine, useDocker } from '../../lib/docker/engine';
import { findRegistryBinary, startRegistry } from '../../lib/docker/local-registry';
import { C2CError } from '../../lib/errors';
import { marathonAppId } from '../../lib/marathon/render';
import { startChatStandIn } from '../../lib/notify';
import { platformFromEnv } from '../../lib/platform';
import { startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { LocalArtifactServer } from '../../lib/cloudbuild/artifact-server';
import { Build, Clusters, MainJob, Step } from './job';
import {
  AUTHOR,
  buildAndPackage,
  commit,
  DEFAULT_APPROVER,
  planProduction,
  promote,
  release,
  settledImage,
  smoke,
  toStaging,
} from './release';
import { releaseStrategies } from './strategies';
import { auditBucketOf, cloudFirstRelease, prepareExecutor } from './cloud-release';

/** Docker or the stand-in: decided once, said first. With Docker, the base image and a loopback registry. */
async function chooseDocker(job: MainJob): Promise<void> {
  const { opts } = job;
  const probe = opts.docker === 'never' ? undefined : await probeDockerEngine();
  job.dockerUsed = useDocker(opts.docker, probe);
  let noDocker = opts.docker === 'never' ? '--docker never' : probe && !probe.available ? probe.reason : '';
  if (job.dockerUsed && opts.docker === 'auto') {
    // An engine without a registry binary (e.g. Docker Desktop): auto takes the stand-in path; always fails below.
    try {
      findRegistryBinary(process.env.PATH ?? '');
    } catch (err) {
      if (!(err instanceof C2CError) || err.code !== 'REGISTRY_NOT_FOUND') throw err;
      job.dockerUsed = false;
      noDocker = `an engine answers, but ${err.message}`;
    }
  }
  if (job.dockerUsed && probe?.available) {
    job.baseImage = (await ensureBaseImage()).image;
    const registry = await startRegistry({ dir: join(job.work, 'registry'), path: process.env.PATH ?? '' });
    job.registry = registry;
    job.servers.push({ what: `the registry on ${registry.host}`, close: () => registry.close() });
    job.say(`Docker engine ${probe.version} answers (--docker ${opts.docker}): each image service's Dockerfile is built`);
    job.say(`  (docker build, classic builder, FROM ${job.baseImage}, the previous image as cache), pushed to a registry this job`);
    job.say(`  runs on ${registry.host} (storage in ${job.rel(registry.storage)}), pinned by digest, and run as containers.`);
    job.written.push({ what: 'Docker registry storage (stand-in for the GCS-backed registry)', path: registry.storage });
  } else {
    job.say(`No Docker (${noDocker}): the stand-in path: an image is a directory in a local image store and its tasks run`);
    job.say("  as local processes; `--docker always` requires an engine. The triggers' steps are driven by hand here (the deploy");
    job.say('  CLI); with Docker the local Cloud Build executor runs the synthesized builds themselves.');
  }
  const registry = job.registry;
  job.summary.docker = registry
    ? {
        engine: probe?.available ? probe.version : '',
        registry: registry.host,
        registryPid: registry.pid,
        baseImage: job.baseImage,
        runLabel: `${RUN_LABEL}=${job.runId}`,
      }
    : false;
  job.platform = platformFromEnv(registry ? { C2C_REGISTRY_HOST: registry.host } : {});
}

/** Synthesizes the platform (dist/main.js, what `cdktf synth` runs) and summarizes the stacks. */
async function synthesize(job: MainJob): Promise<void> {
  const outdir = join(job.work, 'cdktf.out');
  await $({
    cwd: job.root,
    env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' },
    quiet: true,
  })`node ${join(job.root, 'dist/main.js')}`;
  const stacks = await summarizeSynth(outdir);
  for (const s of stacks) {
    const top = Object.entries(s.byType)
      .map(([t, n]) => `${n} ${t}`)
      .join(', ');
    job.say(`  ${s.stack.padEnd(24)} ${String(s.resources).padStart(3)} resources: ${top}`);
  }
  job.say(`  ${stacks.reduce((a, s) => a + s.resources, 0)} resources in ${stacks.length} stacks; Terraform JSON in ${job.rel(outdir)}`);
  job.written.push({ what: 'Terraform JSON per stack', path: outdir });
  job.summary.stacks = stacks;
}

/**
 * Two local Marathons (staging and production are separate clusters, as in real life), the reviewers' chat, the
 * artifact bucket, signing keys, and the deploy CLI as the job runs it.
 */
async function startClusters(job: MainJob): Promise<void> {
  const { work, registry } = job;
  job.images = join(work, 'images');
  await mkdir(job.images, { recursive: true });
  const common = {
    imageStore: registry ? undefined : job.images,
    enableFeatures: ['secrets'],
    docker: registry ? ('auto' as const) : ('never' as const),
    stateDir: undefined,
  };
  // Plans and approvals are signed: an SSH key per person and an allowed-signers file of the demo's own.
  const signingKeys = await demoSigningKeys(work, [AUTHOR, ...job.catalog.services.flatMap((s) => s.approvers)], DEFAULT_APPROVER);
  // The reviewers' chat: a loopback stand-in for a Slack webhook; `deploy plan --notify` posts the waiting plan there.
  const chat = await startChatStandIn();
  // The Marathons accept the host names the synthesized builds use (with Docker, the executor's synth names them), and
  // their fetchers reach the artifact server under the name the builds write into artifact URIs.
  const startMarathons = async (hosts?: Readonly<Record<'staging' | 'production', readonly string[]>>, artifacts?: LocalArtifactServer) => {
    const start = (env: 'staging' | 'production') =>
      startLocalMarathon({
        ...common,
        stateDir: join(work, `marathon-${env}`),
        ...(hosts ? { allowedHosts: [...hosts[env]] } : {}),
        ...(artifacts ? { fetcherConnectTo: [...artifacts.connectTo] } : {}),
      });
    const staging = await start('staging');
    job.servers.push({ what: `the staging Marathon`, marathonUrl: staging.url, close: () => staging.close() });
    const production = await start('production');
    job.servers.push({ what: `the production Marathon`, marathonUrl: production.url, close: () => production.close() });
    return { staging, production };
  };
  let marathons: Awaited<ReturnType<typeof startMarathons>> | undefined;
  let audit = join(work, 'audit.jsonl');
  let auditEnv: Record<string, string> = { C2C_AUDIT_LOG: audit };
  if (registry) {
    const abort = new AbortController();
    let artifactServer: LocalArtifactServer | undefined;
    const runs = await prepareExecutor(job, signingKeys.allowedSigners, chat.url, async (hosts, artifacts) => {
      artifactServer = artifacts;
      marathons = await startMarathons(hosts, artifacts);
      return { staging: marathons.staging.url, production: marathons.production.url };
    }, abort.signal); // prettier-ignore
    const executor: NonNullable<MainJob['executor']> = { runs, abort };
    job.executor = executor;
    job.servers.push({
      what: "the Cloud Build executor's builds and the Google stand-in",
      close: async () => {
        abort.abort(job.interrupted ?? 'stopped');
        await executor.running?.catch(() => undefined);
        await runs.close();
      },
    });
    // One audit log: the builds' (the audit bucket in the Storage stand-in), which the deploy CLI here reads and extends.
    audit = `gs://${auditBucketOf(runs.setup)}/events/`;
    auditEnv = { C2C_AUDIT_LOG: audit, C2C_GCS_BASE_URL: runs.google.url, GOOGLE_OAUTH_ACCESS_TOKEN: runs.google.buildToken };
    job.say(
      `  the local Cloud Build executor: the triggers synthesized in ${job.rel(join(work, 'cloudbuild/cdktf.out'))} (registry side-car`,
    );
    job.say(`    localhost:5000, the job's signers as the platform's list), Google's APIs answered by the stand-in on ${runs.google.url}`);
    const names = artifactServer!.connectTo.map((c) => `${c.host}:${c.port}`).join(', ');
    job.say(`  the platform's artifact server as synthesized (${artifactServer!.appId}) on ${artifactServer!.url}, reading the`);
    job.say(`    stand-in's Storage; the Marathons' fetchers reach it as ${names || 'no name (no build writes an artifact URI)'}`);
  } else marathons = await startMarathons();
  const { staging, production } = marathons!;
  job.written.push({ what: 'local Marathon state (staging, production)', path: join(work, 'marathon-*') });
  const env = {
    ...process.env,
    C2C_NOTIFY_WEBHOOK: chat.url,
    MARATHON_URL_STAGING: staging.url,
    MARATHON_URL_PRODUCTION: production.url,
    ...auditEnv,
    CI: process.env.CI ?? 'true',
    FORCE_COLOR: '0',
  };
  const deployJs = join(job.root, 'dist/scripts/deploy.js');
  const deploy: Clusters['deploy'] = (actor, args) =>
    $({
      cwd: work,
      env: { ...env, DEPLOY_ACTOR: actor, C2C_ALLOWED_SIGNERS: signingKeys.allowedSigners, DEPLOY_SIGNING_KEY: signingKeys.keyOf(actor) },
      quiet: true,
      nothrow: true,
    })`node ${deployJs} ${args}`;
  job.say(`  local Marathon: staging ${staging.url}, production ${production.url}`);
  // Artifact services: their tarballs go to a loopback stand-in for the artifact bucket, which the fetcher reads.
  const bucket = await startArtifactBucket(join(work, 'bucket'));
  job.servers.push({ what: 'the artifact bucket', close: () => bucket.close() });
  job.written.push({ what: 'artifact bucket (stand-in for the GCS bucket)', path: bucket.dir });
  const deployLive = liveDeploy(job, deploy);
  job.clusters = { staging, production, chat, bucket, audit, auditEnv, deploy, deployLive };
}

/** The deploy CLI with its progress lines shown as they come, prefixed with a label, then its result (Clusters.deployLive). */
function liveDeploy(job: MainJob, deploy: Clusters['deploy']): Clusters['deployLive'] {
  return async (label, actor, args) => {
    const p = deploy(actor, args);
    let pending = '';
    // Printed one turn of the event loop later (setImmediate, in order): Ctrl-C reaches the deploy CLI and this job at
    // once, and the CLI's own words about it ("stopping", "keeps running") may be read before this job's SIGINT
    // handler has run in the same turn; by the next turn the job knows it is interrupted and says nothing.
    const flush = (all: boolean) => {
      const parts = pending.split('\n');
      pending = all ? '' : (parts.pop() ?? '');
      const lines = parts.filter((line) => line.trim() !== '');
      if (lines.length > 0)
        setImmediate(() => {
          for (const line of lines) job.say(`    ${label}: ${line.replace(/^\/(staging|production)\/[a-z0-9-]+: /, '')}`);
        });
    };
    p.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      flush(false);
    });
    const r = await p;
    flush(true);
    await new Promise<void>((resolve) => setImmediate(resolve));
    job.say(`  ${label}: ${r.exitCode === 0 ? r.stdout.trim() : `exit ${r.exitCode}`}`);
    return r;
  };
}

/**
 * An ed25519 key (ssh-keygen) for each person (`user:` members and plain e-mails), listed in `<work>/allowed_signers`;
 * `groupMember` is also listed for every `group:` member, as a team lists its group's reviewers.
 */
async function demoSigningKeys(
  work: string,
  members: readonly string[],
  groupMember: string,
): Promise<{ allowedSigners: string; keyOf(who: string): string }> {
  const dir = join(work, 'keys');
  await mkdir(dir, { recursive: true });
  const emails = [
    ...new Set([groupMember, ...members.filter((p) => !p.includes(':') || p.startsWith('user:')).map((p) => p.replace(/^user:/, ''))]),
  ];
  const groups = [...new Set(members.filter((m) => m.startsWith('group:')))];
  const lines: string[] = [];
  for (const email of emails) {
    const key = join(dir, email);
    await $({ quiet: true })`ssh-keygen -q -t ed25519 -N ${''} -C ${email} -f ${key}`;
    const principals = [email, ...(email === groupMember ? groups : [])].join(',');
    lines.push(`${principals} ${(await readFile(`${key}.pub`, 'utf8')).trim()}`);
  }
  const allowedSigners = join(work, 'allowed_signers');
  await writeFile(allowedSigners, `${lines.join('\n')}\n`);
  return { allowedSigners, keyOf: (who) => (emails.includes(who) ? join(dir, who) : '') };
}

/** Builds every service the way the build trigger does, then deploys them to staging side by side. */
async function buildAll(job: MainJob): Promise<void> {
  for (const svc of job.catalog.services) {
    const repo = join(job.work, 'repos', svc.name);
    await cp(join(job.root, packageOf(svc).kind === 'artifact' ? 'templates/artifact-repo' : 'templates/service-repo'), repo, {
      recursive: true,
    });
    const { sha, commitTime } = await commit(repo, `${svc.name}: initial service from the commit-to-cloud template`);
    job.builds.push(await buildAndPackage(job, svc.name, repo, sha, commitTime));
  }
  job.written.push({ what: 'service repositories (seeded from templates/service-repo or artifact-repo)', path: join(job.work, 'repos') });
  if (!job.registry) job.written.push({ what: 'local image store (stand-in for the GCS-backed registry)', path: job.images });
  const stagingRuns = await Promise.all(job.builds.map((b) => toStaging(job, b, 60)));
  if (stagingRuns.some((r) => r.exitCode !== 0)) throw new Error('a staging deploy failed (see above)');
}

/** The everyday change: bulb-api (or the first service). */
const changed = (job: MainJob): Build => job.builds.find((b) => b.name === 'bulb-api') ?? job.builds[0];
/** The broken release: storefront (or the last service). */
const victim = (job: MainJob): Build => job.builds.find((b) => b.name === 'storefront') ?? job.builds[job.builds.length - 1];

/** One small commit, from push to production, and the reviewer sees exactly what changes. */
async function oneCommit(job: MainJob): Promise<void> {
  const next = await release(job, changed(job), {
    message: 'Answer / with the service name',
    file: 'README.md',
    append: '\nA small change, released by the demo.\n',
  });
  await smoke(job, next);
  await promote(job, next, true, false);
}

/** A broken release: it passes its unit tests, fails its health check, and is rolled back automatically. */
async function brokenRelease(job: MainJob): Promise<void> {
  const v = victim(job);
  // The defect only shows at run time: the commit ships a file named BROKEN, which makes the image's /health answer
  // 500 (the unit tests pass); with Docker a real image whose containers fail their health check.
  const change = {
    message: 'Read the new config key (forgot to ship it)',
    file: 'BROKEN',
    append: 'This release is broken on purpose by the demo: server.js answers 500 on /health while this file exists.\n',
  };
  const bad = await release(job, v, change, 12, 1);
  // The deploy CLI exits once the rollback is confirmed or its deadline passes; say what runs once Marathon has finished.
  const running = await settledImage(job.clusters.staging.url, marathonAppId(v.name, 'staging'), 60);
  job.say(
    `  as intended: the deploy failed (exit 1) and was rolled back; staging ${v.name} runs ${running} again, and the failed version stays in Marathon's history`,
  );
  if (running === bad.image) throw new Error(`staging ${v.name} still runs the broken image ${bad.image}`);
  job.summary.rollback = { service: v.name, failedImage: bad.image, runningImage: running };
}

/** Fleet status, and the DORA report from the audit log. */
async function statusAndReport(job: MainJob): Promise<void> {
  const { deploy, audit } = job.clusters;
  const status = await deploy(AUTHOR, ['status']);
  for (const line of status.stdout.trimEnd().split('\n')) job.say(`  ${line}`);
  for (const environment of ['production', 'staging']) {
    const report = await deploy(AUTHOR, ['report', '--since', '1d', '--env', environment]);
    for (const line of report.stdout.trimEnd().split('\n')) job.say(`  ${line}`);
  }
  const statusJson = await deploy(AUTHOR, ['status', '--json']);
  job.summary.status = safeJson(statusJson.stdout);
  const reportJson = await deploy(AUTHOR, ['report', '--since', '1d', '--json']);
  job.summary.report = safeJson(reportJson.stdout);
  job.written.push({ what: 'audit log (every plan, approval, apply and rollback)', path: audit });
}

/**
 * The team's page: two more commits of the everyday service reach staging and wait for approval as one production
 * plan; `deploy report --html` then writes the page (DORA trends, the fleet, that plan with its commits and diff, the
 * audit trail and whether it verifies).
 */
async function teamPage(job: MainJob): Promise<void> {
  const { deploy } = job.clusters;
  let next = changed(job);
  for (const [i, message] of ['Log each request with its latency', 'Answer /health with the version'].entries()) {
    next = await release(job, next, { message, file: 'README.md', append: `\nChange ${i + 1} waiting for a reviewer.\n` });
  }
  const { planFile } = await planProduction(job, next);
  job.say(`  ${next.name}: 2 commits planned for production, waiting for approval (${job.rel(planFile)})`);
  const page = join(job.work, 'page.html');
  const r = await deploy(AUTHOR, ['report', '--html', page, '--plans', join(job.work, 'plans'), '--since', '90d']);
  if (r.exitCode !== 0) throw new Error(`deploy report --html failed: ${r.stderr}`);
  job.say(`  the team's page: ${job.rel(page)} (one self-contained HTML file; open it in a browser)`);
  job.written.push({ what: "the team's page (deploy report --html)", path: page });
  job.summary.page = page;
}

/** What was written where, and what to do next. */
async function finish(job: MainJob): Promise<void> {
  job.say(`\nDone in ${job.elapsed()}. Files written:`);
  for (const w of job.written) job.say(`  ${w.what.padEnd(58)} ${job.rel(w.path)}`);
  job.say('\nNext:');
  job.say('  add a service:        npm run new-service -- my-service   (then edit services/my-service.ts)');
  job.say('  a real Marathon:      MARATHON_URL_STAGING=https://… npm run --silent deploy -- status');
  job.say('  the real platform:    see README "Platform engineers" (Terraform, Google and GitHub credentials), then npx cdktf deploy');
  job.summary.files = job.written;
  job.summary.seconds = job.seconds();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The main job, in order. */
export const MAIN_JOB_STEPS: readonly Step[] = [
  { name: 'docker', run: chooseDocker },
  { name: 'synth', heading: () => 'Synthesize the platform (what `cdktf deploy` would create)', run: synthesize },
  { name: 'clusters', run: startClusters },
  {
    name: 'build',
    heading: (job) =>
      job.executor
        ? "First release through the local Cloud Build executor: each service's push trigger, approval, production trigger"
        : `Build (build.sh + unit tests), ${job.registry ? 'docker build + push' : 'package'}, deploy to staging`,
    run: async (job) => {
      if (!job.executor) return buildAll(job);
      job.executor.running = cloudFirstRelease(job);
      await job.executor.running;
    },
  },
  {
    name: 'smoke',
    heading: () => 'Smoke tests against staging',
    skip: (job) => job.registry !== undefined,
    run: async (job) => {
      for (const b of job.builds) await smoke(job, b);
    },
  },
  {
    name: 'first-release',
    heading: () => 'First production release: plan, approval by a second person, apply',
    skip: (job) => job.registry !== undefined,
    run: async (job) => {
      job.written.push({ what: 'production plan files', path: join(job.work, 'plans') });
      for (const b of job.builds) await promote(job, b, false, b === job.builds[0]);
    },
  },
  { name: 'one-commit', heading: (job) => `One commit of ${changed(job).name}, from push to production`, run: oneCommit },
  {
    name: 'broken-release',
    heading: (job) => `A broken release of ${victim(job).name} to staging, rolled back automatically`,
    run: brokenRelease,
  },
  releaseStrategies(process.env.PATH ?? ''),
  { name: 'status-report', heading: () => 'Fleet status, and the DORA report from the audit log', run: statusAndReport },
  { name: 'page', heading: () => "The team's page: a plan waiting for approval, the fleet, DORA trends, the audit trail", run: teamPage },
  { name: 'finish', run: finish },
];
