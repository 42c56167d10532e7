/**
 * The operations behind the REST endpoints: create/update/delete/restart/rollback apps, kill tasks, cancel
 * deployments, plus the JSON views. Each change becomes one deployment plan (§7, §9) with Marathon's conflict rules
 * (409 lock, `force`) and version bookkeeping (§8).
 */
import { canonicalId, checkRollbackBody, isRollbackBody, mergeUpdate } from './app-definition';
import { normalizeApp } from './app-normalize';
import { checkAppTypes } from './app-schema';
import { EventBus } from './events';
import { Faults } from './faults';
import {
  HttpError,
  Json,
  JsonObject,
  appNotFound,
  clone,
  formatTimestamp,
  isObject,
  newId,
  newVersion,
  objectNotValid,
  stableStringify,
} from './json';
import { SLAVE_ID, Scheduler, Task, healthChecks } from './scheduler';
import { AppRecord, AppVersion, DeploymentAction, DeploymentRecord, MAX_VERSIONS, Store } from './store';

/** A response: status, optional JSON body, extra headers. */
export interface Reply {
  status: number;
  body?: Json;
  /** A body that is already serialised JSON (the hot `GET /v2/apps` path). */
  raw?: string;
  headers?: Record<string, string>;
}

/** How an app changes in a plan. */
type ChangeKind = 'create' | 'delete' | 'config' | 'scale' | 'restart' | 'none';

interface Change {
  id: string;
  before: AppVersion | undefined;
  after: AppVersion | undefined;
  kind: ChangeKind;
}

/** A requested new definition (or deletion, or restart) for one app. */
interface Intent {
  id: string;
  def?: JsonObject;
  delete?: boolean;
  restart?: boolean;
  /** A rollback to a stored version is a config change even when the content is unchanged (§11 C). */
  forceConfigChange?: boolean;
}

const LOCK_MESSAGE =
  "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

/** The state machine of the local Marathon. */
export class Marathon {
  constructor(
    readonly store: Store,
    readonly scheduler: Scheduler,
    readonly events: EventBus,
    readonly faults: Faults,
    private readonly features: readonly string[],
  ) {}

  private normalize(body: JsonObject): JsonObject {
    return normalizeApp(body, { features: this.features });
  }

  /** `POST /v2/apps` (§3, §7). */
  create(body: Json, force: boolean, uri: string, clientIp: string): Reply {
    checkAppTypes(body, true);
    const input = body as JsonObject;
    const def = this.normalize(input);
    if (this.store.apps.has(String(def.id))) throw new HttpError(409, { message: `An app with id [${def.id}] already exists.` });
    const echo = clone(def);
    const result = this.apply([{ id: String(def.id), def }], force);
    this.events.publish('api_post_event', {
      clientIp,
      uri,
      appDefinition: this.appJson(this.store.apps.get(String(def.id)) as AppRecord, 'none'),
    });
    // The 201 body is the app as validated before service ports were assigned, with zeroed counters and no versionInfo.
    return {
      status: 201,
      body: {
        ...echo,
        version: result.version,
        tasksStaged: 0,
        tasksRunning: 0,
        tasksHealthy: 0,
        tasksUnhealthy: 0,
        deployments: [{ id: result.deploymentId }],
      },
      headers: { 'Marathon-Deployment-Id': result.deploymentId, Location: String(def.id) },
    };
  }

