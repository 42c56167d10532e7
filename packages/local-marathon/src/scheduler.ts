/**
 * The scheduler: keeps every app at its instance count with real processes, runs deployment steps (start, scale,
 * rolling restart honouring upgradeStrategy and health, stop), executes health checks with Marathon's timing fields,
 * relaunches failed tasks with backoff, and publishes the matching events. SEMANTICS.md §9, §12, §14.
 */
import { randomUUID } from 'node:crypto';
import { runHealthCheck } from './health';
import { EventBus } from './events';
import { Faults } from './faults';
import { Json, JsonObject, formatTimestamp, isObject } from './json';
import { RunnerKind, Runner, TaskProcess, freePort } from './task-runner';
import { AppRecord, DeploymentAction, DeploymentRecord, Store, servicePorts } from './store';
import { portCount, portNames } from './app-definition';

/** Mesos task states used here. */
export type TaskState = 'TASK_STAGING' | 'TASK_RUNNING' | 'TASK_KILLING' | 'TASK_KILLED' | 'TASK_FAILED' | 'TASK_FINISHED';

/** The health of one task for one health check (§12 `Health`). */
interface HealthResult {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess?: number;
  lastSuccess?: number;
  lastFailure?: number;
  lastFailureCause?: string;
}

/** A task: one real local process. */
export interface Task {
  id: string;
  instanceId: string;
  appId: string;
  /** The app version the task was launched with. */
  version: string;
  /** `lastConfigChangeAt` of that version: tasks with an older one are replaced by a restart. */
  configVersion: string;
  def: JsonObject;
  ports: number[];
  servicePorts: number[];
  env: Record<string, string>;
  /** What Marathon sets (without the host basics in `env`): all a container gets. */
  containerEnv: Record<string, string>;
  state: TaskState;
  stagedAt: number;
  startedAt?: number;
  runner?: RunnerKind;
  proc?: TaskProcess;
  /** Aborts the launch (the fetch) of a task that has no process yet. */
  staging?: AbortController;
  health: (HealthResult | undefined)[];
  checking: boolean[];
  killing: boolean;
  /** Why we killed it; 'unhealthy' counts as a failure (backoff, lastTaskFailure). */
  killReason?: 'kill' | 'unhealthy' | 'crash';
}

interface Backoff {
  configVersion: string;
  delaySeconds: number;
  nextLaunchAt: number;
}

interface RestartState {
  minHealthy: number;
  maxCapacity: number;
}

/** The agent id shown on tasks and events: there is one local "agent". */
export const SLAVE_ID = `${randomUUID()}-S0`;
const ENV_PASSTHROUGH = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'USER', 'SHELL', 'TERM'];

