import { NewAuditEvent } from '../../audit/log';
import { EnvironmentName, ReleaseStrategy, SERVICE_DEFAULTS, ServiceDefinition, strategyOf } from '../../catalog/types';
import { abortableSleep, C2CError } from '../../errors';
import { MarathonAppDefinition, READ_ONLY_FIELDS, STAMP_LABELS } from '../../marathon/app';
import { marathonAppId } from '../../marathon/render';
import { DEFAULT_POLL_MS, DEFAULT_TIMEOUT_MS, DeployContext } from '../types';
import { isOutage } from '../wait';
import { backendServers, countsSince, groupBackend, isDrained, isServing, responseCounts, ResponseCounts, StatsRow } from './haproxy-stats';
import { Colour, colourApp, otherColour } from './labels';
import { fetchStats, LoadBalancers } from './lb';
import { currentStep, RolloutStep, rolloutSteps } from './schedule';
import { ColourState, inFlight, liveTasks, readRollout, RolloutState, taskServer } from './state';

/** The result of a smoke test run against the new colour. */
export interface SmokeResult {
  readonly ok: boolean;
  readonly detail?: string;
}

/** What a blue/green or canary rollout needs beyond a deploy: the load balancers and the analysis. */
export interface RolloutContext extends DeployContext {
  readonly lb: LoadBalancers;
  /** The service's smoke test against one task of the new colour (`url` is `http://host:port`). @default - none */
  readonly smokeTest?: (url: string, step: RolloutStep) => Promise<SmokeResult>;
  /** The largest share of the new colour's responses that may be errors (5xx, failed connections). @default 0.01 */
  readonly maxErrorRate?: number;
  readonly now?: () => Date;
}

/** Which service and where. */
export interface RolloutTarget {
  readonly def: ServiceDefinition;
  readonly env: EnvironmentName;
}

/** How a rollout call ended (it throws for an abort, an interrupt or a stall). */
export type RolloutOutcome =
  | { readonly state: 'paused'; readonly step: RolloutStep; readonly colour: Colour }
  | { readonly state: 'released'; readonly colour: Colour; readonly keptOld: string | null; readonly durationMs: number }
  | { readonly state: 'aborted'; readonly colour: Colour; readonly durationMs: number };

/**
 * Starts a release with the service's two-colour strategy: the new colour (`/<env>/<name>-blue|green`) beside the
 * old, with marathon-lb's deployment labels, then runs the steps (`advanceRollout`). Refuses while another rollout
 * of the service is in flight. The first release of a service (no colour yet) starts blue at full size.
 * @throws C2CError ROLLOUT_IN_PROGRESS, ROLLOUT_ABORTED (the analysis failed: traffic is back on the old colour),
 * ROLLOUT_STALLED / INTERRUPTED / MARATHON_* (both colours keep serving; the hint names the commands).
 */