  /** `PUT /v2/apps/{id}` and `PATCH` (§7, §11 C). */
  update(pathId: string, body: Json, opts: { partial: boolean; force: boolean; patch?: boolean }, uri: string, clientIp: string): Reply {
    const id = canonicalId(pathId);
    if (!isObject(body))
      throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsobject'] }] });
    const existing = this.store.apps.get(id);
    if (opts.patch && !existing) throw appNotFound(id);
    checkAppTypes({ ...body, id }, false);
    let intent: Intent;
    if (existing && opts.partial && isRollbackBody(body)) {
      checkRollbackBody(body);
      const wanted = Date.parse(String(body.version));
      const found = existing.versions.find((v) => Date.parse(v.version) === wanted);
      if (!found) throw new HttpError(404, { message: `App '${id}' does not exist in version ${body.version}` });
      intent = { id, def: clone(found.def), forceConfigChange: true };
    } else {
      const { version: _dropped, ...rest } = body;
      void _dropped;
      const merged = existing && opts.partial ? mergeUpdate(existing.current.def, rest) : { ...rest, id };
      intent = { id, def: this.normalize({ ...merged, id }) };
    }
    const result = this.apply([intent], opts.force);
    const app = this.store.apps.get(id);
    if (app) this.events.publish('api_post_event', { clientIp, uri, appDefinition: this.appJson(app, 'none') });
    const headers: Record<string, string> = { 'Marathon-Deployment-Id': result.deploymentId };
    if (!existing) headers.Location = id;
    return { status: existing ? 200 : 201, body: result, headers };
  }

