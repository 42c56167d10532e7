/**
 * Normalisation of a type-checked app body to the stored 1.5+ shape (old fields translated, defaults filled in, empty
 * omit-empty collections removed) and the semantic rules (422 `Object is not valid`), SEMANTICS.md §4-§6.
 */
import { READ_ONLY_KEYS, canonicalId, networkMode, portCount, portNames } from './app-definition';
import { Json, JsonObject, Violation, clone, isObject, objectNotValid } from './json';

const RESERVED_LAST_SEGMENTS = ['restart', 'tasks', 'versions', '.', '..'];

/** Options that change validation. */
export interface NormalizeOptions {
  /** `--enable_features`; `secrets` must be in it for apps with secrets. */
  features: readonly string[];
}

const OMIT_EMPTY = ['args', 'constraints', 'dependencies', 'env', 'fetch', 'healthChecks', 'readinessChecks', 'secrets'];

function dropNulls(o: JsonObject): void {
  for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
}

function normalizePortMapping(pm: JsonObject, bridge: boolean): JsonObject {
  const out: JsonObject = { containerPort: typeof pm.containerPort === 'number' ? pm.containerPort : 0 };
  if (typeof pm.hostPort === 'number') out.hostPort = pm.hostPort;
  else if (bridge) out.hostPort = 0;
  out.labels = isObject(pm.labels) ? pm.labels : {};
  if (typeof pm.name === 'string') out.name = pm.name;
  out.protocol = typeof pm.protocol === 'string' ? pm.protocol : 'tcp';
  out.servicePort = typeof pm.servicePort === 'number' ? pm.servicePort : 0;
  if (Array.isArray(pm.networkNames) && pm.networkNames.length) out.networkNames = pm.networkNames;
  return out;
}

function normalizeHealthCheck(hc: JsonObject): JsonObject {
  const protocol = typeof hc.protocol === 'string' ? hc.protocol : 'HTTP';
  const out: JsonObject = {
    gracePeriodSeconds: typeof hc.gracePeriodSeconds === 'number' ? hc.gracePeriodSeconds : 300,
    intervalSeconds: typeof hc.intervalSeconds === 'number' ? hc.intervalSeconds : 60,
    maxConsecutiveFailures: typeof hc.maxConsecutiveFailures === 'number' ? hc.maxConsecutiveFailures : 3,
    protocol,
    timeoutSeconds: typeof hc.timeoutSeconds === 'number' ? hc.timeoutSeconds : 20,
    delaySeconds: typeof hc.delaySeconds === 'number' ? hc.delaySeconds : 15,
  };
  if (protocol === 'COMMAND') {
    if (hc.command !== undefined) out.command = hc.command;
    return out;
  }
  if (typeof hc.ignoreHttp1xx === 'boolean') out.ignoreHttp1xx = hc.ignoreHttp1xx;
  if (protocol.endsWith('HTTP') || protocol.endsWith('HTTPS')) out.path = typeof hc.path === 'string' ? hc.path : '/';
  if (typeof hc.port === 'number') out.port = hc.port;
  else out.portIndex = typeof hc.portIndex === 'number' ? hc.portIndex : 0;
  if (typeof hc.ipProtocol === 'string') out.ipProtocol = hc.ipProtocol;
  return out;
}

/** Old inputs (§6): `ports` becomes `portDefinitions`, `uris` becomes `fetch`; mixing them with their replacements is refused. */
function translatePortsAndUris(a: JsonObject, problems: Violation[]): void {
  if (a.ports !== undefined) {
    if (a.portDefinitions !== undefined) problems.push({ path: '/', errors: ["You cannot specify both 'ports' and 'portDefinitions'"] });
    else a.portDefinitions = (a.ports as Json[]).map((p) => ({ port: p, protocol: 'tcp' }));
    delete a.ports;
  }
  if (a.uris !== undefined) {
    if (a.fetch !== undefined) problems.push({ path: '/', errors: ["You cannot specify both 'uris' and 'fetch'"] });
    else a.fetch = (a.uris as Json[]).map((uri) => ({ uri }));
    delete a.uris;
  }
}

