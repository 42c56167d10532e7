import { EnvironmentName, ReleaseStrategy, SERVICE_DEFAULTS, ServiceDefinition, strategyOf } from '../catalog/types';
import { C2CError } from '../errors';
import { MarathonAppDefinition, STAMP_LABELS } from '../marathon/app';
import { MarathonAppInfo, MarathonClient } from '../marathon/client';
import { marathonAppId } from '../marathon/render';
import { applyService, ApplyRequest, ApplyResult, renderForDeploy } from './apply-service';
import { isSealedHook, productionNeedsPlan } from './guard';
import { DeployContext } from './types';
import { diffApp, FieldChange } from './diff';
import {
  backendServers,
  ColourState,
  currentStep,
  describeStrategy,
  inProgress,
  fetchStats,
  groupBackend,
  inFlight,
  isServing,
  liveTasks,
  LoadBalancers,
  MLB,
  readRollout,
  RolloutContext,
  RolloutOutcome,
  RolloutStep,
  rolloutSteps,
  startRollout,
  taskServer,
  trafficSplit,
} from './rollout';

/**
 * How a service is released, as a plan records it and a reviewer reads it: the strategy from the service file, the
 * steps it makes for the plan's instance count, and one line that says it all. The gate checks a plan's release equals
 * what the catalog says today (`releaseOf`).
 */
export interface PlanRelease {
  readonly strategy: ReleaseStrategy;
  readonly steps: readonly RolloutStep[];
  readonly summary: string;
}

/** The release of `def` for `instances` target instances (a rolling restart has no steps). */
export function releaseOf(def: ServiceDefinition, instances: number): PlanRelease {
  const strategy = strategyOf(def);
  if (strategy.kind === 'rolling') return { strategy, steps: [], summary: "rolling: Marathon's rolling restart of one app" };
  const steps = rolloutSteps(strategy, instances);
  return { strategy, steps, summary: describeStrategy(strategy, steps) };
}

/** True for blue/green and canary: two colour apps behind marathon-lb instead of one app. */
export function isTwoColour(def: ServiceDefinition): boolean {
  return strategyOf(def).kind !== 'rolling';
}

/** What a two-colour release needs beyond a deploy: marathon-lb's stats pages. */
export interface ReleaseContext extends DeployContext {
  readonly lb?: LoadBalancers;
  /** A two-colour release's smoke test at each step (`RolloutContext.smokeTest`). @default - none */
  readonly smokeTest?: RolloutContext['smokeTest'];
}

/**
 * How a release ended: an apply's result (for a rollout: the new colour's app, version and tasks) and, for a
 * blue/green or canary release, where the rollout stands (`paused` waits for `deploy promote`).
 */
export type ReleaseResult = ApplyResult & { readonly rollout?: RolloutOutcome };

/**
 * Releases one service with its strategy: `rolling` is `applyService`; `blueGreen` and `canary` start a rollout of
 * the new colour (`startRollout`). Production goes only through the gate's sealed hook, which sees what runs (the
 * newer colour, shown as the one app it stands for: `liveOfRelease`) and adds its stamp labels to the new colour.
 * @throws C2CError PRODUCTION_NEEDS_PLAN, USAGE (a two-colour release without a marathon-lb stats URL: nothing sent),
 * ROLLOUT_IN_PROGRESS, and whatever `applyService` / `startRollout` throw.
 */
