#!/usr/bin/env node
// The main job on one machine (`npm start`): takes the example fleet from commit to production against two local
// Marathon servers (staging and production), using the same CLIs a build step or a person would use.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { $ } from 'zx';
import { findRepoRoot } from '../constructs/settings';
import { ArtifactRef } from '../lib/catalog/artifact';
import { packageOf } from '../lib/catalog/types';
import { buildArtifact, packageArgs, startArtifactBucket } from '../lib/demo/artifacts';
import { packageLocalImage } from '../lib/demo/image-store';
import { summarizeSynth } from '../lib/demo/synth-summary';
import { startChatStandIn } from '../lib/notify';
import { imageFor, platformFromEnv } from '../lib/platform';
import { MarathonClient } from '../lib/marathon/client';
import { marathonAppId } from '../lib/marathon/render';
import { loadCatalog } from '../services';
import { configureCommander, exitCodeFor } from './cli-kit';
import { startLocalMarathon, LocalMarathon } from '../packages/local-marathon';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

interface Options {
  readonly workdir: string;
  readonly json: boolean;
}

/** One built commit of a service: its repository, commit and image. */
interface Build {
  readonly name: string;
  readonly repo: string;
  readonly sha: string;
  readonly commitTime: string;
  /** The image, or for an artifact service the artifact's URI. */
  readonly image: string;
  readonly artifact?: ArtifactRef;
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
    .addHelpText(
      'after',
      '\nExit codes:\n  0  every step did what it should (including the deliberate rollback)\n  1  a step failed (the message says which)\n  2  bad usage\n',
    );
  configureCommander(program, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(`${s}\n`) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    return exitCodeFor(err) === 0 ? EXIT_OK : EXIT_USAGE;
  }
  const opts = program.opts<{ workdir: string; json: boolean }>();
  quietOut = opts.json;
  return run({ workdir: resolve(opts.workdir), json: opts.json });
}

async function run(opts: Options): Promise<number> {
  const root = findRepoRoot(__dirname);
  const work = opts.workdir;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const written: Written[] = [];
  const catalog = loadCatalog();
  const platform = platformFromEnv({});
  const marathons: LocalMarathon[] = [];
  const servers: { close(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.all([...marathons.splice(0), ...servers.splice(0)].map((m) => m.close()));
  };
  const onSignal = () => {
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const summary: Record<string, unknown> = {};

  try {
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
    const common = { imageStore: images, enableFeatures: ['secrets'], docker: 'never' as const, stateDir: undefined };
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
    const buildAndPackage = async (
      name: string,
      repo: string,
      sha: string,
      commitTime: string,
      extraEnv: Record<string, string>,
    ): Promise<Build> => {
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
      await packageLocalImage({ repoDir: repo, store: images, image, command: 'node server.js', extraEnv });
      say(`  ${name.padEnd(12)} commit ${sha.slice(0, 7)}  build.sh ok${tests ? ` (${tests} unit tests passed)` : ''}  image ${image}`);
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
      extraEnv: Record<string, string>,
      timeoutSeconds = 60,
      expectExit = 0,
    ): Promise<Build> => {
      const { sha, commitTime } = await commit(from.repo, message, file, append);
      const b = await buildAndPackage(from.name, from.repo, sha, commitTime, extraEnv);
      const r = await toStaging(b, timeoutSeconds);
      if (r.exitCode !== expectExit) throw new Error(`the staging deploy of ${b.name} exited ${r.exitCode}, expected ${expectExit}`);
      return b;
    };

    // 2. Build every service the way the build trigger does, then deploy them to staging side by side.
    heading(2, 'Build (build.sh + unit tests), package, deploy to staging');
    const builds: Build[] = [];
    for (const svc of catalog.services) {
      const repo = join(work, 'repos', svc.name);
      await cp(join(root, packageOf(svc).kind === 'artifact' ? 'templates/artifact-repo' : 'templates/service-repo'), repo, {
        recursive: true,
      });
      const { sha, commitTime } = await commit(repo, `${svc.name}: initial service from the commit-to-cloud template`);
      builds.push(await buildAndPackage(svc.name, repo, sha, commitTime, {}));
    }
    written.push({ what: 'service repositories (seeded from templates/service-repo or artifact-repo)', path: join(work, 'repos') });
    written.push({ what: 'local image store (stand-in for the GCS-backed registry)', path: images });
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
      const plan = await deploy(AUTHOR, [
        'plan',
        '--service',
        b.name,
        '--env',
        'production',
        ...packageArgs(b),
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
    const next = await release(change, 'Answer / with the service name', 'README.md', '\nA small change, released by the demo.\n', {});
    await smoke(next);
    await promote(next, true, false);

    // 6. A broken release: it passes its unit tests, fails its health check, and is rolled back automatically.
    const victim = builds.find((b) => b.name === 'storefront') ?? builds[builds.length - 1];
    heading(6, `A broken release of ${victim.name} to staging, rolled back automatically`);
    // The defect only shows at run time: the image starts with BROKEN=1, so /health answers 500 (unit tests pass).
    const bad = await release(
      victim,
      'Read the new config key (forgot to ship it)',
      'README.md',
      '\nThis release is broken on purpose by the demo.\n',
      { BROKEN: '1' },
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
  if (file && append !== undefined) await writeFile(join(repo, file), (await readFile(join(repo, file), 'utf8')) + append);
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