/** Old inputs (§6): `container.docker.network` becomes `networks`, `container.docker.portMappings` moves up to `container`. */
function translateDockerNetwork(a: JsonObject, ipAddress: JsonObject | undefined, problems: Violation[]): void {
  const container = isObject(a.container) ? a.container : undefined;
  const docker = container && isObject(container.docker) ? container.docker : undefined;
  if (!container || !docker) return;
  dropNulls(docker);
  if (docker.network !== undefined) {
    if (a.networks !== undefined) problems.push({ path: '/', errors: ["'networks' cannot be combined with 'container.docker.network'"] });
    else if (docker.network === 'BRIDGE') a.networks = [{ mode: 'container/bridge' }];
    else if (docker.network === 'USER')
      a.networks = [{ mode: 'container', ...(ipAddress?.networkName ? { name: ipAddress.networkName } : {}) }];
    else a.networks = [{ mode: 'host' }];
    delete docker.network;
  }
  if (docker.portMappings !== undefined) {
    if (container.portMappings !== undefined)
      problems.push({ path: '/container', errors: ["'container.docker.portMappings' cannot be combined with 'container.portMappings'"] });
    else container.portMappings = docker.portMappings;
    delete docker.portMappings;
  }
}

/** Old inputs (§6): `ipAddress` becomes a container network, its discovery ports become port mappings. */
function translateIpAddress(a: JsonObject, ipAddress: JsonObject | undefined, problems: Violation[]): void {
  if (!ipAddress) return;
  if (a.networks !== undefined) {
    problems.push({ path: '/', errors: ["'ipAddress' cannot be combined with 'networks'"] });
    return;
  }
  a.networks = [{ mode: 'container', ...(typeof ipAddress.networkName === 'string' ? { name: ipAddress.networkName } : {}) }];
  const discovery = isObject(ipAddress.discovery) && Array.isArray(ipAddress.discovery.ports) ? ipAddress.discovery.ports : [];
  if (!isObject(a.container)) a.container = { type: 'MESOS' };
  const container = a.container;
  if (container.portMappings === undefined && discovery.length) {
    container.portMappings = discovery
      .filter(isObject)
      .map((p) => ({ containerPort: p.number ?? 0, name: p.name, protocol: p.protocol ?? 'tcp' }));
  }
}

/** `networks` with defaults (one host network), checked for mixed modes; a non-host mode implies a container. */
function normalizeNetworks(a: JsonObject, problems: Violation[]): 'host' | 'container/bridge' | 'container' {
  const networks = (Array.isArray(a.networks) && a.networks.length ? a.networks : ([{ mode: 'host' }] as Json[]))
    .filter(isObject)
    .map((n) => {
      const out: JsonObject = { mode: typeof n.mode === 'string' ? n.mode : 'container' };
      if (typeof n.name === 'string') out.name = n.name;
      if (isObject(n.labels) && Object.keys(n.labels).length) out.labels = n.labels;
      return out;
    });
  const modes = new Set(networks.map((n) => n.mode));
  if (modes.size > 1)
    problems.push({ path: '/networks', errors: ['Network modes cannot be mixed: use host, container/bridge or container networks only'] });
  if (modes.has('host') && networks.length > 1)
    problems.push({ path: '/networks', errors: ['Host networking may only be specified once'] });
  if (modes.has('container/bridge') && networks.length > 1)
    problems.push({ path: '/networks', errors: ['Bridge networking may only be specified once'] });
  a.networks = networks;
  const mode = networkMode(a);
  if (mode !== 'host' && !isObject(a.container)) a.container = { type: 'MESOS' };
  return mode;
}

