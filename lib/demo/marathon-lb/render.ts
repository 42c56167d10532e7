// Part of the marathon-lb stand-in (not product): see README.md in this folder.
import { createHash } from 'node:crypto';

/** The parts of an app of `GET /v2/apps?embed=apps.tasks` that marathon-lb reads for the labels used here. */
export interface RawApp {
  id: string;
  instances: number;
  labels?: Record<string, string>;
  healthChecks?: { protocol?: string; path?: string; intervalSeconds?: number; timeoutSeconds?: number; maxConsecutiveFailures?: number }[];
  tasks?: RawTask[];
  versionInfo?: { lastScalingAt?: string };
  container?: { portMappings?: { servicePort?: number }[]; docker?: { portMappings?: { servicePort?: number }[] } };
  portDefinitions?: { port?: number }[];
  networks?: { mode?: string }[];
}

export interface RawTask {
  id: string;
  host?: string;
  ports?: number[];
  state?: string;
  healthCheckResults?: { alive?: boolean }[];
  draining?: boolean;
}

/** Where the rendered HAProxy listens (all on 127.0.0.1). */
export interface RenderOptions {
  /** marathon-lb's `listen stats` (9090 in marathon-lb): `/haproxy?stats`, `;csv`. */
  readonly statsPort: number;
  /** marathon-lb's `frontend marathon_http_in` (80 in marathon-lb): virtual hosts. */
  readonly httpPort: number;
  /** `stats socket` path (marathon-lb: /var/run/haproxy/socket), also used for seamless reloads (`-x`). */
  readonly socket: string;
  /** Where the servers' state is saved before a reload and read after it (marathon-lb: /var/state/haproxy/global). */
  readonly stateFile: string;
  /** marathon-lb's `--group`. @default 'external' */
  readonly group?: string;
}

const EXCLUDED = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_GONE',
  'TASK_DROPPED',
  'TASK_KILLING',
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_UNREACHABLE',
  'TASK_UNKNOWN',
  'TASK_GONE_BY_OPERATOR',
]);

const alive = (t: RawTask) => (t.healthCheckResults ?? []).some((r) => r.alive === true);
const time = (s: string | undefined) => (s ? Date.parse(s) : -Infinity);

/**
 * The first pass of marathon-lb's `get_apps`: apps with the same `HAPROXY_DEPLOYMENT_GROUP` become one app named
 * after the group, with the older app's labels and ports (older by `HAPROXY_DEPLOYMENT_STARTED_AT`; when the newer
 * carries `HAPROXY_DEPLOYMENT_NEW_INSTANCES`, the one scaled last counts as newer), and as many of the older app's
 * tasks (sorted by id) marked draining as `min(old tasks, healthy new tasks, healthy new + old instances - target)`.
 */
