/**
 * App definition helpers shared by the API and the scheduler: canonical ids (§5), network mode and ports of a
 * normalised definition, and the partial-update merge and rollback body rules (§7).
 */
import { HttpError, JsonObject, clone, isObject, objectNotValid } from './json';

/** Resolves `.` and `..` and makes an id absolute (relative ids resolve against the root, §5). */
export function canonicalId(id: string): string {
  const parts: string[] = [];
  for (const seg of id.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

/** The network mode of a normalised definition. */
export function networkMode(def: JsonObject): 'host' | 'container/bridge' | 'container' {
  const nets = Array.isArray(def.networks) ? def.networks : [];
  const first = nets.find(isObject);
  const mode = first && typeof first.mode === 'string' ? first.mode : 'host';
  return mode === 'container/bridge' || mode === 'container' ? mode : 'host';
}

/** Fields Marathon computes: dropped from inputs, never stored. */
export const READ_ONLY_KEYS = [
  'version',
  'versionInfo',
  'tasksStaged',
  'tasksRunning',
  'tasksHealthy',
  'tasksUnhealthy',
  'deployments',
  'tasks',
  'lastTaskFailure',
  'readinessCheckResults',
  'tasksStats',
];

/** Number of ports a task of this definition gets (port definitions or port mappings). */
export function portCount(def: JsonObject): number {
  if (Array.isArray(def.portDefinitions)) return def.portDefinitions.length;
  const c = isObject(def.container) ? def.container : undefined;
  return c && Array.isArray(c.portMappings) ? c.portMappings.length : 0;
}

/** The names of the app's ports, in order (undefined where unnamed). */
export function portNames(def: JsonObject): (string | undefined)[] {
  const list = Array.isArray(def.portDefinitions)
    ? def.portDefinitions
    : isObject(def.container) && Array.isArray(def.container.portMappings)
      ? def.container.portMappings
      : [];
  return list.map((p) => (isObject(p) && typeof p.name === 'string' ? p.name : undefined));
}

/** Whether the body of a partial update asks for a rollback (`version` key). */
export function isRollbackBody(body: JsonObject): boolean {
  return body.version !== undefined && body.version !== null;
}

/** §7: `version` may only be combined with `id` in a partial update. */
export function checkRollbackBody(body: JsonObject): void {
  const others = Object.keys(body).filter((k) => k !== 'version' && k !== 'id' && body[k] !== undefined);
  if (others.length) {
    throw objectNotValid([{ path: '/', errors: ["The 'version' field may only be combined with the 'id' field."] }]);
  }
  if (typeof body.version !== 'string' || Number.isNaN(Date.parse(body.version)) || !/^\d{4}-\d\d-\d\dT/.test(body.version)) {
    throw new HttpError(422, { message: `Invalid timestamp provided '${String(body.version)}'. Expecting ISO-8601 datetime string.` });
  }
}

/**
 * Partial update (§7): each top-level key present in the body replaces the stored value as a whole; absent keys keep
 * the old value, except `executorResources` and `resourceLimits`, which are taken from the update without fallback.
 * Old-style keys in the body displace their 1.5+ replacements so that the result is not a mix.
 */
export function mergeUpdate(stored: JsonObject, body: JsonObject): JsonObject {
  const out = clone(stored);
  delete out.executorResources;
  delete out.resourceLimits;
  for (const [k, v] of Object.entries(body)) {
    if (k === 'id' || READ_ONLY_KEYS.includes(k)) continue;
    if (v === null) delete out[k];
    else out[k] = clone(v);
  }
  if ('ports' in body) delete out.portDefinitions;
  if ('uris' in body) delete out.fetch;
  const bodyDocker = isObject(body.container) && isObject(body.container.docker) ? body.container.docker : undefined;
  if (!('networks' in body) && ('ipAddress' in body || (bodyDocker && bodyDocker.network !== undefined))) delete out.networks;
  if ('networks' in body || 'container' in body || 'ipAddress' in body) {
    const mode =
      out.networks !== undefined
        ? networkMode(out)
        : bodyDocker?.network === 'BRIDGE' || bodyDocker?.network === 'USER' || 'ipAddress' in body
          ? 'container'
          : 'host';
    // A switch of network mode carries the ports over to the form the new mode uses.
    if (mode !== 'host' && !('portDefinitions' in body) && !('ports' in body)) delete out.portDefinitions;
    if (mode === 'host' && !('container' in body) && isObject(out.container)) delete out.container.portMappings;
  }
  return out;
}
