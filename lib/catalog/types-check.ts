/**
 * The types of a service file's values, checked at run time: the compiler checks them only where the file is compiled
 * with the project (a service file built by esbuild, or written as `mem: '256' as never`, is not type-checked), and a
 * string where a number belongs would otherwise reach Marathon (which answers 422) or be coerced (`'256' > 0`).
 * validateService (lib/catalog/validate.ts) runs these first; the value rules assume the types hold.
 */

type Add = (field: string, value: unknown, message: string) => void;
type Kind = 'number' | 'string' | 'boolean';

/** Optional top-level fields and their type (required ones are checked by their own rules). */
const SCALARS: readonly (readonly [string, Kind, string])[] = [
  ['cpus', 'number', '0.25'],
  ['mem', 'number', '256'],
  ['disk', 'number', '0'],
  ['approvalTtlHours', 'number', '24'],
  ['description', 'string', "'what it does'"],
  ['defaultBranch', 'string', "'main'"],
  ['cmd', 'string', "'node server.js'"],
  ['existingRepo', 'boolean', 'true'],
  ['allowFewerInProduction', 'boolean', 'true'],
  ['fourEyes', 'boolean', 'true'],
];
const TIMINGS = ['gracePeriodSeconds', 'intervalSeconds', 'timeoutSeconds', 'maxConsecutiveFailures', 'portIndex'];

/** How to write `value` as a `kind`, for the message: `write mem: 256`. */
function fix(field: string, value: unknown, kind: Kind, example: string): string {
  const last = field.slice(field.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
  if (kind === 'number' && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return `write ${last}: ${Number(value)} (no quotes)`;
  }
  if (kind === 'boolean' && (value === 'true' || value === 'false')) return `write ${last}: ${value} (no quotes)`;
  return `e.g. ${last}: ${example}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Reports `value` at `field` unless it is a `kind` (or undefined, when `optional`). @returns whether it is fine */
function expect(add: Add, field: string, value: unknown, kind: Kind, example: string, optional = true): boolean {
  if (value === undefined && optional) return true;
  const ok = kind === 'number' ? typeof value === 'number' && !Number.isNaN(value) : typeof value === kind;
  if (!ok) add(field, value, `must be a ${kind}, not ${describe(value)}; ${fix(field, value, kind, example)}`);
  return ok;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reports every value of `def` whose type is not the one ServiceDefinition declares. */
export function checkServiceTypes(def: Record<string, unknown>, add: Add): void {
  for (const [field, kind, example] of SCALARS) expect(add, field, def[field], kind, example);
  checkPerEnvironment(add, 'instances', def.instances, 'number', '2');
  checkPerEnvironment(add, 'virtualHost', def.virtualHost, 'string', "'shop.example.com'", true);
  for (const key of ['env', 'secrets', 'labels'] as const) {
    if (def[key] !== undefined && !isRecord(def[key]))
      add(key, def[key], `must be an object of names to strings, e.g. { LOG_LEVEL: 'info' }`);
  }
  for (const key of ['paths', 'approvers', 'constraints'] as const) {
    if (def[key] !== undefined && !Array.isArray(def[key]))
      add(key, def[key], `must be a list, e.g. [${key === 'approvers' ? "'user:ana@example.com'" : "'src/**'"}]`);
  }
  if (Array.isArray(def.paths)) def.paths.forEach((p, i) => expect(add, `paths[${i}]`, p, 'string', "'src/**'", false));
  if (Array.isArray(def.ports)) {
    def.ports.forEach((p: unknown, i) => {
      if (!isRecord(p)) return add(`ports[${i}]`, p, "must be an object, e.g. { name: 'http', containerPort: 8080 }");
      expect(add, `ports[${i}].name`, p.name, 'string', "'http'", false);
      expect(add, `ports[${i}].containerPort`, p.containerPort, 'number', '8080');
      expect(add, `ports[${i}].servicePort`, p.servicePort, 'number', '0');
      if (p.protocol !== undefined && p.protocol !== 'tcp' && p.protocol !== 'udp')
        add(`ports[${i}].protocol`, p.protocol, "must be 'tcp' or 'udp'");
    });
  }
  if (def.healthCheck !== undefined && def.healthCheck !== false) {
    if (!isRecord(def.healthCheck))
      add('healthCheck', def.healthCheck, "must be a health check or false, e.g. HealthCheck.http('/health')");
    else for (const key of TIMINGS) expect(add, `healthCheck.${key}`, def.healthCheck[key], 'number', key === 'portIndex' ? '0' : '5');
  }
  if (def.upgradeStrategy !== undefined) {
    if (!isRecord(def.upgradeStrategy))
      add('upgradeStrategy', def.upgradeStrategy, 'must be { minimumHealthCapacity, maximumOverCapacity }');
    else {
      expect(add, 'upgradeStrategy.minimumHealthCapacity', def.upgradeStrategy.minimumHealthCapacity, 'number', '1', false);
      expect(add, 'upgradeStrategy.maximumOverCapacity', def.upgradeStrategy.maximumOverCapacity, 'number', '1', false);
    }
  }
  if (def.package !== undefined && !isRecord(def.package)) add('package', def.package, "must be an object, e.g. { kind: 'image' }");
}

/** A value that is one `kind`, or one per environment: `{ staging, production }`. */
function checkPerEnvironment(add: Add, field: string, value: unknown, kind: Kind, example: string, optional = false): void {
  if (value === undefined && optional) return;
  if (isRecord(value)) {
    expect(add, `${field}.staging`, value.staging, kind, example, false);
    expect(add, `${field}.production`, value.production, kind, example, false);
    return;
  }
  if (typeof value !== kind || (kind === 'number' && Number.isNaN(value))) {
    add(field, value, `must be a ${kind} or { staging, production }, not ${describe(value)}; ${fix(field, value, kind, example)}`);
  }
}
