import { C2CError } from '../../errors';

/**
 * One row of HAProxy's stats CSV (`/haproxy?stats;csv`, HAProxy's management guide §9.1): a frontend, a backend or
 * one server of a backend. Only the columns a rollout reads are typed; `row` holds every column by its heading.
 */
export interface StatsRow {
  /** Proxy (frontend/backend) name; marathon-lb names a deployment group's backend `<group>_<HAPROXY_0_PORT>`. */
  readonly pxname: string;
  /** `FRONTEND`, `BACKEND` or the server's name (marathon-lb: `<host>_<port>`, `<host>_<ip>_<port>`). */
  readonly svname: string;
  /** `UP`, `DOWN`, `MAINT` (disabled: marathon-lb's draining), `DRAIN`, `no check`, ... */
  readonly status: string;
  /** Queued requests. */
  readonly qcur: number;
  /** Current sessions. */
  readonly scur: number;
  /** HTTP responses by class since HAProxy started (HTTP mode only). */
  readonly hrsp: { readonly '1xx': number; readonly '2xx': number; readonly '3xx': number; readonly '4xx': number; readonly '5xx': number };
  /** Connection errors and responses aborted by the server. */
  readonly eresp: number;
  readonly econ: number;
  readonly row: Readonly<Record<string, string>>;
}

/**
 * Parses the stats CSV the way `zdd.py` `parse_haproxy_stats` does: the first line is `# ` and the headings, every
 * other line starting with `#` is skipped, the trailing empty column is dropped. Several HAProxy instances' CSVs may
 * be concatenated (zdd.py joins them): a repeated heading line is skipped.
 * @throws C2CError HAPROXY_STATS when the text is not a stats CSV.
 */
export function parseHaproxyStats(csv: string): StatsRow[] {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0 || !lines[0].startsWith('# ')) {
    throw new C2CError('HAPROXY_STATS', "HAProxy's stats are not a stats CSV (no '# pxname,...' heading)", {
      hint: "point it at marathon-lb's stats page, e.g. http://marathon-lb:9090 (it reads /haproxy?stats;csv)",
    });
  }
  const headings = lines[0].replace(/^# /, '').replace(/,$/, '').split(',');
  const n = (r: Record<string, string>, k: string) => Number(r[k] || 0) || 0;
  return lines
    .filter((l) => !l.startsWith('#'))
    .map((line) => {
      const cells = line.split(',');
      const row: Record<string, string> = {};
      headings.forEach((h, i) => (row[h] = cells[i] ?? ''));
      return {
        pxname: row.pxname,
        svname: row.svname,
        status: row.status,
        qcur: n(row, 'qcur'),
        scur: n(row, 'scur'),
        hrsp: {
          '1xx': n(row, 'hrsp_1xx'),
          '2xx': n(row, 'hrsp_2xx'),
          '3xx': n(row, 'hrsp_3xx'),
          '4xx': n(row, 'hrsp_4xx'),
          '5xx': n(row, 'hrsp_5xx'),
        },
        eresp: n(row, 'eresp'),
        econ: n(row, 'econ'),
        row,
      };
    });
}

/** The backend marathon-lb renders for a deployment group (`zdd.py` `get_deployment_label`). */
export function groupBackend(group: string, publicPort: number): string {
  return `${group}_${publicPort}`;
}

/** The server name marathon-lb gives a task's port (`marathon_lb.py` `config`; `zdd.py` `get_svnames_from_task`). */
export function serverName(host: string, ip: string, port: number): string {
  const raw = host === ip ? `${ip}_${port}` : `${host}_${ip}_${port}`;
  return raw.replace(/[^a-zA-Z0-9-]/g, '_');
}

/** The server rows of one backend (zdd.py `_if_app_listener`). */
export function backendServers(rows: readonly StatsRow[], backend: string): StatsRow[] {
  return rows.filter((r) => r.pxname === backend && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND');
}

/** Draining: marathon-lb marks the older colour's tasks `disabled`, which HAProxy shows as `MAINT`. */
export function isDraining(row: StatsRow): boolean {
  return row.status === 'MAINT';
}

/** Drained: draining with no queued request and no open session (zdd.py `select_drained_listeners`). */
export function isDrained(row: StatsRow): boolean {
  return isDraining(row) && row.qcur === 0 && row.scur === 0;
}

/** Serving: marathon-lb sends it traffic (`UP`, or `no check` when HAProxy runs no check of its own). */
export function isServing(row: StatsRow): boolean {
  return row.status === 'UP' || row.status === 'no check' || row.status.startsWith('UP ');
}

/** Responses counted for a set of servers. */
export interface ResponseCounts {
  readonly total: number;
  readonly errors: number;
}

/** The responses HAProxy counted for the given servers: all classes, and 5xx plus server-side errors. */
export function responseCounts(rows: readonly StatsRow[], svnames: ReadonlySet<string>): ResponseCounts {
  let total = 0;
  let errors = 0;
  for (const r of rows) {
    if (!svnames.has(r.svname)) continue;
    total += r.hrsp['1xx'] + r.hrsp['2xx'] + r.hrsp['3xx'] + r.hrsp['4xx'] + r.hrsp['5xx'];
    errors += r.hrsp['5xx'] + r.eresp + r.econ;
  }
  return { total, errors };
}

/**
 * What happened between two readings. Counters start again from zero when HAProxy reloads (a new process): a
 * reading lower than the baseline counts from zero.
 */
export function countsSince(before: ResponseCounts, now: ResponseCounts): ResponseCounts {
  if (now.total < before.total || now.errors < before.errors) return now;
  return { total: now.total - before.total, errors: now.errors - before.errors };
}