/** `container.docker` with defaults; `credential` is refused, `pullConfig` only with the Mesos containerizer. */
function normalizeDocker(docker: JsonObject, type: Json, problems: Violation[]): JsonObject {
  const d: JsonObject = {
    forcePullImage: typeof docker.forcePullImage === 'boolean' ? docker.forcePullImage : false,
    image: docker.image,
    parameters: Array.isArray(docker.parameters) ? docker.parameters : [],
    privileged: typeof docker.privileged === 'boolean' ? docker.privileged : false,
  };
  if (docker.pullConfig !== undefined) d.pullConfig = docker.pullConfig;
  if (docker.credential !== undefined)
    problems.push({ path: '/container/docker/credential', errors: ['must be empty: docker.credential was removed, use pullConfig'] });
  if (docker.pullConfig !== undefined && type === 'DOCKER')
    problems.push({
      path: '/container/docker/pullConfig',
      errors: ['pullConfig is supported only with the Mesos containerizer (container.type MESOS)'],
    });
  return d;
}

/** `container` with defaults: docker, volumes, and port mappings (none with host networking, one default otherwise). */
function normalizeContainer(a: JsonObject, mode: string, problems: Violation[]): void {
  if (!isObject(a.container)) return;
  const container = a.container;
  dropNulls(container);
  const c: JsonObject = { type: typeof container.type === 'string' ? container.type : 'DOCKER' };
  if (isObject(container.docker)) c.docker = normalizeDocker(container.docker, c.type, problems);
  for (const k of Object.keys(container)) if (!['type', 'docker', 'portMappings', 'volumes'].includes(k)) c[k] = container[k];
  c.volumes = Array.isArray(container.volumes) ? container.volumes : [];
  const pms = Array.isArray(container.portMappings) ? container.portMappings.filter(isObject) : undefined;
  if (mode === 'host') {
    if (pms && pms.length)
      problems.push({ path: '/container/portMappings', errors: ['portMappings are not allowed with host-networking'] });
  } else {
    const list = pms ?? [{ name: 'default' }];
    c.portMappings = list.map((pm) => normalizePortMapping(pm, mode === 'container/bridge'));
  }
  a.container = c;
}

/** `portDefinitions` with defaults under host networking (one default port); refused with other modes. */
function normalizePortDefinitions(a: JsonObject, mode: string, problems: Violation[]): void {
  if (mode !== 'host') {
    if (Array.isArray(a.portDefinitions) && a.portDefinitions.length)
      problems.push({ path: '/portDefinitions', errors: ['portDefinitions are only allowed with host-networking'] });
    delete a.portDefinitions;
    return;
  }
  const defs = Array.isArray(a.portDefinitions) ? a.portDefinitions.filter(isObject) : [{ port: 0, name: 'default' }];
  a.portDefinitions = defs.map((pd) => {
    const out: JsonObject = {
      port: typeof pd.port === 'number' ? pd.port : 0,
      protocol: typeof pd.protocol === 'string' ? pd.protocol : 'tcp',
    };
    if (typeof pd.name === 'string') out.name = pd.name;
    if (isObject(pd.labels) && Object.keys(pd.labels).length) out.labels = pd.labels;
    return out;
  });
}

/** Health checks, fetch entries, readiness checks and dependencies with their defaults. */
function normalizeLists(a: JsonObject): void {
  if (Array.isArray(a.healthChecks)) a.healthChecks = a.healthChecks.filter(isObject).map(normalizeHealthCheck);
  if (Array.isArray(a.fetch)) {
    a.fetch = a.fetch.filter(isObject).map((f) => ({
      uri: f.uri,
      extract: typeof f.extract === 'boolean' ? f.extract : true,
      executable: typeof f.executable === 'boolean' ? f.executable : false,
      cache: typeof f.cache === 'boolean' ? f.cache : false,
      ...(typeof f.destPath === 'string' ? { destPath: f.destPath } : {}),
    }));
  }
  if (Array.isArray(a.readinessChecks)) {
    a.readinessChecks = a.readinessChecks.filter(isObject).map((r) => ({
      name: r.name ?? 'readinessCheck',
      protocol: r.protocol ?? 'HTTP',
      path: r.path ?? '/',
      portName: r.portName ?? 'http-api',
      intervalSeconds: r.intervalSeconds ?? 30,
      timeoutSeconds: r.timeoutSeconds ?? 10,
      httpStatusCodesForReady: r.httpStatusCodesForReady ?? [200],
      preserveLastResponse: r.preserveLastResponse ?? false,
    }));
  }
  if (Array.isArray(a.dependencies)) a.dependencies = a.dependencies.map((d) => canonicalId(String(d)));
}

