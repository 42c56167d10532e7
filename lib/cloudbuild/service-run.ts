/**
 * A service's push trigger and, after an approval, its production trigger, as synthesized, through the executor
 * against two local Marathons: what the docker test, `npm run bench -- executor` and the main job share.
 * - The names the synth fixed are read from the build itself: each `MARATHON_URL_STAGING|PRODUCTION=URL` in a step's
 *   env is answered on the `cloudbuild` network by the local Marathon of that environment, and each smoke step's
 *   `SERVICE_URL=URL` (with its `DEPLOY_ENV`) by the first task of the service's app there (what marathon-lb routes
 *   to). The local Marathons must accept those names in `Host` ({@link synthesizedMarathonHosts}).
 * - The deploy bundle is uploaded to the Storage stand-in under the name the trigger's `_C2C_BUNDLE` gives; its
 *   generation is the `_C2C_BUNDLE_GENERATION` of the run, as an apply of the platform would publish it.
 * - The production build is registered with the Cloud Build stand-in with the `_PLAN_OBJECT` the uploaded plan's
 *   notification would carry, waits for the approval given by `approve` (through the stand-in's `builds.approve`,
 *   as a person), and runs only when it is APPROVED.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { C2CError } from '../errors';
import { marathonAppId } from '../marathon/render';
import { GoogleStandIn } from './google-stand-in';
import { HostRoute, RelayTarget, targetOf } from './network';
import { GoogleRouting } from './stand-in-routes';
import { BuildResult, runBuild, RunEvent } from './step-runner';
import { ReadTrigger } from './triggers';
import { Build } from './types';

type Env = 'staging' | 'production';

/** What every run shares. */
export interface ServiceRunSetup {
  readonly triggers: readonly ReadTrigger[];
  readonly google: GoogleStandIn;
  readonly routing: GoogleRouting;
  /** Base URLs of the local Marathons (`http://127.0.0.1:PORT`). */
  readonly marathons: Readonly<Record<Env, string>>;
  /** Where workspaces go (one directory per build). */
  readonly work: string;
  /** Secret values by env name (the Marathon secrets, the chat webhook). */
  readonly secrets: ReadonlyMap<string, string>;
  /** More routes (a chat stand-in) and mounts (the npm cache). */
  readonly routes?: readonly HostRoute[];
  readonly mounts?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onEvent?: (build: string, event: RunEvent) => void;
}

/** The checkout a build runs on. */
export interface ServiceSource {
  readonly path: string;
  readonly sha: string;
}

const MARATHON_ENV = /^MARATHON_URL_(STAGING|PRODUCTION)=(https?:\/\/[^\s]+)$/;

function envOf(build: Build): string[][] {
  return build.steps.map((s) => [...(build.options?.env ?? []), ...(s.env ?? [])]);
}

/** The host names of the Marathon URLs the synth wrote into the builds (for the local Marathons' `allowedHosts`). */
export function synthesizedMarathonHosts(triggers: readonly ReadTrigger[]): Record<Env, string[]> {
  const out: Record<Env, Set<string>> = { staging: new Set(), production: new Set() };
  for (const t of triggers)
    for (const env of envOf(t.build))
      for (const e of env) {
        const m = MARATHON_ENV.exec(e);
        if (m) out[m[1].toLowerCase() as Env].add(new URL(m[2]).hostname);
      }
  return { staging: [...out.staging], production: [...out.production] };
}

async function firstTask(marathon: string, appId: string): Promise<RelayTarget> {
  const r = await fetch(`${marathon}/v2/apps${appId}/tasks`, { signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { tasks?: { ports?: number[] }[] };
  const port = body.tasks?.find((t) => (t.ports ?? []).length > 0)?.ports?.[0];
  if (port === undefined) throw new Error(`${appId} has no task with a port`);
  return { host: '127.0.0.1', port };
}

/** Routes for the names a service's build uses: its Marathons and its service URLs. */
export function synthesizedRoutes(build: Build, service: string, marathons: Readonly<Record<Env, string>>): HostRoute[] {
  const routes = new Map<string, HostRoute>();
  const add = (url: string, target: HostRoute['target']) => {
    const u = new URL(url);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    routes.set(`${u.hostname}:${port}`, { names: [u.hostname], port, target });
  };
  for (const env of envOf(build)) {
    for (const e of env) {
      const m = MARATHON_ENV.exec(e);
      if (m) add(m[2], targetOf(marathons[m[1].toLowerCase() as Env]));
    }
    const url = env.find((e) => e.startsWith('SERVICE_URL='))?.slice('SERVICE_URL='.length);
    const deployEnv = env.find((e) => e.startsWith('DEPLOY_ENV='))?.slice('DEPLOY_ENV='.length) as Env | undefined;
    if (url && (deployEnv === 'staging' || deployEnv === 'production'))
      add(url, () => firstTask(marathons[deployEnv], marathonAppId(service, deployEnv)));
  }
  return [...routes.values()];
}

function trigger(setup: ServiceRunSetup, name: string): ReadTrigger {
  const t = setup.triggers.find((x) => x.name === name);
  if (!t) throw new C2CError('TRIGGER_NOT_FOUND', `no synthesized trigger ${name}`);
  return t;
}

/** Uploads the deploy bundle the triggers name; returns its generation (`_C2C_BUNDLE_GENERATION`). */
export async function publishBundle(setup: ServiceRunSetup, service: string, bytes: Buffer): Promise<string> {
  const push = trigger(setup, `${service}-push`);
  const bucket = push.build.steps
    .flatMap((s) => s.env ?? [])
    .find((e) => e.startsWith('C2C_BUNDLE_BUCKET='))!
    .split('=')[1];
  const name = push.build.substitutions!._C2C_BUNDLE;
  if (setup.google.objects(bucket).includes(name)) return setup.google.generation(bucket, name)!;
  const q = new URLSearchParams({ uploadType: 'media', name, ifGenerationMatch: '0' });
  const res = await fetch(`${setup.google.url}/upload/storage/v1/b/${bucket}/o?${q}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${setup.google.buildToken}` },
    body: bytes,
  });
  if (!res.ok) throw new C2CError('BUILD_FAILED', `the Storage stand-in answered ${res.status} for the deploy bundle`);
  return ((await res.json()) as { generation: string }).generation;
}

