/**
 * App definitions: Play-style type checks (422 `Invalid JSON`), normalisation to the 1.5+ output shape,
 * semantic checks (422 `Object is not valid`) and the partial-update merge. SEMANTICS.md §4-§7.
 * Written from the RAML types in reference/marathon-api/raml/v2/types, not from any client code.
 */
import { HttpError, Json, JsonObject, Violation, clone, invalidJson, isObject, objectNotValid } from './json';

/** The PathId pattern of `stringTypes.raml`. */
export const PATH_ID = /^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))?($|\/))+$/;
const LEGACY_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NETWORK_NAME = /^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/;
const RESERVED_LAST_SEGMENTS = ['restart', 'tasks', 'versions', '.', '..'];
/** Health check protocols executed by this server (all of them: the Mesos kinds are run locally too). */
export const HEALTH_PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_TCP', 'MESOS_HTTP', 'MESOS_HTTPS'] as const;

/** A tiny subset of RAML, enough to reproduce Play's error codes for app bodies. */
type Schema =
  | { t: 'string'; pattern?: RegExp; minLength?: number; maxLength?: number; enum?: readonly string[] }
  | { t: 'number'; min?: number; max?: number; int?: boolean }
  | { t: 'boolean' }
  | { t: 'array'; items: Schema }
  | { t: 'object'; props?: Record<string, Schema>; required?: readonly string[]; values?: Schema }
  | { t: 'union'; of: Schema[] }
  | { t: 'any' };

const str = (extra: Omit<Extract<Schema, { t: 'string' }>, 't'> = {}): Schema => ({ t: 'string', ...extra });
const int = (min?: number, max?: number): Schema => ({ t: 'number', int: true, min, max });
const num = (min?: number, max?: number): Schema => ({ t: 'number', min, max });
const bool: Schema = { t: 'boolean' };
const arr = (items: Schema): Schema => ({ t: 'array', items });
const obj = (props: Record<string, Schema>, required: readonly string[] = []): Schema => ({ t: 'object', props, required });
const map = (values: Schema): Schema => ({ t: 'object', values });
const anyPort = int(0, 65535);
const labels = map(str());
const protocol = str({ enum: ['tcp', 'udp', 'udp,tcp'] });
/*
 * Local extension: Marathon declares the health-check timing fields as integers; fractional seconds are
 * accepted here so that test apps can check every 0.2 s (documented in docs/local-marathon.md).
 */
const seconds = num(0);

const portMapping = obj({
  containerPort: anyPort,
  hostPort: anyPort,
  labels,
  name: str({ pattern: LEGACY_NAME, minLength: 1 }),
  protocol,
  servicePort: anyPort,
  networkNames: arr(str({ pattern: LEGACY_NAME })),
});

const healthCheck = obj({
  command: obj({ value: str() }, ['value']),
  gracePeriodSeconds: seconds,
  ignoreHttp1xx: bool,
  intervalSeconds: seconds,
  maxConsecutiveFailures: int(0),
  path: str(),
  port: anyPort,
  portIndex: anyPort,
  protocol: str({ enum: HEALTH_PROTOCOLS }),
  ipProtocol: str({ enum: ['IPv4', 'IPv6'] }),
  timeoutSeconds: seconds,
  delaySeconds: seconds,
});

