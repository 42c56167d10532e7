/**
 * A service's builds as Cloud Build would run them, through the executor against two local Marathons: the push trigger,
 * then the builds the objects it writes start, until one waits for an approval (the production build), and, approved,
 * that build and the builds its objects start. What the docker test, `npm run bench -- executor` and the main job share.
 * - The names the synth fixed are read from the build itself: each `MARATHON_URL_STAGING|PRODUCTION=URL` in a step's
 *   env is answered on the `cloudbuild` network by the local Marathon of that environment, and each smoke step's
 *   `SERVICE_URL=URL` (with its `DEPLOY_ENV`) by the first task of the service's app there (what marathon-lb routes
 *   to). The local Marathons must accept those names in `Host` ({@link synthesizedMarathonHosts}).
 * - An object written to a bucket with a Pub/Sub notification (`google_storage_notification`, OBJECT_FINALIZE) starts
 *   every trigger whose `pubsub_config` names that topic and whose `filter` holds, with its
 *   `$(body.message.attributes.X)` substitutions bound from the message ({@link startsFor}): the staged plan starts the
 *   staging smoke build, the plan it hands on under plans/ the production build, the production build's smoke/ object
 *   the production smoke build. Nothing here names those triggers.
 * - A build whose trigger requires approval is registered with the Cloud Build stand-in with the substitutions its
 *   message bound, waits for the approval given by `approve` (through the stand-in's `builds.approve`, as a person), and
 *   runs only when it is APPROVED.
 * - The deploy bundle is uploaded to the Storage stand-in under the name the trigger's `_C2C_BUNDLE` gives; its
 *   generation is the `_C2C_BUNDLE_GENERATION` of the run. The objects the platform's configuration holds inline (its
 *   allowed-signers list) are created as its apply would ({@link publishInlineObjects}); their generations resolve the
 *   triggers' `C2C_PLATFORM_SIGNERS`.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { C2CError, interruption } from '../errors';
import { marathonAppId } from '../marathon/render';
import { GoogleStandIn } from './google-stand-in';
import { HostRoute, RelayTarget, targetOf } from './network';
import { GoogleRouting } from './stand-in-routes';
import { BuildResult, runBuild, RunEvent } from './step-runner';
import { AppliedValues, InlineObject, ReadTrigger, StorageNotification } from './triggers';
import { Build } from './types';

type Env = 'staging' | 'production';

/** What every run shares. */
export interface ServiceRunSetup {
  readonly triggers: readonly ReadTrigger[];
  /** The buckets' Pub/Sub notifications ({@link readNotifications}): which objects start which triggers. */
  readonly notifications: readonly StorageNotification[];
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
  /**
   * Runs the builds that start a named side-car container (`docker run -d --name ...`: the push build's registry) one
   * at a time: one engine holds one container of a name and one published port, where Cloud Build gives each build a
   * worker of its own. Without it, such builds of concurrent chains collide.
   */
  readonly sidecarTurn?: <T>(fn: () => Promise<T>) => Promise<T>;
  /**
   * Routes (`name:port`, {@link routeKey}) answered by relays that outlive the builds ({@link startServiceRuns}): a build
   * starts no relay of its own for them. Builds that overlap would otherwise each put relays under the same names on the
   * network, and the one ending first would take its names away from a connection of the other.
   */
  readonly served?: ReadonlySet<string>;
  /** `NAME:IP` of the relays that answer {@link served} (each step's `--add-host`, so another run's aliases never answer). */
  readonly servedHosts?: readonly string[];
  /** The Docker network the builds run on, standing for `cloudbuild` (a run's own keeps other runs' names out). */
  readonly network?: string;
}

/** What identifies a route on the network: its first name and its port. */
export function routeKey(r: HostRoute): string {
  return `${r.names[0]}:${r.port}`;
}

/**
 * Every route the builds of the services' triggers use (their stacks are `service-<name>`): the Google names, the more
 * `routes`, the Marathons, the pool checks' targets and the smoke tests' service URLs, each once.
 */
export function allServiceRoutes(setup: ServiceRunSetup): HostRoute[] {
  const out = new Map<string, HostRoute>();
  const known = synthesizedMarathonHosts(setup.triggers);
  for (const r of [...setup.routing.routes, ...(setup.routes ?? [])]) out.set(routeKey(r), r);
  for (const t of setup.triggers) {
    const service = /^service-(.+)$/.exec(t.stack)?.[1];
    if (service)
      for (const r of synthesizedRoutes(t.build, service, setup.marathons, known)) if (!out.has(routeKey(r))) out.set(routeKey(r), r);
  }
  return [...out.values()];
}