export async function releaseService(ctx: ReleaseContext, req: ApplyRequest): Promise<ReleaseResult> {
  if (!isTwoColour(req.service)) return applyService(ctx, req);
  if (req.environment === 'production' && !isSealedHook(req.beforeSubmit)) throw productionNeedsPlan('an apply without the gate');
  const lb = ctx.lb ?? { urls: [] };
  if (lb.urls.length === 0) {
    throw new C2CError('USAGE', `${req.service.name} releases by ${strategyOf(req.service).kind}, which needs marathon-lb's stats page`, {
      hint: 'pass --lb http://marathon-lb:9090 (repeat it for each marathon-lb), or set MARATHON_LB_URL (comma-separated)',
    });
  }
  const started = Date.now();
  const busy = ctx.client.busyMs;
  const baseId = marathonAppId(req.service.name, req.environment);
  const state = await readRollout(ctx.client, baseId);
  const target = { def: req.service, env: req.environment };
  if (inFlight(state)) throw inProgress(target, state);
  const previousVersion = state.newer?.app.version ?? null;
  const result = (outcome: RolloutOutcome, app: MarathonAppInfo | null, diff: readonly FieldChange[], noop = false): ReleaseResult => ({
    outcome: noop ? 'noop' : 'deployed',
    service: req.service.name,
    environment: req.environment,
    appId: app?.id ?? baseId,
    image: req.image,
    version: app?.version ?? null,
    previousVersion,
    diff,
    tasks: { healthy: app?.tasksHealthy ?? 0, running: app?.tasksRunning ?? 0, wanted: app?.instances ?? 0 },
    durationMs: Date.now() - started,
    marathonMs: ctx.client.busyMs - busy,
    rollout: outcome,
  });
  const done = samePlan(req, state.newer);
  if (done) return result({ state: 'released', colour: done.colour, keptOld: null, durationMs: 0 }, done.app, [], true);
  const base =
    req.app ??
    renderForDeploy(req.service, req.environment, { image: req.image, artifact: req.artifact, commit: req.commit, actor: ctx.actor });
  const live = state.newer ? baseView(state.newer.app, baseId, base) : await ctx.client.getApp(baseId);
  if (!state.newer && live !== null) throw fromRolling(req, baseId);
  const gate = (await req.beforeSubmit?.(live)) ?? undefined;
  const app: MarathonAppDefinition = gate?.labels ? { ...base, labels: { ...base.labels, ...gate.labels } } : base;
  const diff = diffApp(app, live?.raw ?? null);
  // The newer colour already runs this definition (stamps aside): nothing to release, as a rolling apply's no-op.
  if (state.newer && diff.length === 0)
    return result({ state: 'released', colour: state.newer.colour, keptOld: null, durationMs: 0 }, state.newer.app, [], true);
  const outcome = await startRollout({ ...ctx, lb }, target, app);
  const after = await readRollout(ctx.client, baseId);
  return result(outcome, after.newer?.app ?? null, diff);
}

/** The newer colour when it already carries this plan (an apply run again): nothing more to start. */
function samePlan(req: ApplyRequest, newer: ColourState | null): ColourState | null {
  return req.planId !== undefined && newer !== null && newer.app.labels[STAMP_LABELS.planId] === req.planId ? newer : null;
}

/** Labels a colour app carries that the rendered app does not: marathon-lb's deployment labels. */
const COLOUR_LABELS: readonly string[] = [
  MLB.group,
  MLB.altPort,
  MLB.colour,
  MLB.startedAt,
  MLB.targetInstances,
  MLB.newInstances,
  MLB.appId,
];

/**
 * A colour app seen as the one app `/<env>/<name>` it stands for: its id, the rendered app's first service port and
 * its target instance count, without marathon-lb's deployment labels. What a plan is compared against and the gate
 * sees as live for a two-colour service, so a plan's diff shows the release's change, not the colour's plumbing.
 */
export function baseView(app: MarathonAppInfo, baseId: string, rendered?: MarathonAppDefinition): MarathonAppInfo {
  const labels = Object.fromEntries(
    Object.entries(app.labels).filter(([k]) => !COLOUR_LABELS.includes(k) && (k !== MLB.port0 || rendered?.labels?.[k] !== undefined)),
  );
  const instances = Number(app.labels[MLB.targetInstances] ?? app.instances);
  const raw: Record<string, unknown> = { ...app.raw, id: baseId, instances, labels };
  const publicPort = firstPort(rendered);
  const container = raw.container as { portMappings?: Record<string, unknown>[] } | undefined;
  const pd = raw.portDefinitions as Record<string, unknown>[] | undefined;
  if (publicPort !== undefined && container?.portMappings?.length) {
    const [first, ...rest] = container.portMappings;
    raw.container = { ...container, portMappings: [{ ...first, servicePort: publicPort }, ...rest] };
  } else if (publicPort !== undefined && pd?.length) {
    const [first, ...rest] = pd;
    raw.portDefinitions = [{ ...first, port: publicPort }, ...rest];
  }
  return { ...app, id: baseId, instances, labels, raw };
}

function firstPort(app: MarathonAppDefinition | undefined): number | undefined {
  return app?.container?.portMappings?.[0]?.servicePort ?? app?.portDefinitions?.[0]?.port;
}

/**
 * What runs for a service, as a plan and the gate compare against: the app `/<env>/<name>`, or for a two-colour
 * service its newer colour seen as that app (`baseView`), or the one app while no colour exists yet.
 */