export async function startRollout(rc: RolloutContext, t: RolloutTarget, base: MarathonAppDefinition): Promise<RolloutOutcome> {
  const strategy = twoColour(t.def);
  const baseId = marathonAppId(t.def.name, t.env);
  let state = await readRollout(rc.client, baseId);
  if (inFlight(state)) throw inProgress(t, state);
  if (state.older) {
    // The colour kept for a switch back is the one this release replaces: remove it first, once HAProxy shows it drained.
    await waitAllDrained(rc, t, state.older.app.id);
    await rc.client.deleteApp(state.older.app.id);
    await waitFor(
      rc,
      t,
      `the kept colour ${state.older.app.id} to be removed`,
      async () => (await rc.client.getApp(state.older!.app.id)) === null,
    );
    state = await readRollout(rc.client, baseId);
  }
  const target = base.instances;
  const steps = rolloutSteps(strategy, target);
  const publicPort = Number(firstServicePort(t.def));
  const colour: Colour = state.newer ? otherColour(state.newer.colour) : 'blue';
  const oldPort = state.newer ? colourServicePort(state.newer.app.raw) : strategy.altPort;
  const app = colourApp({
    base,
    colour,
    publicPort,
    altPort: strategy.altPort,
    servicePort: oldPort === publicPort ? strategy.altPort : publicPort,
    startedAt: (rc.now ?? (() => new Date()))().toISOString(),
    targetInstances: target,
    instances: state.newer ? steps[0].newInstances : target,
  });
  // A colour deleted a moment ago (the kept one above, or the new one an abort removed) is gone from GET /v2/apps at
  // once, but Marathon keeps its id locked until the deployment stopping its tasks ends: creating it before gets 409.
  await waitFor(rc, t, `Marathon to finish removing ${app.id}`, async () =>
    (await rc.client.listDeployments()).every((d) => !d.affectedApps.includes(app.id)),
  );
  let created;
  try {
    created = await rc.client.createApp(app);
  } catch (err) {
    if (err instanceof C2CError && err.code === 'MARATHON_LOCKED') throw inProgress(t, state);
    throw err;
  }
  // The new colour's first version (its `lastConfigChangeAt` while nobody changes its definition) and the plan it
  // carries: what `deploy promote` checks the running colour against in production.
  const planId = base.labels?.[STAMP_LABELS.planId];
  await audit(rc, t, 'rollout.started', {
    comment: describeStrategy(strategy, steps),
    image: base.container?.docker.image,
    appVersion: created.version,
    ...(planId ? { planId } : {}),
  });
  return advanceRollout(rc, t);
}

/**
 * Runs the rollout on from where Marathon's state says it is: each remaining step (scale the new colour, wait until
 * marathon-lb serves it, kill the old colour's tasks once HAProxy shows them drained, analyse), pausing where the
 * strategy says. `promote` passes a pause that waits for `deploy promote`. At 100 % the old colour is kept (drained,
 * not serving) for `keepOldMinutes`, or removed at once when that is 0.
 */
export async function advanceRollout(rc: RolloutContext, t: RolloutTarget, options: { promote?: boolean } = {}): Promise<RolloutOutcome> {
  const began = Date.now();
  const strategy = twoColour(t.def);
  const state = await readRollout(rc.client, marathonAppId(t.def.name, t.env));
  if (!state.newer) throw none(t);
  const steps = rolloutSteps(strategy, state.target);
  const reached = currentStep(steps, state.newer.app.instances);
  // A step is complete once the old colour is down to its share; only then does a promote pass the step's pause.
  const complete = reached !== null && (state.older?.app.instances ?? 0) <= state.target - reached.newInstances;
  const skipPause = (options.promote ?? false) && complete ? reached?.index : undefined;
  if (options.promote) await audit(rc, t, 'rollout.promoted', { rolloutStep: reached?.index, trafficPercent: reached?.percent });
  try {
    for (const step of steps) {
      if (reached && step.index < reached.index) continue;
      await runStep(rc, t, step, strategy);
      if (step.pause === 'none' || step.index === skipPause) continue;
      if (step.pause === 'promote') {
        await audit(rc, t, 'rollout.paused', { rolloutStep: step.index, trafficPercent: step.percent });
        return { state: 'paused', step, colour: state.newer.colour };
      }
      const before = await steadySnapshot(rc, t);
      await abortableSleep(step.pause.minutes * 60_000, rc.signal);
      await analyse(rc, t, step, before);
    }
    const keptOld = await finishRelease(rc, t, strategy);
    await audit(rc, t, 'rollout.succeeded', { trafficPercent: 100, durationMs: Date.now() - began });
    return { state: 'released', colour: state.newer.colour, keptOld, durationMs: Date.now() - began };
  } catch (err) {
    if (err instanceof C2CError && (err.code === 'ROLLOUT_ABORTED' || err.code === 'ROLLOUT_NONE')) throw err;
    throw await bothServing(rc, t, err);
  }
}

/**
 * Moves all traffic back to the old colour (`swapBack`; a kept, drained colour is first started again, `restartKept`),
 * then deletes the new colour.
 * @throws C2CError ROLLOUT_NONE when there is no old colour to go back to.
 */
