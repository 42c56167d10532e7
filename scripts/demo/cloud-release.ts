// The first release on the Docker path: each service's synthesized push trigger (image or artifact) and, approved
// through the Cloud Build approval stand-in by a second listed identity, its production trigger, run by the local
// executor (lib/cloudbuild) against the job's two local Marathons, exactly as Cloud Build would run them. What the
// builds produced becomes job.builds for the later steps (the image the staging deploy runs, read from the staging
// Marathon; an artifact's URI and SHA-256, as the push build wrote them into its workspace).
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '../../constructs/synth';
import { ArtifactRef, artifactRefProblem } from '../../lib/catalog/artifact';
import { packageOf } from '../../lib/catalog/types';
import { LocalArtifactServer, startArtifactServer } from '../../lib/cloudbuild/artifact-server';
import { approveAs, publishBundle, runApproved, runPush, ServiceRunSetup, StartedBuild } from '../../lib/cloudbuild/service-run';
import { ServiceRuns, startServiceRuns } from '../../lib/cloudbuild/service-setup';
import { BuildResult, RunEvent } from '../../lib/cloudbuild/step-runner';
import { artifactOfApp } from '../../lib/marathon/app';
import { MarathonClient } from '../../lib/marathon/client';
import { marathonAppId } from '../../lib/marathon/render';
import { mapLimit } from '../../lib/deploy/pool';
import { PlanFile } from '../../lib/gate/plan-file';
import { Build, MainJob } from './job';
import { AUTHOR, commit, DEFAULT_APPROVER } from './release';

/** How many services' chains run at once (push builds still take turns: they share the registry side-car's name). */
export const CHAINS_AT_ONCE = 2;
/** The registry host the executor's synth names (the push build's side-car, published on the engine's port 5000). */
const SIDECAR_REGISTRY = 'localhost:5000';

type Env = 'staging' | 'production';

/** One build as the summary records it. */
export interface BuildRecord {
  readonly trigger: string;
  readonly buildId: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly steps: { id: string; status: string; seconds?: number }[];
}

/** A service's chain through the executor, as the summary records it. */
export interface ChainRecord {
  readonly service: string;
  /** The commit the builds ran on, and who signed it. */
  readonly commit: string;
  readonly author: string;
  readonly builds: BuildRecord[];
  /** Who approved the production build, as the Cloud Build stand-in recorded it. */
  readonly approver?: string;
}

/**
 * Synthesizes the platform as the executor runs it (the registry side-car's host, the job's signers as the platform's
 * list), starts the Google stand-in, the platform's artifact server as synthesized (reading the stand-in's Storage; one
 * of the job's servers), and, through `marathons`, the local Marathons accepting the synthesized names, whose fetchers
 * reach the artifact server by the connection table `fetcherConnectTo` (the stand-in for the agents' DNS).
 */
export async function prepareExecutor(
  job: MainJob,
  allowedSigners: string,
  chatUrl: string,
  marathons: (hosts: Readonly<Record<Env, readonly string[]>>, artifacts: LocalArtifactServer) => Promise<Readonly<Record<Env, string>>>,
  signal: AbortSignal,
): Promise<ServiceRuns> {
  const dir = join(job.work, 'cloudbuild');
  const platformRoot = join(dir, 'platform-repo');
  await mkdir(join(platformRoot, 'security'), { recursive: true });
  await cp(allowedSigners, join(platformRoot, 'security/allowed_signers'));
  await symlink(join(job.root, 'templates'), join(platformRoot, 'templates'));
  const outdir = join(dir, 'cdktf.out');
  const env = {
    C2C_DEPLOY_BUNDLE: join(job.root, 'dist/deploy-bundle.cjs'),
    C2C_STATE_BUCKET: 'demo',
    C2C_CLOUDBUILD_CONNECTION: 'github',
    C2C_REGISTRY_HOST: SIDECAR_REGISTRY,
  };
  synthesize(env, { root: platformRoot, outdir });
  return startServiceRuns({
    outdir,
    work: dir,
    marathons: async (hosts, applied) => {
      const artifacts = await startArtifactServer({ outdir, triggers: applied.triggers, googleUrl: applied.google.url });
      job.servers.push({ what: `the artifact server on ${artifacts.url}`, close: () => artifacts.close() });
      return marathons(hosts, artifacts);
    },
    chatUrl,
    mounts: [`${join(homedir(), '.npm')}:/root/.npm`],
    // The job's own network for `cloudbuild`: another executor run on this engine keeps its names to itself.
    network: `cloudbuild-${job.runId.slice(0, 8)}`,
    signal,
    onEvent: (build, e) => stepLine(job, build, e),
  });
}