const appProps: Record<string, Schema> = {
  id: str({ pattern: PATH_ID, minLength: 1 }),
  acceptedResourceRoles: arr(str()),
  args: arr(str()),
  backoffFactor: num(1),
  backoffSeconds: int(0),
  cmd: str({ minLength: 1 }),
  constraints: arr(arr(str())),
  container: obj({
    type: str({ enum: ['MESOS', 'DOCKER'] }),
    docker: obj(
      {
        credential: obj({ principal: str(), secret: str() }, ['principal']),
        pullConfig: obj({ secret: str({ minLength: 1 }) }, ['secret']),
        forcePullImage: bool,
        image: str({ minLength: 1 }),
        network: str({ enum: ['BRIDGE', 'HOST', 'NONE', 'USER'] }),
        parameters: arr(obj({ key: str({ minLength: 1 }), value: str() }, ['key', 'value'])),
        portMappings: arr(portMapping),
        privileged: bool,
      },
      ['image'],
    ),
    volumes: arr({ t: 'any' }),
    portMappings: arr(portMapping),
  }),
  cpus: num(0.001),
  dependencies: arr(str({ pattern: PATH_ID })),
  disk: num(0),
  env: map({ t: 'union', of: [str(), obj({ secret: str() }, ['secret'])] }),
  executor: str({ pattern: /^(\/\/cmd)|(\/?[^/]+(\/[^/]+)*)|$/ }),
  executorResources: obj({ cpus: num(0), mem: num(0), disk: num(0) }),
  fetch: arr(obj({ uri: str({ minLength: 1, maxLength: 1024 }), extract: bool, executable: bool, cache: bool, destPath: str() }, ['uri'])),
  healthChecks: arr(healthCheck),
  check: { t: 'any' },
  instances: int(0),
  labels,
  maxLaunchDelaySeconds: int(0),
  mem: num(0),
  gpus: int(0),
  ipAddress: obj({
    discovery: obj({ ports: arr(obj({ number: anyPort, name: str({ pattern: LEGACY_NAME }), protocol, labels }, ['name'])) }),
    groups: arr(str()),
    labels,
    networkName: str({ minLength: 1 }),
  }),
  networks: arr(
    obj({
      name: str({ pattern: NETWORK_NAME, minLength: 1, maxLength: 63 }),
      mode: str({ enum: ['container', 'container/bridge', 'host'] }),
      labels,
    }),
  ),
  ports: arr(anyPort),
  portDefinitions: arr(obj({ port: anyPort, labels, name: str({ pattern: LEGACY_NAME, minLength: 1 }), protocol })),
  readinessChecks: arr(
    obj({
      name: str(),
      protocol: str({ enum: ['HTTP', 'HTTPS'] }),
      path: str(),
      portName: str(),
      intervalSeconds: seconds,
      timeoutSeconds: seconds,
      httpStatusCodesForReady: arr(int(100, 999)),
      preserveLastResponse: bool,
    }),
  ),
  residency: { t: 'any' },
  resourceLimits: { t: 'any' },
  requirePorts: bool,
  secrets: map(obj({ source: str({ minLength: 1 }) }, ['source'])),
  taskKillGracePeriodSeconds: int(0),
  upgradeStrategy: obj({ maximumOverCapacity: num(0, 1), minimumHealthCapacity: num(0, 1) }, [
    'maximumOverCapacity',
    'minimumHealthCapacity',
  ]),
  uris: arr(str({ minLength: 1, maxLength: 1024 })),
  user: str(),
  version: str(),
  versionInfo: { t: 'any' },
  killSelection: str({ enum: ['YOUNGEST_FIRST', 'OLDEST_FIRST'] }),
  unreachableStrategy: {
    t: 'union',
    of: [str({ enum: ['disabled'] }), obj({ inactiveAfterSeconds: int(0), expungeAfterSeconds: int(0) })],
  },
  tty: bool,
  role: str({ minLength: 1 }),
};