export async function abortRollout(rc: RolloutContext, t: RolloutTarget, reason: string): Promise<RolloutOutcome> {
  const began = Date.now();
  const baseId = marathonAppId(t.def.name, t.env);
  const state = await readRollout(rc.client, baseId);
  if (!state.newer || !state.older) throw none(t);
  const { newer, older } = state;
  const target = state.target;
  const before = await steadySnapshot(rc, t);
  const kept = before.older && serving(before, before.older) === 0 && before.older.app.instances >= target;
  await swapBack(rc, t, kept ? await restartKept(rc, t, older, target) : older, newer, target);
  await audit(rc, t, 'rollout.aborted', { reason, trafficPercent: 0, durationMs: Date.now() - began });
  return { state: 'aborted', colour: older.colour, durationMs: Date.now() - began };
}

/**
 * Going back while the old colour still serves (a canary mid-way): scale it to the target. It is then the colour
 * scaled last, which marathon-lb treats as the newer one, so it drains the new colour as the old one's tasks get
 * healthy; the drained new colour is then deleted in one go.
 */
async function swapBack(rc: RolloutContext, t: RolloutTarget, older: ColourState, newer: ColourState, target: number): Promise<void> {
  progress(rc, t, `switching back: ${older.app.id} to ${target}`);
  if (older.app.instances < target) await rc.client.scaleApp(older.app.id, target, { force: true });
  await waitFor(rc, t, `${older.app.id} to serve ${target} task(s) through marathon-lb`, async () => {
    const s = await snapshot(rc, t);
    return s.older !== null && serving(s, s.older) >= target;
  });
  // Killing the new colour's tasks with `scale` would make it the colour scaled last again, and marathon-lb would
  // drain the old colour until they are gone: once HAProxy shows them all drained, the app goes in one DELETE.
  await waitFor(rc, t, `${newer.app.id} to be drained`, async () => {
    const s = await snapshot(rc, t);
    return s.newer === null || drainedTaskIds(s, s.newer).length === s.newer.app.tasks.length;
  });
  progress(rc, t, `removing ${newer.app.id}`);
  await rc.client.deleteApp(newer.app.id);
}

/**
 * Going back to a kept colour that marathon-lb holds fully drained (after 100 %). Its servers sit in HAProxy as
 * `disabled` (MAINT); putting them back in rotation brings them back DOWN until their checks pass (HAProxy restores
 * the saved server state on reload), while the same reload drains the new colour: no server for a moment. Scaling the
 * kept colour in place does the same, and its stopping tasks still count as healthy for marathon-lb's drain formula.
 * So, zero-failure by construction: once HAProxy shows every kept task drained (no traffic at all), the kept app is
 * deleted and created again from the same definition and labels (same code, its original
 * `HAPROXY_DEPLOYMENT_STARTED_AT`, so it stays the older colour); being the colour scaled last, marathon-lb drains one
 * task of the new colour per kept task its health checks pass, each a new server HAProxy puts straight in rotation.
 * `swapBack` then waits until HAProxy serves all of them and removes the new colour once drained.
 */
async function restartKept(rc: RolloutContext, t: RolloutTarget, older: ColourState, target: number): Promise<ColourState> {
  await waitAllDrained(rc, t, older.app.id);
  progress(rc, t, `switching back: starting ${older.app.id} again (${target} task(s)) from its kept definition`);
  const definition = keptDefinition(older.app.raw, target);
  await rc.client.deleteApp(older.app.id);
  // Gone from /v2/apps at once, the app stays locked until Marathon's deployment that stops its tasks ends.
  await waitFor(rc, t, `${older.app.id} to be removed`, async () => {
    if ((await rc.client.getApp(older.app.id)) !== null) return false;
    return !(await rc.client.listDeployments()).some((d) => d.affectedApps.includes(older.app.id));
  });
  await rc.client.createApp(definition);
  const again = await readRollout(rc.client, marathonAppId(t.def.name, t.env));
  if (!again.older || again.older.app.id !== older.app.id) throw none(t);
  return again.older;
}