/** Whether a build starts a named container that outlives its step (a side-car). */
export function startsNamedSidecar(build: Build): boolean {
  return build.steps.some((s) => {
    const a = s.args ?? [];
    return s.entrypoint === undefined && a[0] === 'run' && a.includes('-d') && a.includes('--name');
  });
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

/**
 * Routes for the names a service's build uses: its Marathons and its service URLs, and the private pool check's targets
 * (`C2C_POOL_CHECK_TARGETS`) that are the Marathons `known` names (a smoke build checks a Marathon it has no URL of).
 */
export function synthesizedRoutes(
  build: Build,
  service: string,
  marathons: Readonly<Record<Env, string>>,
  known: Readonly<Record<Env, readonly string[]>> = { staging: [], production: [] },
): HostRoute[] {
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
    for (const target of env
      .find((e) => e.startsWith('C2C_POOL_CHECK_TARGETS='))
      ?.split('=')[1]
      ?.split(' ') ?? []) {
      const which = (['staging', 'production'] as const).find((k) => URL.canParse(target) && known[k].includes(new URL(target).hostname));
      if (which) add(target, targetOf(marathons[which]));
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

async function run(
  setup: ServiceRunSetup,
  service: string,
  t: ReadTrigger,
  buildId: string,
  source: ServiceSource,
  subs: Record<string, string>,
) {
  const workspace = join(setup.work, buildId);
  cpSync(source.path, workspace, { recursive: true });
  const names = synthesizedRoutes(t.build, service, setup.marathons, synthesizedMarathonHosts(setup.triggers));
  // A build is not started once the run is stopped (runBuild hears only an abort that comes while it runs), also when
  // its turn comes after the stop.
  const go = async () => {
    if (setup.signal?.aborted) throw interruption(setup.signal, `${t.name} build ${buildId} not started: the run was stopped`);
    return runBuild(t.build, {
    workspace,
    context: { projectId: t.project, location: t.location, buildId, commitSha: source.sha, triggerName: t.name, branchName: 'main' },
    substitutions: subs,
    triggered: true,
    secrets: setup.secrets,
    standInEnv: setup.routing.env,
    ...(setup.network ? { network: setup.network } : {}),
    mounts: [...setup.routing.mounts, ...(setup.mounts ?? [])],
    routes: [...setup.routing.routes, ...names, ...(setup.routes ?? [])].filter((r) => !setup.served?.has(routeKey(r))),
    ...(setup.servedHosts ? { hosts: setup.servedHosts } : {}),
    ...(setup.signal ? { signal: setup.signal } : {}),
    ...(setup.onEvent ? { onEvent: (e: RunEvent) => setup.onEvent!(t.name, e) } : {}),
  }); // prettier-ignore
  };
  return setup.sidecarTurn && startsNamedSidecar(t.build) ? setup.sidecarTurn(go) : go();
}

/** `_C2C_BUNDLE_GENERATION` for a trigger that defines it (what the applied platform's state gives it). */
function bundleGeneration(t: ReadTrigger, generation: string): Record<string, string> {
  return '_C2C_BUNDLE_GENERATION' in (t.build.substitutions ?? {}) ? { _C2C_BUNDLE_GENERATION: generation } : {};
}

/** A build a Pub/Sub message of a bucket's notification starts: its trigger and the substitutions bound from the message. */
export interface ObjectStart {
  readonly trigger: ReadTrigger;
  /** The object whose OBJECT_FINALIZE notification started it. */
  readonly object: string;
  readonly substitutions: Readonly<Record<string, string>>;
}

/** A build an object started, and when it ended. */
export interface StartedBuild {
  readonly trigger: string;
  readonly object: string;
  readonly buildId: string;
  readonly result: BuildResult;
  readonly endedAt: number;
}

/** The message attributes Cloud Storage's notifications carry (JSON_API_V1), as `$(body.message.attributes.X)`. */
function attributeSubstitutions(t: ReadTrigger, bucket: string, object: string, generation: string): Record<string, string> {
  const attributes: Record<string, string> = { bucketId: bucket, objectId: object, objectGeneration: generation, eventType: 'OBJECT_FINALIZE', payloadFormat: 'JSON_API_V1' }; // prettier-ignore
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(t.build.substitutions ?? {})) {
    const m = /^\$\(body\.message\.attributes\.(\w+)\)$/.exec(value);
    if (m && attributes[m[1]] !== undefined) out[key] = attributes[m[1]];
  }
  return out;
}

/**
 * Whether a trigger's CEL `filter` holds for the bound substitutions. The synth writes conjunctions of
 * `_KEY.matches("RE2")`; anything else is refused rather than guessed.
 * @throws C2CError BUILD_INVALID for a filter of another form
 */
export function filterHolds(filter: string | undefined, subs: Readonly<Record<string, string>>): boolean {
  if (filter === undefined) return true;
  return filter.split('&&').every((part) => {
    const m = /^\s*(_[A-Z0-9_]+)\.matches\("((?:[^"\\]|\\.)*)"\)\s*$/.exec(part);
    if (!m)
      throw new C2CError('BUILD_INVALID', `the executor cannot evaluate the trigger filter '${filter}'`, {
        hint: 'it knows _KEY.matches("RE") && ...',
      });
    const value = subs[m[1]];
    return value !== undefined && new RegExp(JSON.parse(`"${m[2]}"`) as string).test(value);
  });
}

