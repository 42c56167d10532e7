import { AuditEvent } from '../audit/log';
import { EnvironmentName } from '../catalog/types';
import { C2CError } from '../errors';

/**
 * The four DORA figures for one service, or for the fleet (`service: '(fleet)'`). Every column counts the same
 * deploys (docs/deploy.md, "What the report counts"):
 * - a **deploy** is an apply that changed what runs: it ended `apply.succeeded`, `apply.rolled-back`, `apply.unknown`,
 *   or `apply.failed` after its change was sent (the record has a deployment id); an `apply.interrupted` whose
 *   deployment has no later record counts once too. A no-op, or a failure before anything was sent, is not a deploy.
 * - a **failure** is a deploy that ended rolled back, failed or unknown, or a succeeded deploy that an emergency
 *   rollback then undid.
 * - a **restore** is the time from a failure to the service healthy again: the automatic rollback's duration; for a
 *   failed or unknown deploy, until the next succeeded deploy or rollback; for an emergency rollback, from the bad
 *   deploy's success to the rollback.
 */
export interface DoraFigures {
  readonly service: string;
  /** Deploys in the window (see above). */
  readonly deploys: number;
  readonly deploysPerDay: number;
  /** Median time from commit to running, over succeeded deploys with a commit time; null without any. */
  readonly leadTimeMs: number | null;
  /** failures / deploys; null without deploys. */
  readonly changeFailureRate: number | null;
  /** Median time to restore; null without failures. */
  readonly timeToRestoreMs: number | null;
  /** Deploys that failed (see above). */
  readonly failures: number;
}

export interface DoraReport {
  readonly environment: EnvironmentName;
  readonly since: string;
  readonly until: string;
  readonly days: number;
  readonly services: readonly DoraFigures[];
  readonly fleet: DoraFigures;
}

/** `30d`, `12h`, `2w` or an ISO date -> the start of the window. */
export function parseSince(text: string, now: Date = new Date()): Date {
  const m = /^(\d+)([hdw])$/.exec(text.trim());
  if (m) {
    const hours = Number(m[1]) * (m[2] === 'h' ? 1 : m[2] === 'd' ? 24 : 168);
    return new Date(now.getTime() - hours * 3600_000);
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) {
    throw new C2CError('USAGE', `--since '${text}' is neither a duration nor a date`, {
      hint: "use e.g. '30d', '12h', '2w' or '2026-11-01'",
    });
  }
  return new Date(t);
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

interface Samples {
  deploys: number;
  failures: number;
  leadTimes: number[];
  restores: number[];
}

const OUTCOMES = new Set(['apply.succeeded', 'apply.rolled-back', 'apply.failed', 'apply.unknown', 'apply.interrupted']);

/** Reads one service's events (time order) into samples, by the definitions on DoraFigures. */
function sampleService(events: readonly AuditEvent[]): Samples {
  const s: Samples = { deploys: 0, failures: 0, leadTimes: [], restores: [] };
  const t = (e: AuditEvent) => Date.parse(e.time);
  const startedAt = new Map<string, number>();
  // The last outcome record of each deployment: an interrupted deploy that was resumed counts once, by how it ended.
  const lastOutcome = new Map<string, AuditEvent>();
  for (const e of events) {
    if (e.type === 'apply.started' && e.deploymentId) startedAt.set(e.deploymentId, t(e));
    if (OUTCOMES.has(e.type) && e.deploymentId) lastOutcome.set(e.deploymentId, e);
  }
  let lastSucceeded: AuditEvent | undefined;
  let openFailure: number | undefined; // when a failure left the service broken, until something restores it
  for (const e of events) {
    if (OUTCOMES.has(e.type) && e.deploymentId && lastOutcome.get(e.deploymentId) !== e) continue;
    switch (e.type) {
      case 'apply.succeeded':
        s.deploys += 1;
        if (e.commitTime) s.leadTimes.push(t(e) - Date.parse(e.commitTime));
        if (openFailure !== undefined) {
          s.restores.push(t(e) - openFailure);
          openFailure = undefined;
        }
        lastSucceeded = e;
        break;
      case 'apply.rolled-back': {
        // Failed and reverted automatically: degraded from its start until the rollback was healthy.
        s.deploys += 1;
        s.failures += 1;
        const start = e.deploymentId ? startedAt.get(e.deploymentId) : undefined;
        s.restores.push(e.durationMs ?? (start !== undefined ? t(e) - start : 0));
        lastSucceeded = undefined;
        break;
      }
      case 'apply.failed':
      case 'apply.unknown':
        // Before anything was sent (no deployment id) nothing changed: not a deploy.
        if (!e.deploymentId) break;
        s.deploys += 1;
        s.failures += 1;
        openFailure ??= t(e);
        lastSucceeded = undefined;
        break;
      case 'apply.interrupted':
        s.deploys += 1;
        break;
      case 'rollback.succeeded':
        if (openFailure !== undefined) {
          s.restores.push(t(e) - openFailure);
          openFailure = undefined;
        } else if (e.emergency && lastSucceeded) {
          // An emergency rollback makes the last deploy a failed change, bad from when it went live.
          s.failures += 1;
          s.restores.push(t(e) - t(lastSucceeded));
        }
        lastSucceeded = undefined;
        break;
      default:
        break;
    }
  }
  return s;
}

function figures(service: string, s: Samples, days: number): DoraFigures {
  return {
    service,
    deploys: s.deploys,
    deploysPerDay: days > 0 ? s.deploys / days : 0,
    leadTimeMs: median(s.leadTimes),
    changeFailureRate: s.deploys > 0 ? Math.min(1, s.failures / s.deploys) : null,
    timeToRestoreMs: median(s.restores),
    failures: s.failures,
  };
}

/** The DORA figures per service and for the fleet, from the audit log, for one environment (production by default). */
export function doraReport(events: readonly AuditEvent[], options: { since: Date; now?: Date; environment?: EnvironmentName }): DoraReport {
  const now = options.now ?? new Date();
  const environment = options.environment ?? 'production';
  const inWindow = events
    .filter((e) => e.environment === environment && Date.parse(e.time) >= options.since.getTime() && Date.parse(e.time) <= now.getTime())
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const days = (now.getTime() - options.since.getTime()) / 86400_000;
  const byService = new Map<string, AuditEvent[]>();
  for (const e of inWindow) byService.set(e.service, [...(byService.get(e.service) ?? []), e]);
  const all: Samples = { deploys: 0, failures: 0, leadTimes: [], restores: [] };
  const services = [...byService.keys()].sort().map((name) => {
    const s = sampleService(byService.get(name) ?? []);
    all.deploys += s.deploys;
    all.failures += s.failures;
    all.leadTimes.push(...s.leadTimes);
    all.restores.push(...s.restores);
    return figures(name, s, days);
  });
  return {
    environment,
    since: options.since.toISOString(),
    until: now.toISOString(),
    days,
    services,
    fleet: figures('(fleet)', all, days),
  };
}

/** `1h 05m`, `3m 20s`, `850 ms`: durations as people read them. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