/** Waits until HAProxy sends none of the app's tasks traffic (each drained, or in no backend), zdd.py's check before a kill. */
async function waitAllDrained(rc: RolloutContext, t: RolloutTarget, appId: string): Promise<void> {
  await waitFor(rc, t, `${appId} to be drained`, async () => {
    const s = await snapshot(rc, t);
    const c = [s.older, s.newer].find((x) => x?.app.id === appId);
    return !c || (c.app.deployments.length === 0 && drainedTaskIds(s, c).length === c.app.tasks.length);
  });
}

/** A colour app's definition as Marathon holds it (read-only fields left out), at `instances`. */
function keptDefinition(raw: Readonly<Record<string, unknown>>, instances: number): MarathonAppDefinition {
  const def: Record<string, unknown> = { ...raw, instances };
  for (const k of READ_ONLY_FIELDS) delete def[k];
  return def as unknown as MarathonAppDefinition;
}

/** A reading of Marathon and every marathon-lb at one moment. */
interface Snapshot extends RolloutState {
  readonly stats: StatsRow[][];
  readonly backend: string;
}

/** A snapshot taken through `waitFor`: a stats page that does not answer (an HAProxy reload) is read again. */
async function steadySnapshot(rc: RolloutContext, t: RolloutTarget): Promise<Snapshot> {
  let out: Snapshot | null = null;
  await waitFor(rc, t, "marathon-lb's stats", async () => {
    out = await snapshot(rc, t);
    return true;
  });
  return out!;
}

async function snapshot(rc: RolloutContext, t: RolloutTarget): Promise<Snapshot> {
  const state = await readRollout(rc.client, marathonAppId(t.def.name, t.env));
  const stats = await fetchStats(rc.lb, rc.signal);
  return { ...state, stats, backend: groupBackend(state.group, Number(firstServicePort(t.def))) };
}

/** Tasks of a colour that every marathon-lb serves. */
function serving(s: Snapshot, c: ColourState): number {
  return liveTasks(c.app).filter((task) => {
    const name = taskServer(task);
    return s.stats.every((rows) => backendServers(rows, s.backend).some((r) => r.svname === name && isServing(r)));
  }).length;
}

/** Tasks of a colour that no marathon-lb sends traffic to: drained everywhere, or in no backend at all. */
function drainedTaskIds(s: Snapshot, c: ColourState): string[] {
  return c.app.tasks
    .filter((task) => {
      const name = taskServer(task);
      return s.stats.every((rows) => {
        const row = backendServers(rows, s.backend).find((r) => r.svname === name);
        return row === undefined ? !liveTasks(c.app).includes(task) || name === null : isDrained(row);
      });
    })
    .map((task) => task.id);
}

async function runStep(rc: RolloutContext, t: RolloutTarget, step: RolloutStep, strategy: TwoColour): Promise<void> {
  const first = await readRollout(rc.client, marathonAppId(t.def.name, t.env));
  const newer = first.newer!;
  if (newer.app.instances < step.newInstances) await rc.client.scaleApp(newer.app.id, step.newInstances);
  progress(rc, t, `step ${step.index}: ${step.percent} % (${step.newInstances} of ${first.target}) on ${newer.colour}`);
  await waitFor(rc, t, `${newer.app.id} to serve ${step.newInstances} task(s) through marathon-lb`, async () => {
    const s = await snapshot(rc, t);
    return s.newer !== null && serving(s, s.newer) >= step.newInstances;
  });
  const baseline = await steadySnapshot(rc, t);
  const last = step.newInstances >= first.target;
  const keep = last && (strategy.keepOldMinutes ?? SERVICE_DEFAULTS.keepOldMinutes) > 0;
  if (!keep) await drainAndKill(rc, t, (s) => s.older, first.target - step.newInstances);
  await audit(rc, t, 'rollout.step', { rolloutStep: step.index, trafficPercent: step.percent });
  await analyse(rc, t, step, baseline);
}