/** The stored definition: the id first, then the fields in the order Marathon's writer uses, with scalar defaults. */
function ordered(id: string, a: JsonObject): JsonObject {
  const us = isObject(a.upgradeStrategy) ? a.upgradeStrategy : { minimumHealthCapacity: 1, maximumOverCapacity: 1 };
  const unreachable = isObject(a.unreachableStrategy)
    ? {
        inactiveAfterSeconds: a.unreachableStrategy.inactiveAfterSeconds ?? 0,
        expungeAfterSeconds: a.unreachableStrategy.expungeAfterSeconds ?? 0,
      }
    : (a.unreachableStrategy ?? { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 });
  const out: JsonObject = { id };
  const fields: [string, Json | undefined][] = [
    ['acceptedResourceRoles', a.acceptedResourceRoles],
    ['args', a.args],
    ['backoffFactor', a.backoffFactor ?? 1.15],
    ['backoffSeconds', a.backoffSeconds ?? 1],
    ['cmd', a.cmd],
    ['constraints', a.constraints],
    ['container', a.container],
    ['cpus', a.cpus ?? 1],
    ['dependencies', a.dependencies],
    ['disk', a.disk ?? 0],
    ['env', a.env],
    ['executor', a.executor ?? ''],
    ['executorResources', a.executorResources],
    ['fetch', a.fetch],
    ['healthChecks', a.healthChecks],
    ['check', a.check],
    ['instances', a.instances ?? 1],
    ['labels', a.labels ?? {}],
    ['maxLaunchDelaySeconds', a.maxLaunchDelaySeconds ?? 300],
    ['mem', a.mem ?? 128],
    ['gpus', a.gpus ?? 0],
    ['networks', a.networks],
    ['portDefinitions', a.portDefinitions],
    ['readinessChecks', a.readinessChecks],
    ['residency', a.residency],
    ['resourceLimits', a.resourceLimits],
    ['requirePorts', a.requirePorts ?? false],
    ['secrets', a.secrets],
    ['taskKillGracePeriodSeconds', a.taskKillGracePeriodSeconds],
    ['upgradeStrategy', { minimumHealthCapacity: us.minimumHealthCapacity ?? 1, maximumOverCapacity: us.maximumOverCapacity ?? 1 }],
    ['user', a.user],
    ['killSelection', a.killSelection ?? 'YOUNGEST_FIRST'],
    ['unreachableStrategy', unreachable],
    ['tty', a.tty],
    ['role', a.role ?? '*'],
  ];
  for (const [k, v] of fields) {
    if (v === undefined) continue;
    if (OMIT_EMPTY.includes(k) && ((Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0))) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Turns a type-checked body into the stored, normalised definition (1.5+ fields only, defaults filled in,
 * unset optional fields and empty omit-empty collections removed), then applies the semantic rules.
 * Service ports stay as given (0 = not yet assigned).
 */
export function normalizeApp(input: JsonObject, options: NormalizeOptions): JsonObject {
  const a = clone(input);
  dropNulls(a);
  for (const k of READ_ONLY_KEYS) delete a[k];
  const problems: Violation[] = [];
  const id = canonicalId(String(a.id ?? ''));
  const ipAddress = isObject(a.ipAddress) ? a.ipAddress : undefined;
  delete a.ipAddress;
  translatePortsAndUris(a, problems);
  translateDockerNetwork(a, ipAddress, problems);
  translateIpAddress(a, ipAddress, problems);
  const mode = normalizeNetworks(a, problems);
  normalizeContainer(a, mode, problems);
  normalizePortDefinitions(a, mode, problems);
  normalizeLists(a);
  const out = ordered(id, a);
  problems.push(...semanticProblems(out, options));
  if (problems.length) throw objectNotValid(problems);
  return out;
}

/** The Accord-style semantic rules that matter for deploy tooling (§4, §5, §6, §12). */
function semanticProblems(d: JsonObject, options: NormalizeOptions): Violation[] {
  const out: Violation[] = [];
  const id = String(d.id);
  const last = id.split('/').pop() ?? '';
  if (id === '/') out.push({ path: '/id', errors: ['Path id must not be the root group: give the app a name, e.g. /my-app'] });
  else if (RESERVED_LAST_SEGMENTS.includes(last)) {
    out.push({ path: '/id', errors: [`must not end with a reserved keyword (${RESERVED_LAST_SEGMENTS.join(', ')})`] });
  }
  const container = isObject(d.container) ? d.container : undefined;
  const hasImage = !!(container && isObject(container.docker) && typeof container.docker.image === 'string');
  const hasCmd = typeof d.cmd === 'string';
  const hasArgs = Array.isArray(d.args) && d.args.length > 0;
  if (!(hasCmd !== hasArgs || (!(hasCmd && hasArgs) && hasImage))) {
    out.push({ path: '/', errors: ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."] });
  }
  const ports = portCount(d);
  const hcs = Array.isArray(d.healthChecks) ? d.healthChecks.filter(isObject) : [];
  let mesosChecks = 0;
  hcs.forEach((hc, i) => {
    if (hc.protocol === 'COMMAND') {
      if (!isObject(hc.command))
        out.push({ path: `/healthChecks(${i})/command`, errors: ['A COMMAND health check needs a command: {"value": "<shell>"}'] });
      return;
    }
    if (String(hc.protocol).startsWith('MESOS_')) mesosChecks++;
    if (typeof hc.port !== 'number' && (typeof hc.portIndex !== 'number' || hc.portIndex >= ports)) {
      out.push({
        path: `/healthChecks(${i})`,
        errors: ['Health check port indices must address an element of the ports array or container port mappings.'],
      });
    }
  });
  if (mesosChecks > 1)
    out.push({
      path: '/healthChecks',
      errors: ['AppDefinition can contain at most one Mesos health check of the MESOS_HTTP, MESOS_HTTPS or MESOS_TCP kind'],
    });
  if (Array.isArray(d.readinessChecks) && d.readinessChecks.length > 1)
    out.push({ path: '/readinessChecks', errors: ['Only one readiness check is allowed'] });
  const names = portNames(d).filter((n): n is string => n !== undefined);
  if (new Set(names).size !== names.length) {
    out.push({
      path: Array.isArray(d.portDefinitions) ? '/portDefinitions' : '/container/portMappings',
      errors: ['Port names must be unique.'],
    });
  }
  const secrets = isObject(d.secrets) ? d.secrets : {};
  const env = isObject(d.env) ? d.env : {};
  const usesSecrets = Object.keys(secrets).length > 0 || Object.values(env).some(isObject);
  if (usesSecrets && !options.features.includes('secrets')) {
    out.push({ path: '/', errors: ['Feature secrets is not enabled. Enable with --enable_features secrets)'] });
  }
  for (const [k, v] of Object.entries(env)) {
    if (isObject(v) && typeof v.secret === 'string' && !(v.secret in secrets)) {
      out.push({ path: `/env/${k}`, errors: [`references an undefined secret named '${v.secret}'`] });
    }
  }
  if (d.labels && isObject(d.labels) && d.labels.MARATHON_SINGLE_INSTANCE_APP === 'true' && Number(d.instances) > 1) {
    out.push({ path: '/instances', errors: ['got ' + String(d.instances) + ', expected between 0 and 1'] });
  }
  return out;
}