/** The bucket the builds' audit records go to (`C2C_AUDIT_BUCKET` of their steps). */
export function auditBucketOf(setup: ServiceRunSetup): string {
  const e = setup.triggers.flatMap((t) => t.build.steps.flatMap((s) => s.env ?? [])).find((x) => x.startsWith('C2C_AUDIT_BUCKET='));
  if (!e) throw new Error('the synthesized builds name no C2C_AUDIT_BUCKET');
  return e.split('=')[1];
}

function stepLine(job: MainJob, build: string, e: RunEvent): void {
  if (e.type !== 'finished') return;
  const r = e.result;
  const secs = r.seconds === undefined ? '' : ` ${r.seconds.toFixed(1)}s`;
  job.say(`    ${build}: ${r.key} ${r.status === 'ok' ? 'ok' : r.status}${secs}${r.note ? ` (${r.note})` : ''}`);
}

function record(trigger: string, buildId: string, r: BuildResult): BuildRecord {
  return {
    trigger,
    buildId,
    ok: r.ok,
    seconds: Number(r.seconds.toFixed(1)),
    steps: r.steps.map((s) => ({
      id: s.key,
      status: s.status,
      ...(s.seconds !== undefined ? { seconds: Number(s.seconds.toFixed(1)) } : {}),
    })),
  };
}

/**
 * The message a failed build stops the job with: the service, the trigger, the step, why, and the step's last log lines.
 */
export function buildFailure(service: string, trigger: string, r: BuildResult): Error {
  const step = r.steps.find((s) => s.status === 'failed' || s.status === 'timeout') ?? r.steps.find((s) => s.status !== 'ok');
  const why = step
    ? `step ${step.key} ${step.status}${step.reason ? ` (${step.reason})` : ''}`
    : 'no step failed, yet the build did not pass';
  const log = step?.logTail ? `\n${step.logTail.replace(/^/gm, '  | ')}` : '';
  return new Error(`${service}: trigger ${trigger} failed: ${why}${log}`);
}

function check(service: string, trigger: string, r: BuildResult): void {
  if (!r.ok) throw buildFailure(service, trigger, r);
}

/**
 * The service's checkout, one commit signed by the author: the starter files of its kind (an image service's FROM the
 * job's base image).
 */
async function checkout(job: MainJob, service: string, artifact: boolean): Promise<{ repo: string; sha: string; commitTime: string }> {
  const repo = join(job.work, 'repos', service);
  await cp(join(job.root, artifact ? 'templates/artifact-repo' : 'templates/service-repo'), repo, { recursive: true });
  if (!artifact) {
    const dockerfile = join(repo, 'Dockerfile');
    await writeFile(dockerfile, (await readFile(dockerfile, 'utf8')).replace(/^ARG BASE_IMAGE=.*$/m, `ARG BASE_IMAGE=${job.baseImage}`));
  }
  const key = join(job.work, 'keys', AUTHOR);
  const { sha, commitTime } = await commit(
    repo,
    `${service}: initial service from the commit-to-cloud template`,
    undefined,
    undefined,
    key,
  );
  return { repo, sha, commitTime };
}

/** The image the staging app runs (pinned by digest), as its Marathon says. */
async function stagingImage(job: MainJob, service: string): Promise<string> {
  const app = await new MarathonClient({ baseUrl: job.clusters.staging.url }).getApp(marathonAppId(service, 'staging'));
  if (!app?.image) throw new Error(`staging has no app ${marathonAppId(service, 'staging')} after ${service}'s push build`);
  return app.image;
}