async function run(setup: ServiceRunSetup, t: ReadTrigger, buildId: string, source: ServiceSource, subs: Record<string, string>) {
  const workspace = join(setup.work, buildId);
  cpSync(source.path, workspace, { recursive: true });
  return runBuild(t.build, {
    workspace,
    context: { projectId: t.project, location: t.location, buildId, commitSha: source.sha, triggerName: t.name, branchName: 'main' },
    substitutions: subs,
    secrets: setup.secrets,
    standInEnv: setup.routing.env,
    mounts: [...setup.routing.mounts, ...(setup.mounts ?? [])],
    routes: [...setup.routing.routes, ...synthesizedRoutes(t.build, t.name.replace(/-(push|production)$/, ''), setup.marathons), ...(setup.routes ?? [])],
    ...(setup.signal ? { signal: setup.signal } : {}),
    ...(setup.onEvent ? { onEvent: (e: RunEvent) => setup.onEvent!(t.name, e) } : {}),
  }); // prettier-ignore
}

/** What a push build did. */
export interface PushRun {
  readonly result: BuildResult;
  /** Seconds from the build's start to the end of `smoke-staging`. */
  readonly stagingSeconds?: number;
  /** The uploaded plan's object name (what starts the production trigger). */
  readonly planObject?: string;
  readonly workspace: string;
}

/** Runs `<service>-push` on the checkout. */
export async function runPush(
  setup: ServiceRunSetup,
  service: string,
  source: ServiceSource,
  generation: string,
  buildId: string,
): Promise<PushRun> {
  const t = trigger(setup, `${service}-push`);
  const deployBucket = t.build.steps
    .flatMap((s) => s.env ?? [])
    .find((e) => e.startsWith('C2C_BUNDLE_BUCKET='))!
    .split('=')[1];
  const before = new Set(setup.google.objects(deployBucket));
  const started = Date.now();
  let staged: number | undefined;
  const watch = { ...setup, onEvent: (b: string, e: RunEvent) => {
    if (e.type === 'finished' && e.result.key === 'smoke-staging' && e.result.status === 'ok') staged = Date.now();
    setup.onEvent?.(b, e);
  } }; // prettier-ignore
  const result = await run(watch, t, buildId, source, { _C2C_BUNDLE_GENERATION: generation });
  const planObject = setup.google.objects(deployBucket).find((o) => !before.has(o) && o.startsWith(`plans/${service}/`));
  return {
    result,
    workspace: join(setup.work, buildId),
    ...(staged ? { stagingSeconds: (staged - started) / 1000 } : {}),
    ...(planObject ? { planObject } : {}),
  };
}

/**
 * Registers `<service>-production` for `planObject` with the Cloud Build stand-in, has `approve` decide it (as a
 * person, through `builds.approve`), and runs it when APPROVED.
 * @throws C2CError GATE_NO_APPROVAL when the build was not approved (it never runs)
 */
export async function runProduction(
  setup: ServiceRunSetup,
  service: string,
  source: ServiceSource,
  generation: string,
  planObject: string,
  buildId: string,
  approve: (url: string) => Promise<void>,
): Promise<BuildResult> {
  const t = trigger(setup, `${service}-production`);
  setup.google.addBuild({ project: t.project, location: t.location, id: buildId, substitutions: { _PLAN_OBJECT: planObject } });
  await approve(`${setup.google.url}/v1/projects/${t.project}/locations/${t.location}/builds/${buildId}:approve`);
  const state = setup.google.build(buildId)?.approval?.state;
  if (state !== 'APPROVED') throw new C2CError('GATE_NO_APPROVAL', `${t.name} build ${buildId} is ${state}, not APPROVED: it does not run`);
  return run(setup, t, buildId, source, { _C2C_BUNDLE_GENERATION: generation, _PLAN_OBJECT: planObject });
}

/** Approves (or rejects) a build through the stand-in's `builds.approve` as `token`'s person. */
export async function approveAs(url: string, token: string, decision: 'APPROVED' | 'REJECTED' = 'APPROVED'): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ approvalResult: { decision } }),
  });
  if (!res.ok) throw new C2CError('GATE_NOT_APPROVER', `builds.approve answered ${res.status}: ${await res.text()}`);
}