export function mergeDeploymentGroups(apps: readonly RawApp[]): RawApp[] {
  const out: RawApp[] = [];
  const groups = new Map<string, RawApp>();
  for (const original of apps) {
    const app: RawApp = { ...original, labels: { ...(original.labels ?? {}) }, tasks: (original.tasks ?? []).map((t) => ({ ...t })) };
    const g = app.labels!.HAPROXY_DEPLOYMENT_GROUP;
    if (g === undefined) {
      out.push(app);
      continue;
    }
    const name = g.startsWith('/') ? g : `/${g}`;
    app.id = name;
    const prev = groups.get(name);
    if (!prev) {
      groups.set(name, app);
      continue;
    }
    let [old, neu] =
      time(prev.labels!.HAPROXY_DEPLOYMENT_STARTED_AT) < time(app.labels!.HAPROXY_DEPLOYMENT_STARTED_AT) ? [prev, app] : [app, prev];
    let target = 1;
    if (neu.labels!.HAPROXY_DEPLOYMENT_NEW_INSTANCES !== undefined) {
      // marathon-lb's test is `int(label != 0)`, true for any string: the label's presence is what counts.
      if (time(old.versionInfo?.lastScalingAt) > time(neu.versionInfo?.lastScalingAt)) [old, neu] = [neu, old];
      target = Number(neu.labels!.HAPROXY_DEPLOYMENT_TARGET_INSTANCES);
    }
    const oldTasks = [...(old.tasks ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const hasChecks = (app.healthChecks ?? []).length > 0;
    const healthyNew = hasChecks ? (neu.tasks ?? []).filter(alive).length : neu.instances;
    const drainable = Math.max(0, healthyNew + old.instances - target);
    for (let i = 0; i < Math.min(oldTasks.length, healthyNew, drainable); i++) oldTasks[i].draining = true;
    groups.set(name, { ...old, tasks: [...oldTasks, ...(neu.tasks ?? [])] });
  }
  return [...out, ...groups.values()];
}

function servicePorts(app: RawApp): number[] {
  const mode = app.networks?.[0]?.mode;
  if (mode === 'container' || mode === 'container/bridge') {
    const pm = app.container?.docker?.portMappings?.length ? app.container.docker.portMappings : (app.container?.portMappings ?? []);
    const ports = pm.map((p) => p.servicePort).filter((p): p is number => p !== undefined);
    if (ports.length > 0) return ports;
  }
  return (app.portDefinitions ?? []).map((p) => p.port).filter((p): p is number => p !== undefined);
}

function serverId(name: string, taken: Set<number>): number {
  let n = name;
  for (;;) {
    const sha = createHash('sha256').update(n).digest('hex');
    const id = Number(BigInt(`0x${sha}`) % 32767n);
    if (id !== 0 && !taken.has(id)) {
      taken.add(id);
      return id;
    }
    n = `${n} ${sha}`;
  }
}

const ms = (seconds: number | undefined, dflt: number) => `${Math.max(1, Math.round((seconds ?? dflt) * 1000))}ms`;

/**
 * HAProxy's configuration for Marathon's apps, as marathon-lb's default templates write it for the labels used here
 * (`HAPROXY_GROUP`, `HAPROXY_0_VHOST`, `HAPROXY_0_PORT`, the deployment group labels): per service port a frontend
 * on the port and a backend `<app id>_<port>`, a virtual-host ACL in the HTTP frontend, HTTP checks from the app's
 * first HTTP health check, servers `<ip>_<port>` with stable ids, `disabled` while draining. Only running tasks whose
 * health checks pass are servers.
 */
export function renderHaproxyConfig(apps: readonly RawApp[], o: RenderOptions): string {
  const head = [
    'global',
    '  maxconn 2000',
    `  stats socket ${o.socket} mode 600 level admin expose-fd listeners`,
    `  server-state-file ${o.stateFile}`,
    'defaults',
    '  load-server-state-from-file global',
    '  retries                   3',
    '  maxconn               1000',
    '  timeout connect          3s',
    '  timeout client          30s',
    '  timeout server          30s',
    '  timeout http-keep-alive  1s',
    '  timeout http-request    15s',
    '  timeout queue           30s',
    '  option            dontlognull',
    '  option            http-server-close',
    '  option            redispatch',
    'listen stats',
    `  bind 127.0.0.1:${o.statsPort}`,
    '  balance',
    '  mode http',
    '  stats enable',
    '  monitor-uri /_haproxy_health_check',
    '',
    'frontend marathon_http_in',
    `  bind 127.0.0.1:${o.httpPort}`,
    '  mode http',
  ];
  const acls: string[] = [];
  const frontends: string[] = [];
  const backends: string[] = [];
  const taken = new Set<number>();
  const merged = mergeDeploymentGroups(apps).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const app of merged) {
    const labels = app.labels ?? {};
    if (!(labels.HAPROXY_GROUP ?? '').split(',').includes(o.group ?? 'external')) continue;
    const ports = servicePorts(app);
    const port = Number(labels.HAPROXY_0_PORT ?? ports[0]);
    if (!port) continue;
    const hc = (app.healthChecks ?? [])[0];
    const httpCheck = hc !== undefined && ['HTTP', 'HTTPS', 'MESOS_HTTP', 'MESOS_HTTPS'].includes(hc.protocol ?? 'HTTP');
    const tasks = (app.tasks ?? []).filter(
      (t) => t.host && !EXCLUDED.has(t.state ?? '') && (t.ports ?? []).length > 0 && (!hc || alive(t)),
    );
    if (tasks.length === 0) continue;
    const backend = `${app.id.slice(1).replace(/\//g, '_')}_${port}`;
    const mode = labels.HAPROXY_0_VHOST || httpCheck ? 'http' : 'tcp';
    frontends.push('', `frontend ${backend}`, `  bind 127.0.0.1:${port}`, `  mode ${mode}`, `  use_backend ${backend}`);
    const vhost = labels.HAPROXY_0_VHOST?.toLowerCase();
    if (vhost) {
      const clean = vhost.replace(/[^a-z0-9]/g, '_');
      acls.push(`  acl host_${clean} hdr(host) -i ${vhost}`, `  use_backend ${backend} if host_${clean}`);
    }
    backends.push('', `backend ${backend}`, '  balance roundrobin', `  mode ${mode}`);
    if (mode === 'http') backends.push('  option forwardfor', '  http-request set-header X-Forwarded-Port %[dst_port]');
    if (httpCheck) backends.push(`  option  httpchk GET ${hc.path ?? '/'}`, `  timeout check ${ms(hc.timeoutSeconds, 20)}`);
    for (const t of tasks) {
      const name = `${t.host}_${t.ports![0]}`.replace(/[^a-zA-Z0-9-]/g, '_');
      const check = hc ? ` check inter ${ms(hc.intervalSeconds, 60)} fall ${(hc.maxConsecutiveFailures ?? 3) + 1}` : '';
      backends.push(`  server ${name} ${t.host}:${t.ports![0]} id ${serverId(name, taken)}${check}${t.draining ? ' disabled' : ''}`);
    }
  }
  return [...head, ...acls, ...frontends, ...backends, ''].join('\n');
}