/** The artifact the push build made and deployed: the URI and SHA-256 its steps wrote into its workspace. */
export async function builtArtifact(service: string, workspace: string): Promise<ArtifactRef> {
  const read = (f: string) =>
    readFile(join(workspace, f), 'utf8').then(
      (t) => t.trim(),
      () => {
        throw new Error(`${service}: the push build left no ${f} in its workspace ${workspace}`);
      },
    );
  const ref = { uri: await read('artifact.uri'), sha256: await read('artifact.sha256') };
  const problem = artifactRefProblem(ref);
  if (problem) throw new Error(`${service}: the push build's artifact.${problem.field} (${ref[problem.field]}) ${problem.message}`);
  return ref;
}

/** The artifact the staging app runs, as its Marathon says, which must be the one the push build made. */
async function stagingArtifact(job: MainJob, service: string, workspace: string): Promise<ArtifactRef> {
  const built = await builtArtifact(service, workspace);
  const app = await new MarathonClient({ baseUrl: job.clusters.staging.url }).getApp(marathonAppId(service, 'staging'));
  const runs = app ? artifactOfApp(app.raw) : null;
  if (runs?.uri !== built.uri || runs.sha256 !== built.sha256)
    throw new Error(
      `${service}: staging runs ${runs ? `${runs.uri} (sha256 ${runs.sha256 ?? 'none'})` : 'no artifact'}, the push build made ${built.uri} (sha256 ${built.sha256})`,
    );
  return built;
}

/** Copies the plan the production build applied out of the deploy bucket into `<work>/plans` (for the page). */
async function copyPlanOut(job: MainJob, runs: ServiceRuns, object: string, to: string): Promise<void> {
  const bucket = [...new Set(runs.setup.notifications.map((n) => n.bucket))].find((b) => runs.google.objects(b).includes(object));
  const res = await fetch(`${runs.google.url}/storage/v1/b/${bucket}/o/${encodeURIComponent(object)}?alt=media`, {
    headers: { authorization: `Bearer ${runs.google.buildToken}` },
  });
  if (!res.ok) throw new Error(`the plan ${object} could not be read from the Storage stand-in (${res.status})`);
  await mkdir(join(job.work, 'plans'), { recursive: true });
  await writeFile(to, Buffer.from(await res.arrayBuffer()));
}

/** What the staging deploy ran, as its Marathon says: the image, or the artifact (the one the push build made). */
export type Staged = { readonly image: string } | { readonly artifact: ArtifactRef };

/** The build the later steps start from, once the applied plan is checked against what staging ran. */
export function appliedBuild(service: string, plan: AppliedPlan, staged: Staged, checkout: Omit<Build, 'name' | 'image'>): Build {
  if ('artifact' in staged) {
    const a = staged.artifact;
    if (plan.artifact?.uri !== a.uri || plan.artifact.sha256 !== a.sha256)
      throw new Error(
        `${service}: the applied plan names ${plan.artifact?.uri ?? 'no artifact'}, staging ran ${a.uri} (sha256 ${a.sha256})`,
      );
    return { name: service, ...checkout, image: a.uri, artifact: a };
  }
  // The staging deploy ran the pushed tag; the plan the production build applied pins the digest the registry answered.
  const tag = staged.image.replace(/@sha256:[0-9a-f]{64}$/, '');
  if (plan.image !== tag || !plan.imageDigest)
    throw new Error(
      `${service}: the applied plan names ${plan.image ?? 'no image'}@${plan.imageDigest ?? '?'}, staging ran ${staged.image}`,
    );
  return { name: service, ...checkout, image: `${tag}@${plan.imageDigest}`, pushed: { tag, digest: plan.imageDigest } };
}

/** The fields of the applied plan file (lib/gate/plan-file.ts) that name what it ran; read back, so each may be missing. */
export type AppliedPlan = Partial<Pick<PlanFile, 'image' | 'imageDigest' | 'artifact'>>;

