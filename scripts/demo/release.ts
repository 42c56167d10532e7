// What the triggers do for one commit, as the main job runs them: build and package, deploy to staging, smoke test,
// and the production promotion (plan, review, approval by a second person, apply of exactly that plan).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { packageOf } from '../../lib/catalog/types';
import { buildArtifact, packageArgs } from '../../lib/demo/artifacts';
import { buildAndPush } from '../../lib/demo/docker-images';
import { packageLocalImage } from '../../lib/demo/image-store';
import { MarathonClient } from '../../lib/marathon/client';
import { marathonAppId } from '../../lib/marathon/render';
import { imageFor } from '../../lib/platform';
import { Build, MainJob } from './job';

export const AUTHOR = 'dev@acme-lighting.example';
/** Approves for services whose approvers are groups (the demo lists her key for each group). */
export const DEFAULT_APPROVER = 'ana@acme-lighting.example';

/** What the push trigger does for one commit: build.sh (build + unit tests), then the image or the artifact. */
export async function buildAndPackage(job: MainJob, name: string, repo: string, sha: string, commitTime: string): Promise<Build> {
  const def = job.catalog.get(name);
  if (packageOf(def).kind === 'artifact') {
    const a = await buildArtifact({ service: def, repoDir: repo, commit: sha, bucket: job.clusters.bucket, env: process.env });
    const tests = /# pass (\d+)/.exec(a.output)?.[1];
    job.say(
      `  ${name.padEnd(12)} commit ${sha.slice(0, 7)}  make ok${tests ? ` (${tests} unit tests passed)` : ''}  artifact sha256:${a.sha256.slice(0, 12)}`,
    );
    return { name, repo, sha, commitTime, image: a.uri, artifact: { uri: a.uri, sha256: a.sha256 } };
  }
  const build = await $({ cwd: repo, quiet: true, nothrow: true })`bash build.sh`;
  if (build.exitCode !== 0) throw new Error(`build.sh of ${name} failed:\n${build.stdout}${build.stderr}`);
  const tests = /# pass (\d+)/.exec(build.stdout + build.stderr)?.[1];
  const image = imageFor(job.platform, name, sha.slice(0, 7));
  const built = `${name.padEnd(12)} commit ${sha.slice(0, 7)}  build.sh ok${tests ? ` (${tests} unit tests passed)` : ''}`;
  const registry = job.registry;
  if (registry) {
    const p = await buildAndPush({
      service: name,
      repoDir: repo,
      registry,
      tag: sha.slice(0, 7),
      baseImage: job.baseImage,
      runId: job.runId,
      env: process.env,
    });
    job.pushedTags.push(p.image);
    job.say(`  ${built}  docker build ${p.build.seconds.toFixed(1)}s (${p.build.cachedSteps}/${p.build.steps} steps cached)`);
    job.say(`  ${''.padEnd(12)} pushed ${p.image} (${p.pushSeconds.toFixed(1)}s), the registry answers ${p.digest.slice(0, 19)}…`);
    return { name, repo, sha, commitTime, image: p.pinned, pushed: { tag: p.image, digest: p.digest } };
  }
  await packageLocalImage({ repoDir: repo, store: job.images, image, command: 'node server.js' });
  job.say(`  ${built}  image ${image}`);
  return { name, repo, sha, commitTime, image };
}