/** Walks `value` against `schema` and collects Play JsPath errors (`/a/b(0)/c`). */
function check(value: Json, schema: Schema, path: string, out: Violation[]): void {
  const fail = (code: string): void => {
    out.push({ path: path || '/', errors: [code] });
  };
  switch (schema.t) {
    case 'any':
      return;
    case 'string':
      if (typeof value !== 'string') return fail('error.expected.jsstring');
      if (schema.enum && !schema.enum.includes(value)) return fail('error.unknown.enum.literal');
      if (schema.minLength !== undefined && value.length < schema.minLength) return fail('error.minLength');
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return fail('error.maxLength');
      if (schema.pattern && !schema.pattern.test(value)) return fail('error.pattern');
      return;
    case 'number':
      if (typeof value !== 'number') return fail('error.expected.jsnumber');
      if (schema.int && !Number.isInteger(value)) return fail('error.expected.int');
      if (schema.min !== undefined && value < schema.min) return fail('error.min');
      if (schema.max !== undefined && value > schema.max) return fail('error.max');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') return fail('error.expected.jsboolean');
      return;
    case 'array':
      if (!Array.isArray(value)) return fail('error.expected.jsarray');
      value.forEach((item, i) => check(item, schema.items, `${path}(${i})`, out));
      return;
    case 'object': {
      if (!isObject(value)) return fail('error.expected.jsobject');
      for (const key of schema.required ?? []) {
        if (value[key] === undefined) out.push({ path: `${path}/${key}`, errors: ['error.path.missing'] });
      }
      for (const [key, v] of Object.entries(value)) {
        const sub = schema.props ? schema.props[key] : schema.values;
        // Unknown keys are ignored (§1); `null` for an optional key reads as "absent", as Play's readNullable does.
        if (!sub || (v === null && !(schema.required ?? []).includes(key))) continue;
        check(v, sub, `${path}/${key}`, out);
      }
      return;
    }
    case 'union': {
      let last: Violation[] = [];
      for (const alt of schema.of) {
        last = [];
        check(value, alt, path, last);
        if (last.length === 0) return;
      }
      // Like Marathon's generated union reader, the error reported is the last alternative's (§6 `env`).
      out.push(...last);
      return;
    }
  }
}

/**
 * Type-checks a POST/PUT body. `requireId` is true for a complete App (POST); an AppUpdate has no required keys.
 * Throws 422 `Invalid JSON` with Play paths and codes.
 */
export function checkAppTypes(body: Json, requireId: boolean, pathPrefix = ''): void {
  const out: Violation[] = [];
  check(body, { t: 'object', props: appProps, required: requireId ? ['id'] : [] }, pathPrefix, out);
  if (out.length) throw invalidJson(out);
}

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

/** Options that change validation. */
export interface NormalizeOptions {
  /** `--enable_features`; `secrets` must be in it for apps with secrets. */
  features: readonly string[];
}