/** Kills drained tasks of a colour (scaling it down by as many) until it has `keep` instances; zdd.py's loop. */
async function drainAndKill(rc: RolloutContext, t: RolloutTarget, pick: (s: Snapshot) => ColourState | null, keep: number): Promise<void> {
  await waitFor(rc, t, `the drained tasks to be removed (keeping ${keep})`, async () => {
    const s = await snapshot(rc, t);
    const c = pick(s);
    if (!c || c.app.instances <= keep) return true;
    if (c.app.deployments.length > 0) return false;
    const ids = drainedTaskIds(s, c).slice(0, c.app.instances - keep);
    if (ids.length > 0) {
      progress(rc, t, `killing ${ids.length} drained task(s) of ${c.app.id}`);
      await rc.client.killTasks(ids, { scale: true });
    }
    return false;
  });
}

/** The analysis: the smoke test against the new colour, and the error rate HAProxy counted for it since `baseline`. */
async function analyse(rc: RolloutContext, t: RolloutTarget, step: RolloutStep, baseline: Snapshot): Promise<void> {
  const now = await steadySnapshot(rc, t);
  const newer = now.newer!;
  const names = new Set(newer.app.tasks.map(taskServer).filter((n): n is string => n !== null));
  const sum = (rows: StatsRow[][]): ResponseCounts =>
    rows
      .map((r) => responseCounts(r, names))
      .reduce((a, b) => ({ total: a.total + b.total, errors: a.errors + b.errors }), { total: 0, errors: 0 });
  const counts = countsSince(sum(baseline.stats), sum(now.stats));
  const max = rc.maxErrorRate ?? 0.01;
  let failure: string | null = null;
  if (counts.total > 0 && counts.errors / counts.total > max) {
    failure = `HAProxy counted ${counts.errors} error(s) in ${counts.total} response(s) of ${newer.colour} (more than ${max * 100} %)`;
  } else if (rc.smokeTest) {
    const task = liveTasks(newer.app)[0];
    const result = task ? await rc.smokeTest(`http://${task.host}:${task.ports[0]}`, step) : { ok: false, detail: 'no healthy task' };
    if (!result.ok) failure = `the smoke test failed against ${newer.colour}${result.detail ? `: ${result.detail}` : ''}`;
  }
  if (failure === null) return;
  await abortRollout(rc, t, `analysis at step ${step.index} (${step.percent} %): ${failure}`);
  throw new C2CError('ROLLOUT_ABORTED', `${t.def.name} in ${t.env}: ${failure}; all traffic is back on ${otherColour(newer.colour)}`, {
    hint: `fix the release and deploy again; 'deploy status ${t.def.name} --env ${t.env}' shows the colours`,
  });
}

/** At 100 %: the old colour stays (drained) for a switch back, or is removed when `keepOldMinutes` is 0. */
async function finishRelease(rc: RolloutContext, t: RolloutTarget, strategy: TwoColour): Promise<string | null> {
  const s = await readRollout(rc.client, marathonAppId(t.def.name, t.env));
  if (!s.older) return null;
  if ((strategy.keepOldMinutes ?? SERVICE_DEFAULTS.keepOldMinutes) > 0) {
    await waitFor(rc, t, `${s.older.app.id} to be drained`, async () => {
      const snap = await snapshot(rc, t);
      return snap.older === null || serving(snap, snap.older) === 0;
    });
    return s.older.app.id;
  }
  await rc.client.deleteApp(s.older.app.id);
  return null;
}

/**
 * Polls `check` until it holds, or fails with ROLLOUT_STALLED at the deadline. A stats page that does not answer (as
 * during an HAProxy reload) or a Marathon outage is polled again, as zdd.py restarts its loop on such errors.
 */