/** Runs tasks and deployments. */
export class Scheduler {
  private readonly tasks = new Map<string, Task[]>();
  private readonly backoff = new Map<string, Backoff>();
  private readonly lastFailure = new Map<string, JsonObject>();
  private readonly restartStates = new Map<string, RestartState>();
  private readonly announcedSteps = new Set<string>();
  private readonly healthTimers = new Map<string, NodeJS.Timeout>();
  private readonly killTimers = new Set<NodeJS.Timeout>();
  private readonly reservedPorts = new Set<number>();
  private interval: NodeJS.Timeout | undefined;
  private kicked = false;
  /**
   * Bumped on every change that app listings show (tasks added/removed, task state, health results, deployments,
   * definitions), so a serialised listing can be reused until the next change.
   */
  generation = 0;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly runner: Runner,
    private readonly events: EventBus,
    private readonly faults: Faults,
    private readonly log: (line: string) => void,
    private readonly hostEnv: Record<string, string | undefined>,
  ) {}

  /** Starts the reconcile loop (also run on every change via `kick`). */
  start(): void {
    this.interval = setInterval(() => this.tick(), 100);
    this.kick();
  }

  /** Records a change visible in app listings. */
  bump(): void {
    this.generation++;
  }

  /** Schedules a reconcile pass soon (coalesced). */
  kick(): void {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.tick();
    });
  }

  /** Every task of an app, including ones being killed. */
  appTasks(appId: string): Task[] {
    return this.tasks.get(appId) ?? [];
  }

  /** Every task of every app. */
  allTasks(): Task[] {
    return [...this.tasks.values()].flat();
  }

  /** The last task failure of an app (§3 `lastTaskFailure`). */
  lastTaskFailure(appId: string): JsonObject | undefined {
    return this.lastFailure.get(appId);
  }

  /** Forgets per-app bookkeeping of a deleted app. */
  forgetApp(appId: string): void {
    this.lastFailure.delete(appId);
    this.backoff.delete(appId);
  }

  /** Whether a task counts as healthy for deployments: running and, with health checks, alive on all of them. */
  isHealthy(t: Task): boolean {
    if (t.state !== 'TASK_RUNNING' || t.killing) return false;
    const hcs = healthChecks(t.def);
    return hcs.every((_, i) => t.health[i]?.alive === true);
  }

  /** Counters per §12: tasksHealthy only counts tasks that have results, so it stays 0 without health checks. */
  counts(appId: string): { tasksStaged: number; tasksRunning: number; tasksHealthy: number; tasksUnhealthy: number } {
    let tasksStaged = 0;
    let tasksRunning = 0;
    let tasksHealthy = 0;
    let tasksUnhealthy = 0;
    for (const t of this.appTasks(appId)) {
      if (t.killing) continue;
      if (t.state === 'TASK_STAGING') tasksStaged++;
      if (t.state === 'TASK_RUNNING') tasksRunning++;
      const results = t.health.filter((h): h is HealthResult => h !== undefined);
      if (results.length && results.every((h) => h.alive)) tasksHealthy++;
      if (results.some((h) => !h.alive)) tasksUnhealthy++;
    }
    return { tasksStaged, tasksRunning, tasksHealthy, tasksUnhealthy };
  }

  /** Kills a task on request (not a failure: it is replaced without backoff unless the app was scaled down). */
  kill(task: Task, reason: Task['killReason'] = 'kill'): void {
    if (task.killing) return;
    task.killing = true;
    task.killReason = reason;
    task.state = 'TASK_KILLING';
    this.bump();
    task.staging?.abort();
    const proc = task.proc;
    if (proc) {
      // SIGTERM, then SIGKILL after taskKillGracePeriodSeconds (Mesos' `docker stop -t <grace>` for a container).
      this.runner.signal(proc, reason === 'crash' ? 'SIGKILL' : 'SIGTERM');
      const grace = Math.min(Number(task.def.taskKillGracePeriodSeconds ?? 3), 30) * 1000;
      const timer = setTimeout(() => {
        this.killTimers.delete(timer);
        this.runner.signal(proc, 'SIGKILL');
      }, grace);
      this.killTimers.add(timer);
      void proc.exited.then(() => {
        clearTimeout(timer);
        this.killTimers.delete(timer);
      });
    }
    this.kick();
  }

  /** Publishes `deployment_failed` and drops the deployment (cancelled, superseded, or rolled back). */
  cancelDeployment(dep: DeploymentRecord, reason: string): void {
    if (!this.store.deployments.delete(dep.id)) return;
    this.bump();
    this.forgetDeployment(dep);
    this.store.persist();
    this.events.publish('deployment_failed', { id: dep.id, plan: planJson(dep), reason });
    this.kick();
  }

  /** One reconcile pass. */
  tick(): void {
    if (this.closed) return;
    const controlled = new Set<string>();
    for (const dep of [...this.store.deployments.values()]) {
      for (const a of dep.affectedApps) controlled.add(a);
      this.advance(dep);
    }
    for (const app of this.store.apps.values()) {
      if (!controlled.has(app.id)) this.scaleTo(app, Number(app.current.def.instances));
    }
    for (const [appId, list] of this.tasks) {
      if (!this.store.apps.has(appId) && !controlled.has(appId)) for (const t of list) this.kill(t);
    }
    this.reapHealthTimers();
  }

  private advance(dep: DeploymentRecord): void {
    while (this.store.deployments.has(dep.id) && dep.stepIndex < dep.steps.length) {
      const step = dep.steps[dep.stepIndex];
      const key = `${dep.id}#${dep.stepIndex}`;
      if (!this.announcedSteps.has(key)) {
        this.announcedSteps.add(key);
        this.events.publish('deployment_info', { plan: planJson(dep), currentStep: stepJson(step) });
      }
      let done = true;
      for (const action of step) done = this.runAction(dep, action) && done;
      if (!done || dep.hung) return;
      this.events.publish('deployment_step_success', { plan: planJson(dep), currentStep: stepJson(step) });
      dep.stepIndex++;
      this.store.persist();
    }
    if (this.store.deployments.has(dep.id) && dep.stepIndex >= dep.steps.length && !dep.hung) this.finish(dep);
  }

  /** Marks a deployment finished; a no-op plan (no steps) finishes on its first pass. */
  finish(dep: DeploymentRecord): void {
    this.store.deployments.delete(dep.id);
    this.bump();
    this.forgetDeployment(dep);
    this.store.persist();
    this.events.publish('deployment_success', { id: dep.id, plan: planJson(dep) });
  }

  private forgetDeployment(dep: DeploymentRecord): void {
    for (const app of dep.affectedApps) this.restartStates.delete(`${dep.id}${app}`);
    dep.steps.forEach((_, i) => this.announcedSteps.delete(`${dep.id}#${i}`));
  }

  private runAction(dep: DeploymentRecord, action: DeploymentAction): boolean {
    const app = this.store.apps.get(action.app);
    switch (action.action) {
      case 'StartApplication':
        return true;
      case 'StopApplication': {
        for (const t of this.appTasks(action.app)) this.kill(t);
        return this.appTasks(action.app).length === 0;
      }
      case 'ScaleApplication': {
        if (!app) return true;
        const n = Number(app.current.def.instances);
        this.scaleTo(app, n);
        const live = this.live(app.id);
        // Like Marathon's kill and replace actors, a step is done only once the tasks it killed are terminal.
        return live.length === n && live.every((t) => this.isHealthy(t)) && this.appTasks(app.id).length === n;
      }
      case 'RestartApplication':
        return app ? this.restart(dep, app) : true;
    }
  }

  private live(appId: string): Task[] {
    return this.appTasks(appId).filter((t) => !t.killing);
  }

  /** Keeps `n` live tasks: kills extras per killSelection, launches missing ones (after the backoff delay). */
  private scaleTo(app: AppRecord, n: number): void {
    const live = this.live(app.id);
    if (live.length > n) {
      const oldestFirst = app.current.def.killSelection === 'OLDEST_FIRST';
      const sorted = [...live].sort((a, b) => (oldestFirst ? a.stagedAt - b.stagedAt : b.stagedAt - a.stagedAt));
      for (const t of sorted.slice(0, live.length - n)) this.kill(t);
    } else if (live.length < n) {
      this.launch(app, n - live.length);
    }
  }

  /**
   * RestartApplication (§9): with n instances, minHealthy = ceil(n*minimumHealthCapacity) and
   * maxCapacity = floor(n*(1+maximumOverCapacity)); old tasks are killed only while at least minHealthy healthy tasks
   * remain, and never more than maxCapacity tasks run. If minHealthy == maxCapacity and the healthy tasks already fill
   * it, one extra task is allowed so the replacement can make progress.
   */
  private restart(dep: DeploymentRecord, app: AppRecord): boolean {
    const def = app.current.def;
    const n = Number(def.instances);
    const cfg = app.current.versionInfo.lastConfigChangeAt;
    const key = `${dep.id}${app.id}`;
    let live = this.live(app.id);
    let st = this.restartStates.get(key);
    if (!st) {
      const us = isObject(def.upgradeStrategy) ? def.upgradeStrategy : {};
      const minHealthy = Math.ceil(n * Number(us.minimumHealthCapacity ?? 1));
      let maxCapacity = Math.floor(n * (1 + Number(us.maximumOverCapacity ?? 1)));
      const healthy = live.filter((t) => this.isHealthy(t)).length;
      if (minHealthy === maxCapacity && healthy >= maxCapacity) maxCapacity += 1;
      st = { minHealthy, maxCapacity };
      this.restartStates.set(key, st);
    }
    const old = live.filter((t) => t.configVersion !== cfg);
    // Old tasks that are not healthy add no capacity; replacing them first is what Marathon does too.
    for (const t of old) if (!this.isHealthy(t)) this.kill(t);
    const healthyOld = old.filter((t) => this.isHealthy(t));
    let fresh = live.filter((t) => t.configVersion === cfg);
    const healthyNew = fresh.filter((t) => this.isHealthy(t)).length;
    const toKill = Math.max(0, Math.min(healthyOld.length, healthyOld.length + healthyNew - st.minHealthy));
    for (const t of healthyOld.sort((a, b) => a.stagedAt - b.stagedAt).slice(0, toKill)) this.kill(t);
    if (fresh.length > n) {
      for (const t of [...fresh].sort((a, b) => b.stagedAt - a.stagedAt).slice(0, fresh.length - n)) this.kill(t);
    }
    live = this.live(app.id);
    fresh = live.filter((t) => t.configVersion === cfg);
    const canLaunch = Math.max(0, Math.min(n - fresh.length, st.maxCapacity - live.length));
    if (canLaunch > 0) this.launch(app, canLaunch);
    live = this.live(app.id);
    // Done once n new tasks are healthy and every old task is terminal (not merely being killed), as in Marathon's
    // TaskReplaceActor.
    return live.length === n && live.every((t) => t.configVersion === cfg && this.isHealthy(t)) && this.appTasks(app.id).length === n;
  }

  private launch(app: AppRecord, count: number): void {
    const cfg = app.current.versionInfo.lastConfigChangeAt;
    let b = this.backoff.get(app.id);
    if (b && b.configVersion !== cfg) {
      // A new configuration resets the launch delay, as Marathon's rate limiter does on an app update.
      this.backoff.delete(app.id);
      b = undefined;
    }
    if (b && Date.now() < b.nextLaunchAt) return;
    for (let i = 0; i < count; i++) this.launchOne(app);
  }

  private launchOne(app: AppRecord): void {
    const uuid = randomUUID();
    const prefix = app.id.slice(1).replace(/\//g, '_');
    const def = app.current.def;
    const task: Task = {
      id: `${prefix}.${uuid}`,
      instanceId: `${prefix}.marathon-${uuid}`,
      appId: app.id,
      version: app.current.version,
      configVersion: app.current.versionInfo.lastConfigChangeAt,
      def,
      ports: [],
      servicePorts: servicePorts(def),
      env: {},
      containerEnv: {},
      state: 'TASK_STAGING',
      stagedAt: Date.now(),
      health: healthChecks(def).map(() => undefined),
      checking: healthChecks(def).map(() => false),
      killing: false,
    };
    const list = this.tasks.get(app.id) ?? [];
    list.push(task);
    this.tasks.set(app.id, list);
    this.bump();
    this.ensureHealthTimers(task);
    void this.startProcess(task);
  }

  private async startProcess(task: Task): Promise<void> {
    try {
      task.ports = await this.hostPorts(task.def);
      task.containerEnv = taskEnv(task);
      task.env = { ...hostBasics(this.hostEnv), ...task.containerEnv };
      if (task.killing || this.closed) return this.onExit(task, { code: null, signal: 'SIGTERM' });
      task.staging = new AbortController();
      const proc = await this.runner.launch({
        taskId: task.id,
        def: task.def,
        ports: task.ports,
        env: task.env,
        containerEnv: task.containerEnv,
        signal: task.staging.signal,
      });
      task.staging = undefined;
      task.proc = proc;
      task.runner = proc.kind;
      void proc.exited.then((r) => this.onExit(task, r));
      if (task.killing || this.closed) {
        this.runner.signal(proc, 'SIGTERM');
        if (!this.closed) {
          const timer = setTimeout(
            () => this.runner.signal(proc, 'SIGKILL'),
            Math.min(Number(task.def.taskKillGracePeriodSeconds ?? 3), 30) * 1000,
          );
          void proc.exited.then(() => clearTimeout(timer));
        }
        return;
      }
      task.state = 'TASK_RUNNING';
      task.startedAt = Date.now();
      this.bump();
      this.log(`task ${task.id} running (${proc.kind}, pid ${proc.pid}, ports ${task.ports.join(',') || '-'})`);
      this.statusEvent(task, 'TASK_RUNNING', '');
      this.kick();
    } catch (e) {
      task.staging = undefined;
      // A launch aborted by a kill is that kill, not a failure of its own.
      this.onExit(task, { code: 127, signal: null }, task.killing ? undefined : e instanceof Error ? e.message : String(e));
    }
  }

  /** Host ports for a task: the requested ones where fixed (requirePorts, explicit hostPort), free loopback ports otherwise. */
  private async hostPorts(def: JsonObject): Promise<number[]> {
    const n = portCount(def);
    const fixed: (number | undefined)[] = [];
    if (Array.isArray(def.portDefinitions)) {
      for (const pd of def.portDefinitions)
        fixed.push(def.requirePorts === true && isObject(pd) && typeof pd.port === 'number' && pd.port > 0 ? pd.port : undefined);
    } else if (isObject(def.container) && Array.isArray(def.container.portMappings)) {
      for (const pm of def.container.portMappings)
        fixed.push(isObject(pm) && typeof pm.hostPort === 'number' && pm.hostPort > 0 ? pm.hostPort : undefined);
    }
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      let p = fixed[i];
      while (p === undefined) {
        const candidate = await freePort();
        if (!this.reservedPorts.has(candidate)) p = candidate;
      }
      this.reservedPorts.add(p);
      out.push(p);
    }
    return out;
  }

  private onExit(task: Task, r: { code: number | null; signal: NodeJS.Signals | null }, message?: string): void {
    const list = this.tasks.get(task.appId) ?? [];
    const idx = list.indexOf(task);
    if (idx < 0) return;
    list.splice(idx, 1);
    this.bump();
    if (!list.length) this.tasks.delete(task.appId);
    for (const p of task.ports) this.reservedPorts.delete(p);
    if (this.closed) return;
    const requested = task.killing && task.killReason === 'kill';
    const state: TaskState = task.killing && task.killReason !== 'crash' ? 'TASK_KILLED' : r.code === 0 ? 'TASK_FINISHED' : 'TASK_FAILED';
    const why =
      message ??
      (task.killReason === 'unhealthy'
        ? 'Killed because of failing health checks'
        : requested
          ? 'Killed on request'
          : task.proc?.container
            ? `Container exited with status ${r.code}`
            : `Process exited with ${r.signal ? `signal ${r.signal}` : `status ${r.code}`}`);
    task.state = state;
    this.statusEvent(task, state, why);
    if (!requested) {
      this.lastFailure.set(task.appId, {
        appId: task.appId,
        host: '127.0.0.1',
        message: why,
        state,
        taskId: task.id,
        timestamp: formatTimestamp(Date.now()),
        version: task.version,
        slaveId: SLAVE_ID,
      });
      this.bumpBackoff(task);
    }
    this.log(`task ${task.id} ${state}: ${why}`);
    this.kick();
  }

  /** Backoff (§6): backoffSeconds, multiplied by backoffFactor per consecutive failure, capped at maxLaunchDelaySeconds. */
  private bumpBackoff(task: Task): void {
    const app = this.store.apps.get(task.appId);
    if (!app) return;
    const def = app.current.def;
    const cfg = app.current.versionInfo.lastConfigChangeAt;
    const prev = this.backoff.get(app.id);
    const base = Number(def.backoffSeconds ?? 1);
    const delay =
      prev && prev.configVersion === cfg
        ? Math.min(prev.delaySeconds * Number(def.backoffFactor ?? 1.15), Number(def.maxLaunchDelaySeconds ?? 300))
        : base;
    this.backoff.set(app.id, { configVersion: cfg, delaySeconds: delay, nextLaunchAt: Date.now() + delay * 1000 });
  }

  private statusEvent(task: Task, state: TaskState, message: string): void {
    this.events.publish('status_update_event', {
      slaveId: SLAVE_ID,
      taskId: task.id,
      taskStatus: state,
      message,
      appId: task.appId,
      host: '127.0.0.1',
      ipAddresses: [{ ipAddress: '127.0.0.1', protocol: 'IPv4' }],
      ports: task.ports,
      version: task.version,
    });
  }

  /*
   * Health checks run from one timer per app version and check, like Marathon's per-app health check actor: every
   * intervalSeconds it checks each running task of that version.
   */
  private ensureHealthTimers(task: Task): void {
    healthChecks(task.def).forEach((hc, i) => {
      const key = `${task.appId}#${task.configVersion}#${i}`;
      if (this.healthTimers.has(key)) return;
      const ms = Math.max(50, Number(hc.intervalSeconds ?? 60) * 1000);
      const timer = setInterval(() => {
        for (const t of this.appTasks(task.appId)) {
          if (t.configVersion === task.configVersion && t.state === 'TASK_RUNNING' && !t.killing && !t.checking[i])
            void this.check(t, hc, i);
        }
      }, ms);
      this.healthTimers.set(key, timer);
    });
  }

  private reapHealthTimers(): void {
    for (const [key, timer] of this.healthTimers) {
      const [appId, cfg] = key.split('#');
      if (!this.appTasks(appId).some((t) => t.configVersion === cfg)) {
        clearInterval(timer);
        this.healthTimers.delete(key);
      }
    }
  }

  private async check(task: Task, hc: JsonObject, i: number): Promise<void> {
    task.checking[i] = true;
    const injected = this.faults.take('unhealthy', task.appId);
    const outcome = injected
      ? { ok: false, cause: 'Injected fault: unhealthy' }
      : await runHealthCheck(hc, task.ports, task.env, task.proc?.container);
    task.checking[i] = false;
    if (task.killing || this.closed || task.state !== 'TASK_RUNNING') return;
    const now = Date.now();
    const prev = task.health[i];
    this.bump();
    if (outcome.ok) {
      task.health[i] = { ...prev, alive: true, consecutiveFailures: 0, firstSuccess: prev?.firstSuccess ?? now, lastSuccess: now };
      if (prev?.alive !== true) this.healthEvent(task, true);
      this.backoff.delete(task.appId);
      this.kick();
      return;
    }
    // Failures are ignored until the first success or the end of the grace period, whichever comes first (§12).
    const graceMs = Number(hc.gracePeriodSeconds ?? 300) * 1000;
    if (!prev?.firstSuccess && now - (task.startedAt ?? now) < graceMs) return;
    const failures = (prev?.consecutiveFailures ?? 0) + 1;
    task.health[i] = { ...prev, alive: false, consecutiveFailures: failures, lastFailure: now, lastFailureCause: outcome.cause };
    this.events.publish('failed_health_check_event', {
      appId: task.appId,
      instanceId: task.instanceId,
      taskId: task.id,
      healthCheck: hc,
      version: task.version,
    });
    if (prev?.alive !== false) this.healthEvent(task, false);
    const max = Number(hc.maxConsecutiveFailures ?? 3);
    if (max > 0 && failures >= max) {
      this.events.publish('unhealthy_instance_kill_event', {
        appId: task.appId,
        taskId: task.id,
        instanceId: task.instanceId,
        version: task.version,
        reason: `${hc.protocol} health check failed ${failures} times`,
        host: '127.0.0.1',
        slaveId: SLAVE_ID,
      });
      this.kill(task, 'unhealthy');
    }
    this.kick();
  }

  private healthEvent(task: Task, alive: boolean): void {
    this.events.publish('health_status_changed_event', {
      appId: task.appId,
      instanceId: task.instanceId,
      taskId: task.id,
      version: task.version,
      alive,
    });
  }

  /** Stops the loop, kills every task process group (SIGTERM, then SIGKILL after 2 s) and waits until they are gone. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.interval) clearInterval(this.interval);
    for (const t of this.healthTimers.values()) clearInterval(t);
    this.healthTimers.clear();
    for (const t of this.killTimers) clearTimeout(t);
    this.killTimers.clear();
    for (const t of this.allTasks()) t.staging?.abort();
    const procs = this.allTasks()
      .map((t) => t.proc)
      .filter((p): p is TaskProcess => p !== undefined);
    for (const p of procs) this.runner.signal(p, 'SIGTERM');
    const all = Promise.all(procs.map((p) => p.exited));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 2000);
    });
    await Promise.race([all, late]);
    for (const p of procs) this.runner.signal(p, 'SIGKILL');
    await all;
    if (timer) clearTimeout(timer);
    this.tasks.clear();
  }
}

/** The health checks of a definition. */
export function healthChecks(def: JsonObject): JsonObject[] {
  return Array.isArray(def.healthChecks) ? def.healthChecks.filter(isObject) : [];
}

