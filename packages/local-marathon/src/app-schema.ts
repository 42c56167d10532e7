/**
 * Play-style type checks of app bodies (422 `Invalid JSON` with Play JsPaths and error codes), SEMANTICS.md §4.
 * Written from the RAML types in reference/marathon-api/raml/v2/types, not from any client code.
 */
import { Json, Violation, invalidJson, isObject } from './json';

/** The PathId pattern of `stringTypes.raml`. */
export const PATH_ID = /^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))?($|\/))+$/;
const LEGACY_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NETWORK_NAME = /^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/;
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
 * accepted here so that test apps can check every 0.2 s (documented in the package README).
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