async function waitFor(rc: RolloutContext, t: RolloutTarget, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Math.min(rc.deadline ?? Infinity, Date.now() + (rc.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  const pause = Math.min(rc.pollIntervalMs ?? DEFAULT_POLL_MS, 250);
  let last: C2CError | null = null;
  for (;;) {
    try {
      if (await check()) return;
      last = null;
    } catch (err) {
      if (!(err instanceof C2CError && (err.code === 'HAPROXY_UNREACHABLE' || isOutage(err)))) throw err;
      last = err;
    }
    if (Date.now() + pause > deadline) {
      throw new C2CError(
        last?.code ?? 'ROLLOUT_STALLED',
        `${t.def.name} in ${t.env}: timed out waiting for ${what}${last ? ` (${last.message})` : ''}`,
      );
    }
    await abortableSleep(pause, rc.signal);
  }
}

/** An error mid-rollout, reworded: both colours keep serving, and which command resumes or goes back. */
async function bothServing(rc: RolloutContext, t: RolloutTarget, err: unknown): Promise<unknown> {
  if (!(err instanceof C2CError)) return err;
  let where = '';
  try {
    const s = await readRollout(rc.client, marathonAppId(t.def.name, t.env));
    where = ` (${[s.older, s.newer]
      .filter((c): c is ColourState => c !== null)
      .map((c) => `${c.colour} ${c.app.instances}`)
      .join(', ')})`;
  } catch {
    // Marathon may be the reason: say what can be said.
  }
  await audit(rc, t, 'rollout.interrupted', { reason: err.message }).catch(() => undefined);
  return new C2CError(err.code, `${err.message}; the rollout stopped mid-way and both colours keep serving${where}`, {
    hint: `'deploy promote ${t.def.name} --env ${t.env}' resumes it, 'deploy abort ${t.def.name} --env ${t.env}' moves all traffic back`,
    cause: err,
  });
}

type TwoColour = Extract<ReleaseStrategy, { altPort: number }>;

function twoColour(def: ServiceDefinition): TwoColour {
  const s = strategyOf(def);
  if (s.kind === 'rolling') {
    throw new C2CError('ROLLOUT_NONE', `${def.name} releases with a rolling restart, not blue/green or canary`, {
      hint: "set strategy: { kind: 'blueGreen', altPort: … } in its service file, or deploy it with 'deploy apply'",
    });
  }
  return s;
}

function firstServicePort(def: ServiceDefinition): number | undefined {
  return (def.ports ?? SERVICE_DEFAULTS.ports)[0]?.servicePort;
}

function colourServicePort(raw: Readonly<Record<string, unknown>>): number {
  const c = raw.container as { portMappings?: { servicePort?: number }[] } | undefined;
  const pd = raw.portDefinitions as { port?: number }[] | undefined;
  return Number(c?.portMappings?.[0]?.servicePort ?? pd?.[0]?.port ?? 0);
}

/** One line for a reviewer: `canary: 10 % then promote, 50 % then 5 min, 100 %; old colour kept 15 min`. */
export function describeStrategy(s: TwoColour, steps: readonly RolloutStep[]): string {
  const list = steps.map(
    (st) => `${st.percent} %${st.pause === 'none' ? '' : st.pause === 'promote' ? ' then promote' : ` then ${st.pause.minutes} min`}`,
  );
  return `${s.kind}: ${list.join(', ')}; old colour kept ${s.keepOldMinutes ?? SERVICE_DEFAULTS.keepOldMinutes} min`;
}

/** ROLLOUT_IN_PROGRESS for `t`, naming the commands that finish or undo the rollout in flight. */
export function inProgress(t: RolloutTarget, s: RolloutState): C2CError {
  return new C2CError(
    'ROLLOUT_IN_PROGRESS',
    `a rollout of ${t.def.name} in ${t.env} is in flight (${s.newer?.app.id} at ${s.newer?.app.instances} of ${s.target})`,
    {
      hint: `finish it with 'deploy promote ${t.def.name} --env ${t.env}' or go back with 'deploy abort ${t.def.name} --env ${t.env}', then deploy again`,
    },
  );
}

function none(t: RolloutTarget): C2CError {
  return new C2CError('ROLLOUT_NONE', `${t.def.name} in ${t.env} has no rollout with two colours to act on`, {
    hint: `'deploy status ${t.def.name} --env ${t.env}' shows what runs`,
  });
}

function progress(rc: RolloutContext, t: RolloutTarget, message: string): void {
  rc.onProgress?.({ kind: 'phase', appId: marathonAppId(t.def.name, t.env), message });
}

async function audit(rc: RolloutContext, t: RolloutTarget, type: NewAuditEvent['type'], extra: Partial<NewAuditEvent>): Promise<void> {
  await rc.audit?.record({ type, service: t.def.name, environment: t.env, actor: rc.actor, ...extra });
}