export async function liveOfRelease(
  client: MarathonClient,
  def: ServiceDefinition,
  env: EnvironmentName,
  rendered?: MarathonAppDefinition,
): Promise<MarathonAppInfo | null> {
  const baseId = marathonAppId(def.name, env);
  if (!isTwoColour(def)) return client.getApp(baseId);
  const state = await readRollout(client, baseId);
  return state.newer ? baseView(state.newer.app, baseId, rendered) : client.getApp(baseId);
}

/** One colour as `deploy status` shows it. */
export interface ColourStatus {
  readonly colour: string;
  readonly role: 'new' | 'old';
  readonly appId: string;
  readonly version: string | null;
  readonly image: string | null;
  readonly instances: number;
  readonly healthy: number;
  readonly running: number;
  /** Tasks marathon-lb serves (every instance's stats agree), when the stats were read. */
  readonly serving: number | null;
}

/** Where a two-colour service stands: both colours, the step, the traffic split. */
export interface RolloutStatus {
  readonly strategy: ReleaseStrategy['kind'];
  readonly colours: readonly ColourStatus[];
  readonly target: number;
  readonly step: { readonly index: number; readonly of: number; readonly percent: number } | null;
  readonly inFlight: boolean;
  /** The share of traffic on each colour: from HAProxy's stats (serving servers) or, without them, from instance counts. */
  readonly traffic: { readonly newPercent: number; readonly oldPercent: number; readonly source: 'haproxy' | 'instances' };
}

/** The rollout status of a two-colour service (null for a rolling one, or when no colour exists). */
export async function rolloutStatus(
  client: MarathonClient,
  def: ServiceDefinition,
  env: EnvironmentName,
  lb?: LoadBalancers,
  signal?: AbortSignal,
): Promise<RolloutStatus | null> {
  const strategy = strategyOf(def);
  if (strategy.kind === 'rolling') return null;
  const state = await readRollout(client, marathonAppId(def.name, env));
  if (!state.newer) return null;
  const stats = lb && lb.urls.length > 0 ? await fetchStats(lb, signal) : null;
  const port = (def.ports ?? SERVICE_DEFAULTS.ports)[0]?.servicePort;
  const backend = groupBackend(state.group, Number(port));
  const serving = (c: ColourState): number | null =>
    stats === null
      ? null
      : liveTasks(c.app).filter((task) =>
          stats.every((rows) => backendServers(rows, backend).some((r) => r.svname === taskServer(task) && isServing(r))),
        ).length;
  const colour = (c: ColourState, role: 'new' | 'old'): ColourStatus => ({
    colour: c.colour,
    role,
    appId: c.app.id,
    version: c.app.version,
    image: c.app.image ?? c.app.labels[STAMP_LABELS.image] ?? null,
    instances: c.app.instances,
    healthy: c.app.tasksHealthy,
    running: c.app.tasksRunning,
    serving: serving(c),
  });
  const colours = [colour(state.newer, 'new'), ...(state.older ? [colour(state.older, 'old')] : [])];
  const steps = rolloutSteps(strategy, state.target);
  const reached = currentStep(steps, state.newer.app.instances);
  const [n, o] = [colours[0], colours[1]];
  const traffic =
    stats !== null
      ? { ...trafficSplit(n.serving ?? 0, o?.serving ?? 0), source: 'haproxy' as const }
      : // Without the stats: a colour kept after 100 % is drained, so it counts for nothing.
        { ...trafficSplit(n.instances, n.instances >= state.target ? 0 : (o?.instances ?? 0)), source: 'instances' as const };
  return {
    strategy: strategy.kind,
    colours,
    target: state.target,
    step: reached ? { index: reached.index, of: steps.length, percent: reached.percent } : null,
    inFlight: inFlight(state),
    traffic,
  };
}

/**
 * The first two-colour release of a service whose rolling app still runs: the new colour would start beside it on the
 * same virtual host and service port, and nothing would ever remove the rolling app. Refused before anything is sent.
 */
function fromRolling(req: ApplyRequest, baseId: string): C2CError {
  const kind = strategyOf(req.service).kind;
  return new C2CError(
    'ROLLOUT_FROM_ROLLING',
    `${req.service.name} in ${req.environment} runs as one app (${baseId}, a rolling release); its service file now says ${kind}, whose colours ${baseId}-blue and ${baseId}-green would serve beside it`,
    {
      hint: `keep strategy 'rolling' for this release, or switch in a quiet moment: remove ${baseId} (Marathon's DELETE /v2/apps${baseId}) and release again; docs/deploy.md, "Switching a live service to blue/green or canary"`,
    },
  );
}