/** What a local process inherits from the host (never given to a container). */
function hostBasics(hostEnv: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ENV_PASSTHROUGH) if (hostEnv[k] !== undefined) env[k] = hostEnv[k] as string;
  return env;
}

/** Marathon's escape of a label key for `MARATHON_APP_LABEL_<KEY>` (EnvironmentHelper.labelsToEnvVars). */
function labelEnvKey(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]+/g, '_').toUpperCase();
}

/**
 * The environment Marathon gives a task (TaskBuilder + EnvironmentHelper): Marathon's variables, then the app's env
 * (secrets as placeholders), which wins where a name is in both, as in Marathon. The same for every runner kind; a
 * local process also gets the host basics.
 */
function taskEnv(task: Task): Record<string, string> {
  const def = task.def;
  const env: Record<string, string> = {};
  const labels = isObject(def.labels) ? def.labels : {};
  const container = isObject(def.container) ? def.container : undefined;
  const image = container && isObject(container.docker) ? container.docker.image : undefined;
  Object.assign(env, {
    HOST: '127.0.0.1',
    MARATHON_APP_ID: task.appId,
    MARATHON_APP_VERSION: task.version,
    MESOS_TASK_ID: task.id,
    MARATHON_APP_RESOURCE_CPUS: String(def.cpus),
    MARATHON_APP_RESOURCE_MEM: String(def.mem),
    MARATHON_APP_RESOURCE_DISK: String(def.disk),
    MARATHON_APP_RESOURCE_GPUS: String(def.gpus),
  });
  // Marathon escapes label keys (non-alphanumerics to `_`, upper case) and skips over-long keys and values.
  const labelKeys: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (k.length >= 512 - 'MARATHON_APP_LABEL_'.length || String(v).length >= 512) continue;
    labelKeys.push(labelEnvKey(k));
    env[`MARATHON_APP_LABEL_${labelEnvKey(k)}`] = String(v);
  }
  env.MARATHON_APP_LABELS = labelKeys.join(' ');
  if (typeof image === 'string') env.MARATHON_APP_DOCKER_IMAGE = image;
  // Ports (EnvironmentHelper.portsEnv): PORT<i> and PORT_<NAME> are host ports, also in a bridge container (which
  // listens on its containerPort); PORT_<requested> is keyed by the containerPort with port mappings, by the port
  // definition's (service) port with host networking, and by the host port itself when the requested port is 0.
  const names = portNames(def);
  const mappings = container && Array.isArray(container.portMappings) ? container.portMappings : undefined;
  task.ports.forEach((p, i) => {
    env[`PORT${i}`] = String(p);
    const pm: Json | undefined = mappings?.[i];
    const requested = mappings
      ? isObject(pm) && typeof pm.containerPort === 'number'
        ? pm.containerPort
        : 0
      : (task.servicePorts[i] ?? 0);
    env[`PORT_${requested > 0 ? requested : p}`] = String(p);
  });
  task.ports.forEach((p, i) => {
    const name = names[i];
    if (name) env[`PORT_${name.toUpperCase().replace(/-/g, '_')}`] = String(p);
  });
  if (task.ports.length) {
    env.PORT = String(task.ports[0]);
    env.PORTS = task.ports.join(',');
  }
  const secrets = isObject(def.secrets) ? def.secrets : {};
  if (isObject(def.env)) {
    for (const [k, v] of Object.entries(def.env)) {
      if (typeof v === 'string') env[k] = v;
      else if (isObject(v) && typeof v.secret === 'string') {
        const s = secrets[v.secret];
        env[k] = `local-secret:${isObject(s) && typeof s.source === 'string' ? s.source : v.secret}`;
      }
    }
  }
  return env;
}

/** The light plan format used in events (§14). */
export function planJson(dep: DeploymentRecord): JsonObject {
  return { id: dep.id, version: dep.version, steps: dep.steps.map(stepJson) };
}

function stepJson(step: DeploymentAction[]): JsonObject {
  return { actions: step.map((a) => ({ action: a.action, app: a.app })) };
}
