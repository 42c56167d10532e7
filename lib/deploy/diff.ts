import diff from 'microdiff';
import { MarathonAppDefinition, READ_ONLY_FIELDS, STAMP_LABEL_KEYS } from '../marathon/app';
import { stripNulls } from '../marathon/client';

/** One changed field between what runs and what a definition will submit. */
export interface FieldChange {
  /** Dotted path with [i] for array items, e.g. `container.docker.image` or `env.LOG_LEVEL`. */
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly from?: unknown;
  readonly to?: unknown;
}

/** What a definition does not control: Marathon's read-only fields, and the id (the app's address, not its content). */
const READ_ONLY = new Set(['id', ...READ_ONLY_FIELDS]);

type Json = unknown;
type DefaultRule = (value: Json) => boolean;

const eq =
  (expected: Json): DefaultRule =>
  (value) =>
    JSON.stringify(value) === JSON.stringify(expected);
const empty: DefaultRule = (v) =>
  (Array.isArray(v) && v.length === 0) || (!!v && typeof v === 'object' && Object.keys(v).length === 0) || v === '';
const anyOf =
  (...rules: DefaultRule[]): DefaultRule =>
  (v) =>
    rules.some((r) => r(v));
const anything: DefaultRule = () => true;

/**
 * Values Marathon fills in when a definition leaves a field out (§6 defaults table, §12 health-check defaults), by
 * path (`*` = any array index). A live field the rendered definition does not set is ignored when it holds one of these;
 * any other value is a real difference (a `partialUpdate=false` PUT resets it). `role` is Marathon's `--mesos_role`.
 */
const DEFAULTS: Record<string, DefaultRule> = {
  instances: eq(1),
  cpus: eq(1),
  mem: eq(128),
  disk: eq(0),
  gpus: eq(0),
  backoffSeconds: eq(1),
  backoffFactor: eq(1.15),
  maxLaunchDelaySeconds: anyOf(eq(300), eq(3600)),
  killSelection: eq('YOUNGEST_FIRST'),
  // 0/0 today; Marathon 1.4-1.6 used 300/600 as the default.
  unreachableStrategy: anyOf(
    eq({ inactiveAfterSeconds: 0, expungeAfterSeconds: 0 }),
    eq({ inactiveAfterSeconds: 300, expungeAfterSeconds: 600 }),
  ),
  requirePorts: eq(false),
  executor: eq(''),
  role: anything,
  networks: eq([{ mode: 'host' }]),
  upgradeStrategy: eq({ minimumHealthCapacity: 1, maximumOverCapacity: 1 }),
  args: empty,
  constraints: empty,
  dependencies: empty,
  env: empty,
  fetch: empty,
  uris: empty,
  healthChecks: empty,
  readinessChecks: empty,
  secrets: empty,
  labels: empty,
  acceptedResourceRoles: empty,
  storeUrls: empty,
  ports: empty,
  portDefinitions: empty,
  residency: empty,
  tty: eq(false),
  'container.volumes': empty,
  'container.docker.parameters': empty,
  'container.docker.privileged': eq(false),
  'container.docker.forcePullImage': eq(false),
  'container.portMappings.*.labels': empty,
  'container.portMappings.*.protocol': eq('tcp'),
  'container.portMappings.*.hostPort': eq(0),
  'container.portMappings.*.servicePort': anything,
  'container.portMappings.*.networkNames': empty,
  'portDefinitions.*.labels': empty,
  'portDefinitions.*.protocol': eq('tcp'),
  'fetch.*.extract': eq(true),
  'fetch.*.executable': eq(false),
  'fetch.*.cache': eq(false),
  'healthChecks.*.delaySeconds': eq(15),
  'healthChecks.*.ipProtocol': eq('IPv4'),
  'healthChecks.*.ignoreHttp1xx': eq(false),
  'healthChecks.*.gracePeriodSeconds': eq(300),
  'healthChecks.*.intervalSeconds': eq(60),
  'healthChecks.*.timeoutSeconds': eq(20),
  'healthChecks.*.maxConsecutiveFailures': eq(3),
  'healthChecks.*.path': eq('/'),
  'healthChecks.*.portIndex': eq(0),
};

function isObject(v: Json): v is Record<string, Json> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The live app projected onto what the desired definition controls: read-only fields and Marathon-filled defaults that
 * the definition does not set are dropped, `null`s (old Marathon) removed, and an assigned service port kept only
 * when the definition names a fixed one (a rendered `servicePort: 0`, or `port: 0` in `portDefinitions`, matches any
 * assigned port, §6).
 */
export function normalizeLive(live: Readonly<Record<string, Json>>, desired: MarathonAppDefinition): Record<string, Json> {
  const clean = stripNulls(live) as Record<string, Json>;
  const out = Object.create(null) as Record<string, Json>;
  for (const [k, v] of Object.entries(clean)) if (!READ_ONLY.has(k)) out[k] = v;
  return project(out, desired as unknown as Record<string, Json>, '') as Record<string, Json>;
}