const READ_ONLY_KEYS = [
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

  // Old inputs (§6): translate, and refuse mixing them with their replacements.
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
  const ipAddress = isObject(a.ipAddress) ? a.ipAddress : undefined;
  delete a.ipAddress;
  let container = isObject(a.container) ? a.container : undefined;
  const docker = container && isObject(container.docker) ? container.docker : undefined;
  if (docker) {
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
      if (container!.portMappings !== undefined)
        problems.push({ path: '/container', errors: ["'container.docker.portMappings' cannot be combined with 'container.portMappings'"] });
      else container!.portMappings = docker.portMappings;
      delete docker.portMappings;
    }
  }
  if (ipAddress && a.networks === undefined) {
    a.networks = [{ mode: 'container', ...(typeof ipAddress.networkName === 'string' ? { name: ipAddress.networkName } : {}) }];
    const discovery = isObject(ipAddress.discovery) && Array.isArray(ipAddress.discovery.ports) ? ipAddress.discovery.ports : [];
    if (!container) container = a.container = { type: 'MESOS' };
    if (container.portMappings === undefined && discovery.length) {
      container.portMappings = discovery
        .filter(isObject)
        .map((p) => ({ containerPort: p.number ?? 0, name: p.name, protocol: p.protocol ?? 'tcp' }));
    }
  } else if (ipAddress && a.networks !== undefined) {
    problems.push({ path: '/', errors: ["'ipAddress' cannot be combined with 'networks'"] });
  }

  // Networks and ports.
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
  if (mode !== 'host' && !container) container = a.container = { type: 'MESOS' };

  if (container) {
    dropNulls(container);
    const c: JsonObject = { type: typeof container.type === 'string' ? container.type : 'DOCKER' };
    if (docker) {
      const d: JsonObject = {
        forcePullImage: typeof docker.forcePullImage === 'boolean' ? docker.forcePullImage : false,
        image: docker.image,
        parameters: Array.isArray(docker.parameters) ? docker.parameters : [],
        privileged: typeof docker.privileged === 'boolean' ? docker.privileged : false,
      };
      if (docker.pullConfig !== undefined) d.pullConfig = docker.pullConfig;
      if (docker.credential !== undefined)
        problems.push({ path: '/container/docker/credential', errors: ['must be empty: docker.credential was removed, use pullConfig'] });
      if (docker.pullConfig !== undefined && c.type === 'DOCKER')
        problems.push({
          path: '/container/docker/pullConfig',
          errors: ['pullConfig is supported only with the Mesos containerizer (container.type MESOS)'],
        });
      c.docker = d;
    }
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
  if (mode === 'host') {
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
  } else {
    if (Array.isArray(a.portDefinitions) && a.portDefinitions.length)
      problems.push({ path: '/portDefinitions', errors: ['portDefinitions are only allowed with host-networking'] });
    delete a.portDefinitions;
  }

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
  const us = isObject(a.upgradeStrategy) ? a.upgradeStrategy : { minimumHealthCapacity: 1, maximumOverCapacity: 1 };
  const unreachable = isObject(a.unreachableStrategy)
    ? {
        inactiveAfterSeconds: a.unreachableStrategy.inactiveAfterSeconds ?? 0,
        expungeAfterSeconds: a.unreachableStrategy.expungeAfterSeconds ?? 0,
      }
    : (a.unreachableStrategy ?? { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 });

  // Output order: the id first, then the fields in the order Marathon's writer uses (roughly alphabetical).
  const out: JsonObject = { id };
  const put = (k: string, v: Json | undefined) => {
    if (v === undefined) return;
    if (OMIT_EMPTY.includes(k) && ((Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0))) return;
    out[k] = v;
  };
  put('acceptedResourceRoles', a.acceptedResourceRoles);
  put('args', a.args);
  put('backoffFactor', a.backoffFactor ?? 1.15);
  put('backoffSeconds', a.backoffSeconds ?? 1);
  put('cmd', a.cmd);
  put('constraints', a.constraints);
  put('container', a.container);
  put('cpus', a.cpus ?? 1);
  put('dependencies', a.dependencies);
  put('disk', a.disk ?? 0);
  put('env', a.env);
  put('executor', a.executor ?? '');
  put('executorResources', a.executorResources);
  put('fetch', a.fetch);
  put('healthChecks', a.healthChecks);
  put('check', a.check);
  put('instances', a.instances ?? 1);
  put('labels', a.labels ?? {});
  put('maxLaunchDelaySeconds', a.maxLaunchDelaySeconds ?? 300);
  put('mem', a.mem ?? 128);
  put('gpus', a.gpus ?? 0);
  put('networks', a.networks);
  put('portDefinitions', a.portDefinitions);
  put('readinessChecks', a.readinessChecks);
  put('residency', a.residency);
  put('resourceLimits', a.resourceLimits);
  put('requirePorts', a.requirePorts ?? false);
  put('secrets', a.secrets);
  put('taskKillGracePeriodSeconds', a.taskKillGracePeriodSeconds);
  put('upgradeStrategy', { minimumHealthCapacity: us.minimumHealthCapacity ?? 1, maximumOverCapacity: us.maximumOverCapacity ?? 1 });
  put('user', a.user);
  put('killSelection', a.killSelection ?? 'YOUNGEST_FIRST');
  put('unreachableStrategy', unreachable);
  put('tty', a.tty);
  put('role', a.role ?? '*');

  problems.push(...semanticProblems(out, options));
  if (problems.length) throw objectNotValid(problems);
  return out;
}

/** Number of ports a task of this definition gets (port definitions or port mappings). */
export function portCount(def: JsonObject): number {
  if (Array.isArray(def.portDefinitions)) return def.portDefinitions.length;
  const c = isObject(def.container) ? def.container : undefined;
  return c && Array.isArray(c.portMappings) ? c.portMappings.length : 0;
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