/** The builds the notification of a new object (`bucket/object#generation`) starts, as the synthesized triggers say. */
export function startsFor(setup: ServiceRunSetup, bucket: string, object: string, generation: string): ObjectStart[] {
  const topics = setup.notifications
    .filter((n) => n.bucket === bucket && (n.eventTypes.length === 0 || n.eventTypes.includes('OBJECT_FINALIZE')))
    .filter((n) => n.objectNamePrefix === undefined || object.startsWith(n.objectNamePrefix))
    .map((n) => n.topic);
  const out: ObjectStart[] = [];
  for (const t of setup.triggers) {
    if (!t.pubsub || !topics.includes(t.pubsub.topic)) continue;
    const substitutions = attributeSubstitutions(t, bucket, object, generation);
    if (filterHolds(t.pubsub.filter, substitutions)) out.push({ trigger: t, object, substitutions });
  }
  return out;
}

/** Every object (`bucket/name#generation`) of the notified buckets. */
function snapshot(setup: ServiceRunSetup): Set<string> {
  const out = new Set<string>();
  for (const bucket of new Set(setup.notifications.map((n) => n.bucket)))
    for (const name of setup.google.objects(bucket)) out.add(`${bucket}/${name}#${setup.google.generation(bucket, name)}`);
  return out;
}

/**
 * Runs, one after the other, the builds the objects written since `before` start (and those their objects start), for
 * the service's triggers; a build that waits for an approval is returned as pending, not run.
 */
async function follow(
  setup: ServiceRunSetup,
  service: string,
  source: ServiceSource,
  generation: string,
  before: Set<string>,
  idPrefix: string,
) {
  const builds: StartedBuild[] = [];
  const pending: ObjectStart[] = [];
  let seen = before;
  for (;;) {
    const now = snapshot(setup);
    const fresh = [...now].filter((o) => !seen.has(o));
    seen = now;
    const starts = fresh.flatMap((o) => {
      const m = /^([^/]+)\/(.+)#(\d+)$/.exec(o)!;
      return startsFor(setup, m[1], m[2], m[3]).filter((s) => s.trigger.name.startsWith(`${service}-`));
    });
    if (starts.length === 0) return { builds, pending };
    for (const s of starts) {
      if (s.trigger.approvalRequired) {
        pending.push(s);
        continue;
      }
      const buildId = `${idPrefix}-${s.trigger.name}-${builds.length}`;
      const result = await run(setup, service, s.trigger, buildId, source, {
        ...bundleGeneration(s.trigger, generation),
        ...s.substitutions,
      });
      builds.push({ trigger: s.trigger.name, object: s.object, buildId, result, endedAt: Date.now() });
    }
  }
}

/** What a push build did, and the builds its objects started. */
export interface PushRun {
  readonly result: BuildResult;
  /** The builds the push build's objects started (the staging smoke test), in the order they ran. */
  readonly started: readonly StartedBuild[];
  /** Seconds from the push build's start to the end of the last build it started (a smoke-tested staging). */
  readonly stagingSeconds?: number;
  /** Builds started and waiting for an approval (the production build, by the plan handed on under plans/). */
  readonly pending: readonly ObjectStart[];
  /** The object that started the first pending build (the plan). */
  readonly planObject?: string;
  readonly workspace: string;
}