function project(live: Json, desired: Json, path: string): Json {
  if (Array.isArray(live) && Array.isArray(desired)) {
    return live.map((item, i) => project(item, desired[i], path === '' ? '*' : `${path}.*`));
  }
  if (!isObject(live)) return live;
  const want = isObject(desired) ? desired : undefined;
  // No prototype: a live key named `__proto__` or `constructor` is a key like any other.
  const out = Object.create(null) as Record<string, Json>;
  for (const [k, v] of Object.entries(live)) {
    const p = path === '' ? k : `${path}.${k}`;
    if (want && Object.hasOwn(want, k)) {
      // Host networking (artifacts) names the service port `port` in portDefinitions; 0 likewise means "assigned".
      if ((p === 'container.portMappings.*.servicePort' || p === 'portDefinitions.*.port') && want[k] === 0) {
        out[k] = 0;
        continue;
      }
      out[k] = project(v, want[k], p);
      continue;
    }
    if (want === undefined && !Array.isArray(desired) && desired !== undefined) {
      out[k] = v;
      continue;
    }
    const rule = Object.hasOwn(DEFAULTS, p) ? DEFAULTS[p] : undefined;
    if (rule && rule(v)) continue;
    out[k] = v;
  }
  return out;
}

/** The definition without the stamp labels (commit, image, deployer, plan id, approver). */
export function withoutStamps<T extends { labels?: Readonly<Record<string, string>> }>(app: T): T {
  if (!app.labels) return app;
  const labels = Object.fromEntries(Object.entries(app.labels).filter(([k]) => !STAMP_LABEL_KEYS.includes(k)));
  return { ...app, labels };
}

/**
 * A deep copy whose objects have no prototype, so that the diff sees own keys only: `env.constructor` or
 * `labels.toString` set on one side is a change, never hidden by `Object.prototype`'s member of that name.
 */
function ownOnly(value: Json): Json {
  if (Array.isArray(value)) return value.map(ownOnly);
  if (!isObject(value)) return value;
  const out = Object.create(null) as Record<string, Json>;
  for (const k of Object.keys(value)) Object.defineProperty(out, k, { value: ownOnly(value[k]), enumerable: true, writable: true });
  return out;
}

function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/**
 * Field-level difference between what runs (`live`, as GET returns it, or null when the app does not exist) and the
 * rendered definition, compared WITHOUT stamp labels so that a change of stamp alone is not a change (no restart).
 * An empty list means: nothing to submit.
 */
export function diffApp(desired: MarathonAppDefinition, live: Readonly<Record<string, Json>> | null): FieldChange[] {
  // The id is in the URL; Marathon ignores it in the body (§3), so it is not a field to compare.
  const wantBody = Object.fromEntries(Object.entries(withoutStamps(desired)).filter(([k]) => k !== 'id')) as Record<string, Json>;
  if (live === null) {
    return Object.entries(wantBody).map(([k, v]) => ({ path: k, kind: 'added' as const, to: v }));
  }
  const have = withoutStamps(normalizeLive(live, desired) as { labels?: Record<string, string> }) as Record<string, Json>;
  return diff(ownOnly(have) as Record<string, Json>, ownOnly(JSON.parse(JSON.stringify(wantBody))) as Record<string, Json>).map((d) => {
    const path = formatPath(d.path);
    if (d.type === 'CREATE') return { path, kind: 'added' as const, to: d.value };
    if (d.type === 'REMOVE') return { path, kind: 'removed' as const, from: d.oldValue };
    return { path, kind: 'changed' as const, from: d.oldValue, to: d.value };
  });
}

/** A nested value as one `[path, leaf]` per leaf (`container.docker.image`, `healthChecks[0].path`); empty {} and [] are leaves. */
function leavesOf(path: string, value: Json): [string, Json][] {
  if (Array.isArray(value) && value.length > 0) return value.flatMap((v, i) => leavesOf(`${path}[${i}]`, v));
  if (isObject(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([k, v]) =>
      leavesOf(/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, v),
    );
  }
  return [[path, value]];
}

const KIND_ORDER: Record<FieldChange['kind'], number> = { changed: 0, added: 1, removed: 2 };

/**
 * The diff as a reviewer reads it: one change per leaf (a whole object added, as in a first deploy, becomes one line
 * per nested value), changed leaves first, then added, then removed, each group in the diff's own order.
 */
export function leafChanges(diff: readonly FieldChange[]): FieldChange[] {
  const out: FieldChange[] = [];
  for (const c of diff) {
    const from = c.kind === 'added' ? [] : leavesOf(c.path, c.from);
    const to = c.kind === 'removed' ? [] : leavesOf(c.path, c.to);
    if (c.kind === 'changed' && from.length === 1 && to.length === 1 && from[0][0] === c.path && to[0][0] === c.path) {
      out.push(c);
      continue;
    }
    const before = new Map(from);
    const after = new Map(to);
    for (const [path, v] of to) {
      if (!before.has(path)) out.push({ path, kind: 'added', to: v });
      else if (JSON.stringify(before.get(path)) !== JSON.stringify(v)) out.push({ path, kind: 'changed', from: before.get(path), to: v });
    }
    for (const [path, v] of from) if (!after.has(path)) out.push({ path, kind: 'removed', from: v });
  }
  return out
    .map((c, i) => ({ c, i }))
    .sort((a, b) => KIND_ORDER[a.c.kind] - KIND_ORDER[b.c.kind] || a.i - b.i)
    .map((x) => x.c);
}

/** One leaf change as a line: `~ path: from -> to`, `+ path: value`, `- path: value`. */
export function formatChange(c: FieldChange): string {
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  if (c.kind === 'added') return `+ ${c.path}: ${show(c.to)}`;
  if (c.kind === 'removed') return `- ${c.path}: ${show(c.from)}`;
  return `~ ${c.path}: ${show(c.from)} -> ${show(c.to)}`;
}

/** The diff as a reviewer reads it (terminal, chat message, page): one line per leaf, changed leaves first. */
export function formatDiff(diff: readonly FieldChange[]): string {
  if (diff.length === 0) return 'no change';
  return leafChanges(diff).map(formatChange).join('\n');
}