/** One service: push chain, approval by a second listed identity, production chain; returns its build. */
async function chain(job: MainJob, runs: ServiceRuns, service: string, generation: string, records: ChainRecord[]): Promise<Build> {
  const { setup, google } = runs;
  const artifact = packageOf(job.catalog.get(service)).kind === 'artifact';
  const { repo, sha, commitTime } = await checkout(job, service, artifact);
  const source = { path: repo, sha };
  const id = `${job.runId.slice(0, 8)}-${service}`;
  const rec: ChainRecord = { service, commit: sha, author: AUTHOR, builds: [] };
  records.push(rec);
  const keep = (b: StartedBuild) => (rec.builds.push(record(b.trigger, b.buildId, b.result)), check(service, b.trigger, b.result));
  job.say(`  ${service}${artifact ? ' (artifact)' : ''}: push trigger ${service}-push on commit ${sha.slice(0, 7)} (signed by ${AUTHOR})`);
  const pushed = await runPush(setup, service, source, generation, `${id}-push`);
  if (!artifact) job.pushedTags.push(`${SIDECAR_REGISTRY}/${service}:${sha.slice(0, 7)}`);
  rec.builds.push(record(`${service}-push`, `${id}-push`, pushed.result));
  check(service, `${service}-push`, pushed.result);
  pushed.started.forEach(keep);
  const start = pushed.pending[0];
  if (!start) throw new Error(`${service}: the push chain handed no plan to a production build (no object under plans/ started one)`);
  const staged: Staged = artifact
    ? { artifact: await stagingArtifact(job, service, pushed.workspace) }
    : { image: await stagingImage(job, service) };
  if ('artifact' in staged)
    job.say(`  ${service}: staging fetches ${staged.artifact.uri} (sha256 ${staged.artifact.sha256.slice(0, 12)}…)`);
  const svc = job.catalog.get(service);
  const approver = (svc.approvers.find((a) => a.startsWith('user:')) ?? `user:${DEFAULT_APPROVER}`).slice(5);
  job.say(`  ${service}: ${start.trigger.name} waits for approval (plan ${start.object}); ${approver} approves it through builds.approve`);
  const prodId = `${id}-production`;
  const applied = await runApproved(setup, service, source, generation, start, prodId, (url) => approveAs(url, google.tokenFor(approver)));
  Object.assign(rec, { approver: google.build(prodId)?.approval?.result?.approverAccount ?? '' });
  rec.builds.push(record(start.trigger.name, prodId, applied.result));
  check(service, start.trigger.name, applied.result);
  applied.started.forEach(keep);
  const planFile = join(job.work, 'plans', `${service}-${sha.slice(0, 7)}.json`);
  await copyPlanOut(job, runs, start.object, planFile);
  job.say(`  ${service}: in production (click to smoke-tested production ${applied.seconds.toFixed(1)}s)`);
  const plan = JSON.parse(await readFile(planFile, 'utf8')) as AppliedPlan;
  return appliedBuild(service, plan, staged, { repo, sha, commitTime });
}

/**
 * The first release on the Docker path: every service's chain, image or artifact, through the executor
 * ({@link CHAINS_AT_ONCE} at once; an artifact's push build starts no side-car, so it never waits for the side-car's
 * turn); job.builds in the catalog's order.
 */
export async function cloudFirstRelease(job: MainJob): Promise<void> {
  const { runs } = job.executor!;
  const services = job.catalog.services.map((s) => s.name);
  const bundle = await readFile(join(job.root, 'dist/deploy-bundle.cjs'));
  const generations = new Map<string, string>();
  for (const s of services) generations.set(s, await publishBundle(runs.setup, s, bundle));
  const records: ChainRecord[] = [];
  job.summary.cloudBuilds = records;
  job.written.push({ what: 'service repositories (seeded from templates/service-repo or artifact-repo)', path: join(job.work, 'repos') });
  job.written.push({ what: 'production plan files (the applied ones copied out of the deploy bucket)', path: join(job.work, 'plans') });
  job.written.push({ what: 'Cloud Build stand-ins: the synth, workspaces, Storage objects', path: join(job.work, 'cloudbuild') });
  // The artifact chains first: they never wait for the side-car's turn, so the first image push build runs beside them.
  const isArtifact = (s: string) => packageOf(job.catalog.get(s)).kind === 'artifact';
  const order = [...services.filter(isArtifact), ...services.filter((s) => !isArtifact(s))];
  // A failed chain stops the others' builds (their running steps are cancelled): the job stops on the first failure.
  const { abort } = job.executor!;
  const built = await mapLimit(order, CHAINS_AT_ONCE, (s) =>
    chain(job, runs, s, generations.get(s)!, records).catch((e: unknown) => {
      abort.abort(`stopped: ${s}'s chain failed`);
      throw e;
    }),
  );
  const byName = new Map(built.map((b) => [b.name, b]));
  job.builds = services.map((s) => byName.get(s)!);
}