/** Runs `<service>-push` on the checkout, then the builds the objects it writes start, as their triggers say. */
export async function runPush(
  setup: ServiceRunSetup,
  service: string,
  source: ServiceSource,
  generation: string,
  buildId: string,
): Promise<PushRun> {
  const t = trigger(setup, `${service}-push`);
  const before = snapshot(setup);
  const started = Date.now();
  const result = await run(setup, service, t, buildId, source, bundleGeneration(t, generation));
  const chain = result.ok ? await follow(setup, service, source, generation, before, buildId) : { builds: [], pending: [] };
  const last = chain.builds[chain.builds.length - 1];
  const allOk = chain.builds.length > 0 && chain.builds.every((b) => b.result.ok);
  return {
    result,
    started: chain.builds,
    pending: chain.pending,
    workspace: join(setup.work, buildId),
    ...(allOk ? { stagingSeconds: (last.endedAt - started) / 1000 } : {}),
    ...(chain.pending.length > 0 ? { planObject: chain.pending[0].object } : {}),
  };
}

/** What an approved build did, and the builds its objects started. */
export interface ApprovedRun {
  readonly result: BuildResult;
  readonly started: readonly StartedBuild[];
  /** Seconds from the approval to the end of the last build it led to (a smoke-tested production). */
  readonly seconds: number;
}

/**
 * Registers the pending build (`start`, from {@link runPush}) with the Cloud Build stand-in, has `approve` decide it (as
 * a person, through `builds.approve`), runs it when APPROVED, then the builds its objects start (the production smoke
 * test).
 * @throws C2CError GATE_NO_APPROVAL when the build was not approved (it never runs)
 */
export async function runApproved(
  setup: ServiceRunSetup,
  service: string,
  source: ServiceSource,
  generation: string,
  start: ObjectStart,
  buildId: string,
  approve: (url: string) => Promise<void>,
): Promise<ApprovedRun> {
  const t = start.trigger;
  setup.google.addBuild({ project: t.project, location: t.location, id: buildId, substitutions: { ...start.substitutions } });
  await approve(`${setup.google.url}/v1/projects/${t.project}/locations/${t.location}/builds/${buildId}:approve`);
  const state = setup.google.build(buildId)?.approval?.state;
  if (state !== 'APPROVED') throw new C2CError('GATE_NO_APPROVAL', `${t.name} build ${buildId} is ${state}, not APPROVED: it does not run`);
  const clicked = Date.now();
  const before = snapshot(setup);
  const result = await run(setup, service, t, buildId, source, { ...bundleGeneration(t, generation), ...start.substitutions });
  const chain = result.ok ? await follow(setup, service, source, generation, before, buildId) : { builds: [], pending: [] };
  const ended = chain.builds.length > 0 ? chain.builds[chain.builds.length - 1].endedAt : Date.now();
  return { result, started: chain.builds, seconds: (ended - clicked) / 1000 };
}

/**
 * Publishes the objects the platform stack's configuration holds inline (its allowed-signers list) into the Storage
 * stand-in as `terraform apply` would create them, and returns their generations by expression: what
 * `readTriggers(outdir, applied)` resolves the triggers' `C2C_PLATFORM_SIGNERS` with.
 */
export async function publishInlineObjects(google: GoogleStandIn, objects: readonly InlineObject[]): Promise<AppliedValues> {
  const applied = new Map<string, string>();
  for (const o of objects) {
    let gen = google.generation(o.bucket, o.name);
    if (gen === undefined) {
      const q = new URLSearchParams({ uploadType: 'media', name: o.name, ifGenerationMatch: '0' });
      const res = await fetch(`${google.url}/upload/storage/v1/b/${o.bucket}/o?${q}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${google.buildToken}`, 'content-type': o.contentType ?? 'application/octet-stream' },
        body: o.content,
      });
      if (!res.ok) throw new C2CError('BUILD_FAILED', `the Storage stand-in answered ${res.status} for ${o.address}`);
      gen = ((await res.json()) as { generation: string }).generation;
    }
    applied.set(`${o.address}.generation`, gen);
  }
  return applied;
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
