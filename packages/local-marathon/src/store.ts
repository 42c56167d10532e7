/**
 * App definitions with all their versions, the assigned service ports, and the running deployments; optionally
 * persisted as JSON files in a state directory (temp file + rename, on every change) so a restart loses nothing.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalMarathonConfigError } from './errors';
import { HttpError, Json, JsonObject, isObject } from './json';

/** `versionInfo` of an app (§8). */
export interface VersionInfo {
  lastScalingAt: string;
  lastConfigChangeAt: string;
}

/** One stored version of an app: the normalised definition plus its version bookkeeping. */
export interface AppVersion {
  def: JsonObject;
  version: string;
  versionInfo: VersionInfo;
}

/** An app: its current version and every stored version (oldest first). */
export interface AppRecord {
  id: string;
  current: AppVersion;
  versions: AppVersion[];
}

/** One action of a deployment step (§9). */
export interface DeploymentAction {
  action: 'StartApplication' | 'StopApplication' | 'ScaleApplication' | 'RestartApplication';
  app: string;
}

/** A deployment plan and its progress. `original`/`target` hold the app versions before/after, for rollback. */
export interface DeploymentRecord {
  id: string;
  version: string;
  affectedApps: string[];
  steps: DeploymentAction[][];
  /** 0-based index of the running step; `steps.length` when finished. */
  stepIndex: number;
  original: Record<string, AppVersion | null>;
  target: Record<string, AppVersion | null>;
  /** Set by the `hang` fault: the plan never finishes. */
  hung: boolean;
}

/** Marathon keeps at most `--zk_max_versions` (50) versions per app (§8). */
export const MAX_VERSIONS = 50;
const PORT_MIN = 10000;
const PORT_MAX = 20000;

/** In-memory state with optional JSON-file persistence. */
export class Store {
  readonly apps = new Map<string, AppRecord>();
  readonly deployments = new Map<string, DeploymentRecord>();
  private readonly dir: string | undefined;

  /** Loads the state directory when there is one; it is created on the first write, not here. */
  constructor(stateDir: string | undefined) {
    this.dir = stateDir;
    if (stateDir) this.load();
  }

  private file(name: string): string {
    return join(this.dir as string, name);
  }

  private load(): void {
    const apps = this.readList('apps.json');
    for (const a of apps as unknown as AppRecord[]) {
      if (!isObject(a as unknown as Json) || typeof a.id !== 'string' || !a.current || !Array.isArray(a.versions))
        throw this.corrupt('apps.json', 'an entry is not an app record');
      this.apps.set(a.id, a);
    }
    for (const d of this.readList('deployments.json') as unknown as DeploymentRecord[]) {
      if (!isObject(d as unknown as Json) || typeof d.id !== 'string' || !Array.isArray(d.steps))
        throw this.corrupt('deployments.json', 'an entry is not a deployment record');
      this.deployments.set(d.id, d);
    }
  }

  private corrupt(name: string, why: string): LocalMarathonConfigError {
    return new LocalMarathonConfigError(
      'STATE_CORRUPT',
      `state file ${this.file(name)} is corrupt: ${why}`,
      `move it away (the server then starts without it) or point --state at another directory`,
    );
  }

  /** A JSON array file of the state directory (empty when absent); a file that is not one is a config error. */
  private readList(name: string): Json[] {
    const f = this.file(name);
    if (!existsSync(f)) return [];
    let parsed: Json;
    try {
      parsed = JSON.parse(readFileSync(f, 'utf8')) as Json;
    } catch (e) {
      throw this.corrupt(name, e instanceof Error ? e.message : String(e));
    }
    if (!Array.isArray(parsed)) throw this.corrupt(name, 'expected a JSON array');
    return parsed;
  }

  private writeJson(name: string, value: unknown): void {
    mkdirSync(this.dir as string, { recursive: true });
    const f = this.file(name);
    const tmp = `${f}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value, null, 1));
    renameSync(tmp, f);
  }

  /** Writes apps, deployments and service ports (a no-op without a state directory). */
  persist(): void {
    if (!this.dir) return;
    this.writeJson('apps.json', [...this.apps.values()]);
    this.writeJson('deployments.json', [...this.deployments.values()]);
    this.writeJson(
      'service-ports.json',
      [...this.usedServicePorts()].sort((a, b) => a - b),
    );
  }

  /** Service ports of every app except `exceptApp`. */
  usedServicePorts(exceptApp?: string): Set<number> {
    const used = new Set<number>();
    for (const a of this.apps.values()) {
      if (a.id === exceptApp) continue;
      for (const p of servicePorts(a.current.def)) if (p > 0) used.add(p);
    }
    return used;
  }

  /**
   * Assigns service ports in place (§6): a 0 takes the port previously assigned at the same index (so a re-submitted
   * rendered definition does not churn), otherwise the lowest free port of [10000, 20000]. Exhaustion maps to 500.
   */
  assignServicePorts(def: JsonObject, previous: JsonObject | undefined): void {
    const used = this.usedServicePorts(String(def.id));
    const prev = previous ? servicePorts(previous) : [];
    for (const p of servicePorts(def)) if (p > 0) used.add(p);
    let next = PORT_MIN;
    const take = (i: number): number => {
      if (prev[i] && prev[i] > 0 && !used.has(prev[i])) {
        used.add(prev[i]);
        return prev[i];
      }
      while (next <= PORT_MAX && used.has(next)) next++;
      if (next > PORT_MAX) throw new HttpError(500, { message: `All service ports in [${PORT_MIN}, ${PORT_MAX}] are in use` });
      used.add(next);
      return next;
    };
    if (Array.isArray(def.portDefinitions)) {
      def.portDefinitions.forEach((pd, i) => {
        if (isObject(pd) && pd.port === 0) pd.port = take(i);
      });
    } else if (isObject(def.container) && Array.isArray(def.container.portMappings)) {
      def.container.portMappings.forEach((pm, i) => {
        if (isObject(pm) && pm.servicePort === 0) pm.servicePort = take(i);
      });
    }
  }
}

/** The service ports of a definition, by port index. */
export function servicePorts(def: JsonObject): number[] {
  if (Array.isArray(def.portDefinitions)) return def.portDefinitions.map((p) => (isObject(p) && typeof p.port === 'number' ? p.port : 0));
  if (isObject(def.container) && Array.isArray(def.container.portMappings)) {
    return def.container.portMappings.map((p) => (isObject(p) && typeof p.servicePort === 'number' ? p.servicePort : 0));
  }
  return [];
}