  /** `PUT /v2/apps` / `PATCH /v2/apps`: an array of apps in one deployment. */
  updateMany(body: Json, opts: { partial: boolean; force: boolean }): Reply {
    if (!Array.isArray(body))
      throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: '/', errors: ['error.expected.jsarray'] }] });
    const intents: Intent[] = body.map((item, i) => {
      if (!isObject(item) || typeof item.id !== 'string') {
        throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: `(${i})/id`, errors: ['error.path.missing'] }] });
      }
      checkAppTypes(item, true, `(${i})`);
      const id = canonicalId(item.id);
      const existing = this.store.apps.get(id);
      const { version: _dropped, ...rest } = item;
      void _dropped;
      const merged = existing && opts.partial ? mergeUpdate(existing.current.def, rest) : rest;
      return { id, def: this.normalize({ ...merged, id }) };
    });
    const result = this.apply(intents, opts.force);
    return { status: 200, body: result, headers: { 'Marathon-Deployment-Id': result.deploymentId } };
  }

  /** `DELETE /v2/apps/{id}`: force defaults to true (§3). */
  remove(pathId: string, force: boolean): Reply {
    const id = canonicalId(pathId);
    if (!this.store.apps.has(id)) throw appNotFound(id);
    const result = this.apply([{ id, delete: true }], force);
    this.events.publish('app_terminated_event', { appId: id });
    return { status: 200, body: result, headers: { 'Marathon-Deployment-Id': result.deploymentId } };
  }

  /** `POST /v2/apps/{id}/restart` (§7). */
  restart(pathId: string, force: boolean): Reply {
    const id = canonicalId(pathId);
    const app = this.store.apps.get(id);
    if (!app) throw appNotFound(id);
    const result = this.apply([{ id, def: clone(app.current.def), restart: true }], force);
    return { status: 200, body: result, headers: { 'Marathon-Deployment-Id': result.deploymentId } };
  }

  /**
   * Kills tasks (`DELETE /v2/apps/{id}/tasks[/{taskId}]`, `POST /v2/tasks/delete`). With `scale`, the apps' instance
   * counts drop by the number killed, as one deployment, and the reply is a D-result; otherwise the killed tasks.
   */
  killTasks(tasks: Task[], scale: boolean, force: boolean): { result?: { version: string; deploymentId: string }; killed: Task[] } {
    if (!scale) {
      for (const t of tasks) this.scheduler.kill(t);
      return { killed: tasks };
    }
    const perApp = new Map<string, number>();
    for (const t of tasks) perApp.set(t.appId, (perApp.get(t.appId) ?? 0) + 1);
    const intents: Intent[] = [];
    for (const [appId, n] of perApp) {
      const app = this.store.apps.get(appId);
      if (!app) continue;
      intents.push({ id: appId, def: { ...clone(app.current.def), instances: Math.max(0, Number(app.current.def.instances) - n) } });
    }
    const result = this.apply(intents, force, () => {
      for (const t of tasks) this.scheduler.kill(t);
    });
    return { result, killed: tasks };
  }

  /** `DELETE /v2/deployments/{id}` (§11 A/B). */
  cancelDeployment(id: string, force: boolean): Reply {
    const dep = this.store.deployments.get(id);
    if (!dep) throw new HttpError(404, { message: `DeploymentPlan ${id} does not exist` });
    if (force) {
      this.scheduler.cancelDeployment(dep, 'The deployment has been cancelled');
      return { status: 202 };
    }
    const intents: Intent[] = dep.affectedApps.map((appId) => {
      const orig = dep.original[appId];
      if (!orig) return { id: appId, delete: true };
      return { id: appId, def: clone(orig.def) };
    });
    this.scheduler.cancelDeployment(dep, 'The deployment has been rolled back');
    const result = this.apply(
      intents.filter((i) => !i.delete || this.store.apps.has(i.id)),
      true,
    );
    return { status: 200, body: result, headers: { 'Marathon-Deployment-Id': result.deploymentId } };
  }

  /**
   * Turns intents into one plan: classifies each change, checks locks (409 unless force, which cancels the
   * conflicting deployments), stores the new versions immediately (§7) and registers the deployment.
   * `beforeCommit` runs after the lock check and before the plan starts (task kills of `scale=true`).
   */
  private apply(intents: Intent[], force: boolean, beforeCommit?: () => void): { version: string; deploymentId: string } {
    const planVersion = newVersion();
    const changes: Change[] = intents.map((intent) => this.classify(intent, planVersion));
    this.checkGroupIds(changes);
    const active = changes.filter((c) => c.kind !== 'none');
    const affected = active.map((c) => c.id);
    const conflicts = [...this.store.deployments.values()].filter((d) => d.affectedApps.some((a) => affected.includes(a)));
    if (conflicts.length && !force) {
      throw new HttpError(409, { message: LOCK_MESSAGE, deployments: conflicts.map((d) => ({ id: d.id })) });
    }
    for (const d of conflicts) this.scheduler.cancelDeployment(d, 'The deployment has been superseded by a forced deployment');
    beforeCommit?.();
    const dep: DeploymentRecord = {
      id: newId(),
      version: planVersion,
      affectedApps: affected,
      steps: planSteps(active),
      stepIndex: 0,
      original: Object.fromEntries(active.map((c) => [c.id, c.before ?? null])),
      target: Object.fromEntries(active.map((c) => [c.id, c.after ?? null])),
      hung: false,
    };
    if (affected.some((a) => this.faults.take('hang', a))) dep.hung = true;
    for (const c of active) {
      if (c.kind === 'delete') {
        this.store.apps.delete(c.id);
        this.scheduler.forgetApp(c.id);
        continue;
      }
      const after = c.after as AppVersion;
      const rec = this.store.apps.get(c.id);
      if (rec) {
        rec.current = after;
        rec.versions.push(after);
        if (rec.versions.length > MAX_VERSIONS) rec.versions.splice(0, rec.versions.length - MAX_VERSIONS);
      } else {
        this.store.apps.set(c.id, { id: c.id, current: after, versions: [after] });
      }
    }
    this.store.deployments.set(dep.id, dep);
    this.scheduler.bump();
    this.store.persist();
    this.events.publish('group_change_success', { groupId: '/', version: planVersion });
    if (dep.steps.length === 0) this.scheduler.finish(dep);
    this.scheduler.kick();
    return { version: planVersion, deploymentId: dep.id };
  }

  /** §7/§8: which kind of change, and the new version bookkeeping. */
  private classify(intent: Intent, planVersion: string): Change {
    const rec = this.store.apps.get(intent.id);
    const before = rec?.current;
    if (intent.delete) return { id: intent.id, before, after: undefined, kind: before ? 'delete' : 'none' };
    const def = intent.def as JsonObject;
    this.store.assignServicePorts(def, before?.def);
    if (!before)
      return {
        id: intent.id,
        before,
        after: { def, version: planVersion, versionInfo: { lastScalingAt: planVersion, lastConfigChangeAt: planVersion } },
        kind: 'create',
      };
    if (intent.restart) {
      return {
        id: intent.id,
        before,
        after: {
          def,
          version: planVersion,
          versionInfo: { lastScalingAt: before.versionInfo.lastScalingAt, lastConfigChangeAt: planVersion },
        },
        kind: 'restart',
      };
    }
    const same = stableStringify(def) === stableStringify(before.def);
    if (same && !intent.forceConfigChange) return { id: intent.id, before, after: before, kind: 'none' };
    const onlyScale =
      !intent.forceConfigChange && stableStringify({ ...def, instances: 0 }) === stableStringify({ ...before.def, instances: 0 });
    if (onlyScale) {
      return {
        id: intent.id,
        before,
        after: {
          def,
          version: planVersion,
          versionInfo: { lastScalingAt: planVersion, lastConfigChangeAt: before.versionInfo.lastConfigChangeAt },
        },
        kind: 'scale',
      };
    }
    return {
      id: intent.id,
      before,
      after: { def, version: planVersion, versionInfo: { lastScalingAt: planVersion, lastConfigChangeAt: planVersion } },
      kind: 'config',
    };
  }

  /** §5: an app and a group may not share an id. */
  private checkGroupIds(changes: Change[]): void {
    const created = changes.filter((c) => c.kind === 'create').map((c) => c.id);
    const ids = [...this.store.apps.keys(), ...created];
    for (const id of created) {
      if (ids.some((other) => other !== id && (other.startsWith(`${id}/`) || id.startsWith(`${other}/`)))) {
        throw objectNotValid([{ path: '/', errors: ['Groups and Applications may not have the same identifier.'] }]);
      }
    }
  }

  /** Serialised definition part of each stored version, without the closing brace; versions are immutable once stored. */
  private readonly defJsonCache = new WeakMap<AppVersion, string>();

  /**
   * `GET /v2/apps` without embedded tasks as a JSON string: the definition part of each app is serialised once per
   * version and only the live counters and deployments are appended per request (keeps the listing above 2,000/s).
   */
  appListRaw(apps: AppRecord[], query: string): string {
    const key = `${this.scheduler.generation}?${query}`;
    if (this.listCache?.key === key) return this.listCache.text;
    const parts = apps.map((app) => {
      let head = this.defJsonCache.get(app.current);
      if (head === undefined) {
        head = JSON.stringify(this.versionJson(app.current)).slice(0, -1);
        this.defJsonCache.set(app.current, head);
      }
      const live = { ...this.scheduler.counts(app.id), deployments: this.deploymentsOf(app.id) };
      return `${head},${JSON.stringify(live).slice(1)}`;
    });
    const text = `{"apps":[${parts.join(',')}]}`;
    this.listCache = { key, text };
    return text;
  }

  /** The last serialised listing and the generation/query it was made for. */
  private listCache: { key: string; text: string } | undefined;

  /** Deployments that affect an app. */
  deploymentsOf(appId: string): JsonObject[] {
    return [...this.store.deployments.values()].filter((d) => d.affectedApps.includes(appId)).map((d) => ({ id: d.id }));
  }

  /**
   * AppInfo JSON (§6): the stored definition plus version, versionInfo, counters and deployments; `tasks` and
   * `lastTaskFailure` when embedded ('single' = GET /v2/apps/{id}, which always embeds them).
   */
  appJson(
    app: AppRecord,
    embed: 'none' | 'list' | 'single',
    options: { tasks?: boolean; lastTaskFailure?: boolean; readiness?: boolean } = {},
  ): JsonObject {
    const out: JsonObject = { ...app.current.def, version: app.current.version, versionInfo: { ...app.current.versionInfo } };
    if (embed === 'none') return out;
    Object.assign(out, this.scheduler.counts(app.id));
    out.deployments = this.deploymentsOf(app.id);
    if (embed === 'single' || options.tasks) out.tasks = this.scheduler.appTasks(app.id).map((t) => this.taskJson(t));
    const failure = this.scheduler.lastTaskFailure(app.id);
    if (failure && (embed === 'single' || options.lastTaskFailure)) out.lastTaskFailure = failure;
    if (options.readiness) out.readinessCheckResults = [];
    return out;
  }

  /** Task JSON (§12): only the fields of Marathon's `Task` type; how the process runs is under `/__local/tasks`. */
  taskJson(t: Task): JsonObject {
    const out: JsonObject = {
      id: t.id,
      appId: t.appId,
      host: '127.0.0.1',
      ipAddresses: [{ ipAddress: '127.0.0.1', protocol: 'IPv4' }],
      ports: t.ports,
      servicePorts: t.servicePorts,
      slaveId: SLAVE_ID,
      state: t.state,
      stagedAt: formatTimestamp(t.stagedAt),
      version: t.version,
      role: String(t.def.role ?? '*'),
    };
    if (t.startedAt) out.startedAt = formatTimestamp(t.startedAt);
    if (healthChecks(t.def).length) {
      out.healthCheckResults = t.health
        .filter((h): h is NonNullable<typeof h> => h !== undefined)
        .map((h) => {
          const r: JsonObject = { alive: h.alive, consecutiveFailures: h.consecutiveFailures };
          if (h.firstSuccess) r.firstSuccess = formatTimestamp(h.firstSuccess);
          if (h.lastSuccess) r.lastSuccess = formatTimestamp(h.lastSuccess);
          if (h.lastFailure) r.lastFailure = formatTimestamp(h.lastFailure);
          if (h.lastFailureCause) r.lastFailureCause = h.lastFailureCause;
          r.instanceId = t.instanceId;
          return r;
        });
    }
    return out;
  }

  /** One element of `GET /v2/deployments` (§9). */
  deploymentJson(d: DeploymentRecord): JsonObject {
    const current = d.steps[d.stepIndex] ?? [];
    return {
      id: d.id,
      version: d.version,
      affectedApps: d.affectedApps,
      affectedPods: [],
      steps: d.steps.map((s) => ({ actions: s.map((a) => ({ action: a.action, app: a.app })) })),
      currentActions: current.map((a) => ({ action: a.action, app: a.app, readinessCheckResults: [] })),
      currentStep: Math.min(d.stepIndex + 1, d.steps.length),
      totalSteps: d.steps.length,
    };
  }

  /** A stored version as the bare App JSON (§8). */
  versionJson(v: AppVersion): JsonObject {
    return { ...v.def, version: v.version, versionInfo: { ...v.versionInfo } };
  }
}