/** The staging deploy of a build (what the push trigger runs after the build). */
export function toStaging(job: MainJob, b: Build, timeoutSeconds: number) {
  return job.clusters.deployLive(`staging ${b.name}`, AUTHOR, [
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
}

/** The service's smoke test against its staging tasks. */
export async function smoke(job: MainJob, b: Build): Promise<void> {
  const test = job.catalog.get(b.name).smokeTest;
  const url = await serviceUrl(job.clusters.staging.url, marathonAppId(b.name, 'staging'));
  const r = await $({ cwd: b.repo, env: { ...process.env, SERVICE_URL: url }, quiet: true, nothrow: true })`bash -c ${test}`;
  job.say(`  ${b.name.padEnd(12)} smoke test '${test}' against staging (${url}): ${r.exitCode === 0 ? 'passed' : 'FAILED'}`);
  if (r.exitCode !== 0) throw new Error(`smoke test of ${b.name} failed:\n${r.stdout}${r.stderr}`);
}

/** A new commit of a service (appending to `file`), built and deployed to staging; the deploy must exit `expectExit`. */
export async function release(
  job: MainJob,
  from: Build,
  change: { message: string; file: string; append: string },
  timeoutSeconds = 60,
  expectExit = 0,
): Promise<Build> {
  const { sha, commitTime } = await commit(from.repo, change.message, change.file, change.append);
  const b = await buildAndPackage(job, from.name, from.repo, sha, commitTime);
  const r = await toStaging(job, b, timeoutSeconds);
  if (r.exitCode !== expectExit) throw new Error(`the staging deploy of ${b.name} exited ${r.exitCode}, expected ${expectExit}`);
  return b;
}

/** Production: plan (by the change's author), review, approval by a second person, apply of exactly that plan. */
/**
 * The production plan of a build, by the change's author: with --repo the plan records the commits since what
 * production runs; --notify tells the reviewers. Returns the plan file and what `deploy plan` printed.
 */
export async function planProduction(job: MainJob, b: Build): Promise<{ planFile: string; lines: string[] }> {
  const planFile = join(job.work, 'plans', `${b.name}-${b.sha.slice(0, 7)}.json`);
  // With Docker the plan names the pushed tag and asks the registry for its digest, which the plan then pins.
  const imageArgs = b.pushed && job.registry ? ['--image', b.pushed.tag, '--registry', job.registry.url] : packageArgs(b);
  const args = ['plan', '--service', b.name, '--env', 'production', ...imageArgs, '--commit', b.sha, '--commit-time', b.commitTime];
  const plan = await job.clusters.deploy(AUTHOR, [...args, '--repo', b.repo, '--out', planFile, '--notify']);
  if (plan.exitCode !== 0) throw new Error(`plan of ${b.name} failed: ${plan.stderr}`);
  return { planFile, lines: plan.stdout.trimEnd().split('\n') };
}

export async function promote(job: MainJob, b: Build, showDiff: boolean, tryAsAuthor: boolean): Promise<void> {
  const { deploy, deployLive, chat } = job.clusters;
  const svc = job.catalog.get(b.name);
  const { planFile, lines } = await planProduction(job, b);
  job.say(`  ${lines[0]}`);
  if (b.pushed) {
    const pinned = (JSON.parse(await readFile(planFile, 'utf8')) as { imageDigest?: string }).imageDigest;
    if (pinned !== b.pushed.digest)
      throw new Error(`the plan of ${b.name} pins ${pinned ?? 'no digest'}, not the pushed ${b.pushed.digest}`);
    job.say(`    pins ${b.pushed.tag}@${pinned.slice(0, 19)}… (the digest the registry answered)`);
  }
  if (showDiff) for (const line of lines.slice(1)) job.say(`      ${line}`);
  if (tryAsAuthor && chat.messages.length > 0) {
    job.say(`    the reviewers' chat got (deploy plan --notify):`);
    for (const line of chat.messages[chat.messages.length - 1].split('\n')) job.say(`      | ${line}`);
  } else job.say(`      (${lines.length - 1} lines; the whole diff is in ${job.rel(planFile)})`);
  if (tryAsAuthor) {
    const self = await deploy(AUTHOR, ['approve', planFile]);
    job.say(`    ${AUTHOR} (the author) tries to approve it: exit ${self.exitCode}, ${firstLine(self.stderr).replace(/^deploy: /, '')}`);
  }
  const approver = (svc.approvers.find((a) => a.startsWith('user:')) ?? `user:${DEFAULT_APPROVER}`).slice(5);
  const ok = await deploy(approver, ['approve', planFile, '--comment', 'reviewed in the demo']);
  if (ok.exitCode !== 0) throw new Error(`approval of ${b.name} failed: ${ok.stderr}`);
  job.say(`    approved by ${approver}`);
  const apply = await deployLive(`production ${b.name}`, 'cloudbuild-production@acme-lighting.example', [
    'apply',
    '--plan',
    planFile,
    '--timeout',
    '60',
  ]);
  if (apply.exitCode !== 0) throw new Error(`production apply of ${b.name} failed`);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/**
 * Commits the working tree (optionally after appending to a file) with a fixed author, SSH-signed with `signingKey` when
 * given (what the executor's plan step verifies against the platform's list); returns sha and time.
 */
export async function commit(
  repo: string,
  message: string,
  file?: string,
  append?: string,
  signingKey?: string,
): Promise<{ sha: string; commitTime: string }> {
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
  const sign = signingKey ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${signingKey}`] : [];
  await git`git ${sign} commit -q ${signingKey ? ['-S'] : []} -m ${message}`;
  const sha = (await git`git rev-parse HEAD`).stdout.trim();
  const commitTime = (await git`git log -1 --format=%cI`).stdout.trim();
  return { sha, commitTime: new Date(commitTime).toISOString() };
}

/**
 * The image an app runs once Marathon has no deployment for it (asked every 250 ms, for at most `timeoutSeconds`).
 * @throws Error when a deployment still runs at the deadline
 */
export async function settledImage(marathonUrl: string, appId: string, timeoutSeconds: number): Promise<string> {
  const client = new MarathonClient({ baseUrl: marathonUrl });
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const app = await client.getApp(appId);
    if (!app || app.deployments.length === 0) return app?.image ?? '(none)';
    if (Date.now() > deadline)
      throw new Error(`${appId} is still being deployed after ${timeoutSeconds}s (deployment ${app.deployments[0]})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `http://host:port` of a running task of an app (port index 0): what a smoke test gets as SERVICE_URL. */
async function serviceUrl(marathonUrl: string, appId: string): Promise<string> {
  const tasks = await new MarathonClient({ baseUrl: marathonUrl }).getAppTasks(appId);
  const task = tasks.find((t) => t.state === 'TASK_RUNNING') ?? tasks[0];
  if (!task || !task.host) throw new Error(`${appId} has no running task to test`);
  return `http://${task.host}:${task.ports[0]}`;
}
