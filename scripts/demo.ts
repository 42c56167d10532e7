#!/usr/bin/env node
// The main job on one machine (`npm start`): takes the example fleet from commit to production against two local
// Marathon servers (staging and production), using the same CLIs a build step or a person would use.
import { Command, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { $ } from 'zx';
import { findRepoRoot } from '../constructs/settings';
import { ArtifactRef } from '../lib/catalog/artifact';
import { packageOf } from '../lib/catalog/types';
import { buildArtifact, packageArgs, startArtifactBucket } from '../lib/demo/artifacts';
import { buildAndPush, RUN_LABEL } from '../lib/demo/docker-images';
import { ensureBaseImage } from '../lib/docker/base-image';
import { removeContainersWithLabel, removeImageTags } from '../lib/docker/containers';
import { DOCKER_MODES, DockerMode, probeDockerEngine, useDocker } from '../lib/docker/engine';
import { findRegistryBinary, LocalRegistry, startRegistry } from '../lib/docker/local-registry';
import { C2CError } from '../lib/errors';
import { packageLocalImage } from '../lib/demo/image-store';
import { summarizeSynth } from '../lib/demo/synth-summary';
import { startChatStandIn } from '../lib/notify';
import { imageFor, platformFromEnv } from '../lib/platform';
import { MarathonClient } from '../lib/marathon/client';
import { marathonAppId } from '../lib/marathon/render';
import { loadCatalog } from '../services';
import { configureCommander, exitCodeFor } from './cli-kit';
import { startLocalMarathon, LocalMarathon } from '@commit-to-cloud/local-marathon';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

interface Options {
  readonly workdir: string;
  readonly json: boolean;
  readonly docker: DockerMode;
}

/** One built commit of a service: its repository, commit and image. */
interface Build {
  readonly name: string;
  readonly repo: string;
  readonly sha: string;
  readonly commitTime: string;
  /** The image (with Docker: pinned by digest, `<registry>/<name>:<tag>@sha256:…`), or an artifact service's URI. */
  readonly image: string;
  readonly artifact?: ArtifactRef;
  /** With Docker: the pushed tag (`<registry>/<name>:<tag>`) and the digest the registry answered for it. */
  readonly pushed?: { readonly tag: string; readonly digest: string };
}

interface Written {
  readonly what: string;
  readonly path: string;
}

const AUTHOR = 'dev@acme-lighting.example';
/** Approves for services whose approvers are groups (the demo lists her key for each group). */
const DEFAULT_APPROVER = 'ana@acme-lighting.example';

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
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
let quietOut = false;
const say = (line = '') => {
  if (!quietOut) process.stdout.write(`${line}\n`);
};
const heading = (n: number, text: string) => say(`\n[${n}/7] ${text}  (${elapsed()})`);

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('npm start --')
    .description(
      'Takes the example fleet from commit to production on this machine: synth, build + unit tests, staging deploy, smoke tests, gated production deploy, an automatic rollback, status and DORA report. Needs no cloud account; starts and stops two local Marathon servers itself.',
    )
    .option('--workdir <dir>', 'where the demo writes repos, images, plans, the audit log and cdktf.out', '.c2c/demo')
    .option('--json', 'print one JSON summary on stdout instead of the narrative', false)
    .addOption(
      new Option(
        '--docker <mode>',
        'auto: real images, a registry and containers when a Docker engine answers (docker info), else the stand-in; never: always the stand-in; always: fail without an engine',
      )
        .choices([...DOCKER_MODES])
        .default('auto'),
    )
    .addHelpText(
      'after',
      '\nExit codes:\n  0  every step did what it should (including the deliberate rollback)\n  1  a step failed, or --docker always and no engine answers (the message says which)\n  2  bad usage\n',
    );
  configureCommander(program, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(`${s}\n`) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    return exitCodeFor(err) === 0 ? EXIT_OK : EXIT_USAGE;
  }
  const opts = program.opts<{ workdir: string; json: boolean; docker: DockerMode }>();
  quietOut = opts.json;
  return run({ workdir: resolve(opts.workdir), json: opts.json, docker: opts.docker });
}