/**
 * Steps of a plan (§9): stop removed apps; start new apps with 0 instances; then one step per dependency layer with
 * ScaleApplication (new apps, scale changes, changes to 0 instances) or RestartApplication (config changes, restarts).
 */
function planSteps(changes: Change[]): DeploymentAction[][] {
  const steps: DeploymentAction[][] = [];
  const stops = changes.filter((c) => c.kind === 'delete').map((c): DeploymentAction => ({ action: 'StopApplication', app: c.id }));
  if (stops.length) steps.push(stops);
  const starts = changes.filter((c) => c.kind === 'create').map((c): DeploymentAction => ({ action: 'StartApplication', app: c.id }));
  if (starts.length) steps.push(starts);
  const rest = changes.filter((c) => c.kind !== 'delete' && c.kind !== 'none');
  const ids = new Set(rest.map((c) => c.id));
  const depth = new Map<string, number>();
  const layerOf = (c: Change, seen: Set<string>): number => {
    if (depth.has(c.id)) return depth.get(c.id) as number;
    if (seen.has(c.id)) return 0;
    seen.add(c.id);
    const deps = (Array.isArray(c.after?.def.dependencies) ? c.after?.def.dependencies : []) as Json[];
    let d = 0;
    for (const dep of deps) {
      const other = rest.find((o) => ids.has(String(dep)) && o.id === String(dep));
      if (other) d = Math.max(d, layerOf(other, seen) + 1);
    }
    depth.set(c.id, d);
    return d;
  };
  for (const c of rest) layerOf(c, new Set());
  const layers = Math.max(-1, ...depth.values()) + 1;
  for (let l = 0; l < layers; l++) {
    const actions = rest
      .filter((c) => depth.get(c.id) === l)
      .map((c): DeploymentAction => {
        const instances = Number(c.after?.def.instances ?? 0);
        const restartish = (c.kind === 'config' || c.kind === 'restart') && instances > 0;
        return { action: restartish ? 'RestartApplication' : 'ScaleApplication', app: c.id };
      });
    if (actions.length) steps.push(actions);
  }
  return steps;
}