async function run(opts: Options): Promise<number> {
  const root = findRepoRoot(__dirname);
  const work = opts.workdir;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const written: Written[] = [];
  const catalog = loadCatalog();
  const marathons: LocalMarathon[] = [];
  const servers: { close(): Promise<void> }[] = [];
  // With Docker: every image the job builds carries this run's label, and so does every container started from one.
  const runId = randomUUID();
  const pushedTags: string[] = [];
  let dockerUsed = false;
  // One stop, however many ask for it (Ctrl-C and the failure it causes both do): each waits until all is done.
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all([...marathons.splice(0), ...servers.splice(0)].map((m) => m.close()));
      if (!dockerUsed) return;
      // The local Marathon removes its containers when it closes; anything left (it was killed) goes here.
      const left = await removeContainersWithLabel(`${RUN_LABEL}=${runId}`);
      if (left > 0) process.stderr.write(`demo: removed ${left} container(s) left running\n`);
      // The registry's tags point at a registry that is gone now; the cache tags stay for the next run's builds.
      await removeImageTags(pushedTags.splice(0));
    })());
  const onSignal = () => {
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const summary: Record<string, unknown> = {};

  try {
    // Docker or the stand-in: decided once, said first.
    const probe = opts.docker === 'never' ? undefined : await probeDockerEngine();
    dockerUsed = useDocker(opts.docker, probe);
    let registry: LocalRegistry | undefined;
    let baseImage = '';
    let noDocker = opts.docker === 'never' ? '--docker never' : probe && !probe.available ? probe.reason : '';
    if (dockerUsed && opts.docker === 'auto') {
      // An engine without a registry binary (e.g. Docker Desktop): auto takes the stand-in path; always fails below.
      try {
        findRegistryBinary(process.env.PATH ?? '');
      } catch (err) {
        if (!(err instanceof C2CError) || err.code !== 'REGISTRY_NOT_FOUND') throw err;
        dockerUsed = false;
        noDocker = `an engine answers, but ${err.message}`;
      }
    }
    if (dockerUsed && probe?.available) {
      baseImage = (await ensureBaseImage()).image;
      registry = await startRegistry({ dir: join(work, 'registry'), path: process.env.PATH ?? '' });
      servers.push(registry);
      say(`Docker engine ${probe.version} answers (--docker ${opts.docker}): each image service's Dockerfile is built`);
      say(`  (docker build, classic builder, FROM ${baseImage}, the previous image as cache), pushed to a registry this job`);
      say(`  runs on ${registry.host} (storage in ${rel(registry.storage)}), pinned by digest, and run as containers.`);
      written.push({ what: 'Docker registry storage (stand-in for the GCS-backed registry)', path: registry.storage });
    } else {
      say(`No Docker (${noDocker}): the stand-in path: an image is a directory in a local image store and its tasks run`);
      say('  as local processes; `--docker always` requires an engine.');
    }
    summary.docker = registry
      ? {
          engine: probe?.available ? probe.version : '',
          registry: registry.host,
          registryPid: registry.pid,
          baseImage,
          runLabel: `${RUN_LABEL}=${runId}`,
        }
      : false;
    const platform = platformFromEnv(registry ? { C2C_REGISTRY_HOST: registry.host } : {});

    // 1. Synthesize the platform.
    heading(1, 'Synthesize the platform (what `cdktf deploy` would create)');
    const outdir = join(work, 'cdktf.out');
    await $({
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' },
      quiet: true,
    })`node ${join(root, 'dist/main.js')}`;
    const stacks = await summarizeSynth(outdir);
    for (const s of stacks) {
      const top = Object.entries(s.byType)
        .map(([t, n]) => `${n} ${t}`)
        .join(', ');
      say(`  ${s.stack.padEnd(24)} ${String(s.resources).padStart(3)} resources: ${top}`);
    }
    say(`  ${stacks.reduce((a, s) => a + s.resources, 0)} resources in ${stacks.length} stacks; Terraform JSON in ${rel(outdir)}`);
    written.push({ what: 'Terraform JSON per stack', path: outdir });
    summary.stacks = stacks;

    // Two local Marathons: staging and production are separate clusters, as in real life.
    const images = join(work, 'images');
    await mkdir(images, { recursive: true });
    const common = {
      imageStore: registry ? undefined : images,
      enableFeatures: ['secrets'],
      docker: registry ? ('auto' as const) : ('never' as const),
      stateDir: undefined,
    };
    const staging = await startLocalMarathon({ ...common, stateDir: join(work, 'marathon-staging') });
    marathons.push(staging);
    const production = await startLocalMarathon({ ...common, stateDir: join(work, 'marathon-production') });
    marathons.push(production);
    written.push({ what: 'local Marathon state (staging, production)', path: join(work, 'marathon-*') });
    const audit = join(work, 'audit.jsonl');
    // The reviewers' chat: a loopback stand-in for a Slack webhook; `deploy plan --notify` posts the waiting plan there.
    const chat = await startChatStandIn();
    const env = {
      ...process.env,
      C2C_NOTIFY_WEBHOOK: chat.url,
      MARATHON_URL_STAGING: staging.url,
      MARATHON_URL_PRODUCTION: production.url,
      C2C_AUDIT_LOG: audit,
      CI: process.env.CI ?? 'true',
      FORCE_COLOR: '0',
    };
    const deployJs = join(root, 'dist/scripts/deploy.js');
    // Plans and approvals are signed: an SSH key per person and an allowed-signers file of the demo's own.
    const signingKeys = await demoSigningKeys(work, [AUTHOR, ...catalog.services.flatMap((s) => s.approvers)], DEFAULT_APPROVER);
    const deploy = (actor: string, args: string[]) =>
      $({
        cwd: work,
        env: { ...env, DEPLOY_ACTOR: actor, C2C_ALLOWED_SIGNERS: signingKeys.allowedSigners, DEPLOY_SIGNING_KEY: signingKeys.keyOf(actor) },
        quiet: true,
        nothrow: true,
      })`node ${deployJs} ${args}`;
    say(`  local Marathon: staging ${staging.url}, production ${production.url}`);
    // Artifact services: their tarballs go to a loopback stand-in for the artifact bucket, which the fetcher reads.
    const bucket = await startArtifactBucket(join(work, 'bucket'));
    servers.push(bucket);
    written.push({ what: 'artifact bucket (stand-in for the GCS bucket)', path: bucket.dir });
    // A deploy whose progress lines (stderr) are shown as they come, prefixed, then its result (stdout).
    const deployLive = async (label: string, actor: string, args: string[]) => {
      const p = deploy(actor, args);
      let pending = '';
      const flush = (all: boolean) => {
        const parts = pending.split('\n');
        pending = all ? '' : (parts.pop() ?? '');
        for (const line of parts) if (line.trim() !== '') say(`    ${label}: ${line.replace(/^\/(staging|production)\/[a-z0-9-]+: /, '')}`);
      };
      p.stderr.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        flush(false);
      });
      const r = await p;
      flush(true);
      say(`  ${label}: ${r.exitCode === 0 ? r.stdout.trim() : `exit ${r.exitCode}`}`);
      return r;
    };

    // What the push trigger does for one commit: build.sh (build + unit tests), the image, the staging deploy.
    const buildAndPackage = async (name: string, repo: string, sha: string, commitTime: string): Promise<Build> => {
      const def = catalog.get(name);
      if (packageOf(def).kind === 'artifact') {
        const a = await buildArtifact({ service: def, repoDir: repo, commit: sha, bucket, env: process.env });
        const tests = /# pass (\d+)/.exec(a.output)?.[1];
        say(
          `  ${name.padEnd(12)} commit ${sha.slice(0, 7)}  make ok${tests ? ` (${tests} unit tests passed)` : ''}  artifact sha256:${a.sha256.slice(0, 12)}`,
        );
        return { name, repo, sha, commitTime, image: a.uri, artifact: { uri: a.uri, sha256: a.sha256 } };
      }
      const build = await $({ cwd: repo, quiet: true, nothrow: true })`bash build.sh`;
      if (build.exitCode !== 0) throw new Error(`build.sh of ${name} failed:\n${build.stdout}${build.stderr}`);
      const tests = /# pass (\d+)/.exec(build.stdout + build.stderr)?.[1];
      const image = imageFor(platform, name, sha.slice(0, 7));
      const built = `${name.padEnd(12)} commit ${sha.slice(0, 7)}  build.sh ok${tests ? ` (${tests} unit tests passed)` : ''}`;
      if (registry) {
        const p = await buildAndPush({ service: name, repoDir: repo, registry, tag: sha.slice(0, 7), baseImage, runId, env: process.env });
        pushedTags.push(p.image);
        say(`  ${built}  docker build ${p.build.seconds.toFixed(1)}s (${p.build.cachedSteps}/${p.build.steps} steps cached)`);
        say(`  ${''.padEnd(12)} pushed ${p.image} (${p.pushSeconds.toFixed(1)}s), the registry answers ${p.digest.slice(0, 19)}…`);
        return { name, repo, sha, commitTime, image: p.pinned, pushed: { tag: p.image, digest: p.digest } };
      }
      await packageLocalImage({ repoDir: repo, store: images, image, command: 'node server.js' });
      say(`  ${built}  image ${image}`);
      return { name, repo, sha, commitTime, image };
    };
    const toStaging = async (b: Build, timeoutSeconds: number) =>
      deployLive(`staging ${b.name}`, AUTHOR, [
        'apply',
        '--service',
        b.name,
        '--env',
        'staging',
        ...packageArgs(b),
        '--commit',
        b.sha,
        '--commit-time',
        b.commitTime,
        '--timeout',
        String(timeoutSeconds),
      ]);
    const smoke = async (b: Build) => {
      const test = catalog.get(b.name).smokeTest;
      const url = await serviceUrl(staging.url, marathonAppId(b.name, 'staging'));
      const r = await $({ cwd: b.repo, env: { ...process.env, SERVICE_URL: url }, quiet: true, nothrow: true })`bash -c ${test}`;
      say(`  ${b.name.padEnd(12)} smoke test '${test}' against staging (${url}): ${r.exitCode === 0 ? 'passed' : 'FAILED'}`);
      if (r.exitCode !== 0) throw new Error(`smoke test of ${b.name} failed:\n${r.stdout}${r.stderr}`);
    };
    const release = async (
      from: Build,
      message: string,
      file: string,
      append: string,
      timeoutSeconds = 60,
      expectExit = 0,
    ): Promise<Build> => {
      const { sha, commitTime } = await commit(from.repo, message, file, append);
      const b = await buildAndPackage(from.name, from.repo, sha, commitTime);
      const r = await toStaging(b, timeoutSeconds);
      if (r.exitCode !== expectExit) throw new Error(`the staging deploy of ${b.name} exited ${r.exitCode}, expected ${expectExit}`);
      return b;
    };

    // 2. Build every service the way the build trigger does, then deploy them to staging side by side.
    heading(2, `Build (build.sh + unit tests), ${registry ? 'docker build + push' : 'package'}, deploy to staging`);
    const builds: Build[] = [];
    for (const svc of catalog.services) {
      const repo = join(work, 'repos', svc.name);
      await cp(join(root, packageOf(svc).kind === 'artifact' ? 'templates/artifact-repo' : 'templates/service-repo'), repo, {
        recursive: true,
      });
      const { sha, commitTime } = await commit(repo, `${svc.name}: initial service from the commit-to-cloud template`);
      builds.push(await buildAndPackage(svc.name, repo, sha, commitTime));
    }
    written.push({ what: 'service repositories (seeded from templates/service-repo or artifact-repo)', path: join(work, 'repos') });
    if (!registry) written.push({ what: 'local image store (stand-in for the GCS-backed registry)', path: images });
    const stagingRuns = await Promise.all(builds.map((b) => toStaging(b, 60)));
    if (stagingRuns.some((r) => r.exitCode !== 0)) throw new Error('a staging deploy failed (see above)');

    // 3. Smoke tests against staging.
    heading(3, 'Smoke tests against staging');
    for (const b of builds) await smoke(b);

    // Production: plan (by the change's author), review, approval by a second person, apply of exactly that plan.
    const plans = join(work, 'plans');
    written.push({ what: 'production plan files', path: plans });
    const promote = async (b: Build, showDiff: boolean, tryAsAuthor: boolean) => {
      const svc = catalog.get(b.name);
      const planFile = join(plans, `${b.name}-${b.sha.slice(0, 7)}.json`);
      // With Docker the plan names the pushed tag and asks the registry for its digest, which the plan then pins.
      const imageArgs = b.pushed && registry ? ['--image', b.pushed.tag, '--registry', registry.url] : packageArgs(b);
      const plan = await deploy(AUTHOR, [
        'plan',
        '--service',
        b.name,
        '--env',
        'production',
        ...imageArgs,
        '--commit',
        b.sha,
        '--commit-time',
        b.commitTime,
        '--out',
        planFile,
        '--notify',
      ]);
      if (plan.exitCode !== 0) throw new Error(`plan of ${b.name} failed: ${plan.stderr}`);
      const lines = plan.stdout.trimEnd().split('\n');
      say(`  ${lines[0]}`);
      if (b.pushed) {
        const pinned = (JSON.parse(await readFile(planFile, 'utf8')) as { imageDigest?: string }).imageDigest;
        if (pinned !== b.pushed.digest)
          throw new Error(`the plan of ${b.name} pins ${pinned ?? 'no digest'}, not the pushed ${b.pushed.digest}`);
        say(`    pins ${b.pushed.tag}@${pinned.slice(0, 19)}… (the digest the registry answered)`);
      }
      if (showDiff) for (const line of lines.slice(1)) say(`      ${line}`);
      if (tryAsAuthor && chat.messages.length > 0) {
        say(`    the reviewers' chat got (deploy plan --notify):`);
        for (const line of chat.messages[chat.messages.length - 1].split('\n')) say(`      | ${line}`);
      } else say(`      (${lines.length - 1} fields; the whole diff is in ${rel(planFile)})`);
      if (tryAsAuthor) {
        const self = await deploy(AUTHOR, ['approve', planFile]);
        say(`    ${AUTHOR} (the author) tries to approve it: exit ${self.exitCode}, ${firstLine(self.stderr).replace(/^deploy: /, '')}`);
      }
      const approver = (svc.approvers.find((a) => a.startsWith('user:')) ?? `user:${DEFAULT_APPROVER}`).slice(5);
      const ok = await deploy(approver, ['approve', planFile, '--comment', 'reviewed in the demo']);
      if (ok.exitCode !== 0) throw new Error(`approval of ${b.name} failed: ${ok.stderr}`);
      say(`    approved by ${approver}`);
      const apply = await deployLive(`production ${b.name}`, 'cloudbuild-production@acme-lighting.example', [
        'apply',
        '--plan',
        planFile,
        '--timeout',
        '60',
      ]);
      if (apply.exitCode !== 0) throw new Error(`production apply of ${b.name} failed`);
    };
    heading(4, 'First production release: plan, approval by a second person, apply');
    for (const b of builds) await promote(b, false, b === builds[0]);

    // 5. The everyday case: one small commit, from push to production, and the reviewer sees exactly what changes.
    const change = builds.find((b) => b.name === 'bulb-api') ?? builds[0];
    heading(5, `One commit of ${change.name}, from push to production`);
    const next = await release(change, 'Answer / with the service name', 'README.md', '\nA small change, released by the demo.\n');
    await smoke(next);
    await promote(next, true, false);

    // 6. A broken release: it passes its unit tests, fails its health check, and is rolled back automatically.
    const victim = builds.find((b) => b.name === 'storefront') ?? builds[builds.length - 1];
    heading(6, `A broken release of ${victim.name} to staging, rolled back automatically`);
    // The defect only shows at run time: the commit ships a file named BROKEN, which makes the image's /health answer
    // 500 (the unit tests pass); with Docker a real image whose containers fail their health check.
    const bad = await release(
      victim,
      'Read the new config key (forgot to ship it)',
      'BROKEN',
      'This release is broken on purpose by the demo: server.js answers 500 on /health while this file exists.\n',
      12,
      1,
    );
    const running = await runningImage(staging.url, marathonAppId(victim.name, 'staging'));
    say(
      `  as intended: the deploy failed (exit 1) and was rolled back; staging ${victim.name} runs ${running} again, and the failed version stays in Marathon's history`,
    );
    if (running === bad.image) throw new Error(`staging ${victim.name} still runs the broken image ${bad.image}`);
    summary.rollback = { service: victim.name, failedImage: bad.image, runningImage: running };

    // 7. Status, history, DORA report.
    heading(7, 'Fleet status, and the DORA report from the audit log');
    const status = await deploy(AUTHOR, ['status']);
    for (const line of status.stdout.trimEnd().split('\n')) say(`  ${line}`);
    for (const environment of ['production', 'staging']) {
      const report = await deploy(AUTHOR, ['report', '--since', '1d', '--env', environment]);
      for (const line of report.stdout.trimEnd().split('\n')) say(`  ${line}`);
    }
    const statusJson = await deploy(AUTHOR, ['status', '--json']);
    summary.status = safeJson(statusJson.stdout);
    const reportJson = await deploy(AUTHOR, ['report', '--since', '1d', '--json']);
    summary.report = safeJson(reportJson.stdout);
    written.push({ what: 'audit log (every plan, approval, apply and rollback)', path: audit });

    say(`\nDone in ${elapsed()}. Files written:`);
    for (const w of written) say(`  ${w.what.padEnd(58)} ${rel(w.path)}`);
    say('\nNext:');
    say('  add a service:        npm run new-service -- my-service   (then edit services/my-service.ts)');
    say('  a real Marathon:      MARATHON_URL_STAGING=https://… npm run --silent deploy -- status');
    say('  the real platform:    see README "Platform engineers" (Terraform, Google and GitHub credentials), then npx cdktf deploy');
    summary.files = written;
    summary.seconds = (Date.now() - started) / 1000;
    if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return EXIT_OK;
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    if (err instanceof C2CError && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return EXIT_FAILED;
  } finally {
    await stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Commits the working tree (optionally after appending to a file) with a fixed author; returns sha and time. */
async function commit(repo: string, message: string, file?: string, append?: string): Promise<{ sha: string; commitTime: string }> {
  const git = $({
    cwd: repo,
    quiet: true,
    env: { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: AUTHOR, GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: AUTHOR },
  });
  if (!existsSync(join(repo, '.git'))) await git`git init -q -b main`;
  if (file && append !== undefined) {
    const before = existsSync(join(repo, file)) ? await readFile(join(repo, file), 'utf8') : '';
    await writeFile(join(repo, file), before + append);
  }
  await git`git add -A`;
  await git`git commit -q -m ${message}`;
  const sha = (await git`git rev-parse HEAD`).stdout.trim();
  const commitTime = (await git`git log -1 --format=%cI`).stdout.trim();
  return { sha, commitTime: new Date(commitTime).toISOString() };
}

/** The image an app's definition names now. */
async function runningImage(marathonUrl: string, appId: string): Promise<string> {
  return (await new MarathonClient({ baseUrl: marathonUrl }).getApp(appId))?.image ?? '(none)';
}

/** `http://host:port` of a running task of an app (port index 0): what a smoke test gets as SERVICE_URL. */
async function serviceUrl(marathonUrl: string, appId: string): Promise<string> {
  const tasks = await new MarathonClient({ baseUrl: marathonUrl }).getAppTasks(appId);
  const task = tasks.find((t) => t.state === 'TASK_RUNNING') ?? tasks[0];
  if (!task || !task.host) throw new Error(`${appId} has no running task to test`);
  return `http://${task.host}:${task.ports[0]}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
