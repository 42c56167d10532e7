import { AuditEvent } from '../audit/log';
import { EnvironmentName } from '../catalog/types';
import { C2CError } from '../errors';

/** The four DORA figures for one service, or for the fleet (`service: '(fleet)'`). */
export interface DoraFigures {
  readonly service: string;
  /** Successful deploys in the window. */
  readonly deploys: number;
  readonly deploysPerDay: number;
  /** Median time from commit to running in the environment; null without commit times. */
  readonly leadTimeMs: number | null;
  /** Failed or rolled-back deploys plus emergency rollbacks, over deploy attempts; null without attempts. */
  readonly changeFailureRate: number | null;
  /** Median time from a failure to a healthy service again; null without failures. */
  readonly timeToRestoreMs: number | null;
  readonly attempts: number;
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
  attempts: number;
  failures: number;
  leadTimes: number[];
  restores: number[];
}

/** Reads one service's events (time order) into samples. */
function sampleService(events: readonly AuditEvent[]): Samples {
  const s: Samples = { deploys: 0, attempts: 0, failures: 0, leadTimes: [], restores: [] };
  const t = (e: AuditEvent) => Date.parse(e.time);
  let lastStarted: AuditEvent | undefined;
  let lastSucceeded: AuditEvent | undefined;
  let openFailure: number | undefined; // time a failure left the service unhealthy, until something restores it
  for (const e of events) {
    switch (e.type) {
      case 'apply.started':
        lastStarted = e;
        break;
      case 'apply.succeeded':
        s.deploys += 1;
        s.attempts += 1;
        if (e.commitTime) s.leadTimes.push(t(e) - Date.parse(e.commitTime));
        if (openFailure !== undefined) {
          s.restores.push(t(e) - openFailure);
          openFailure = undefined;
        }
        lastSucceeded = e;
        break;
      case 'apply.rolled-back':
        // The deploy failed and was reverted automatically: degraded from its start until the rollback finished.
        s.attempts += 1;
        s.failures += 1;
        s.restores.push(e.durationMs ?? (lastStarted ? t(e) - t(lastStarted) : 0));
        break;
      case 'apply.failed':
        // Failed and not rolled back: unhealthy until the next successful deploy or rollback.
        s.attempts += 1;
        s.failures += 1;
        openFailure ??= t(e);
        break;
      case 'rollback.succeeded':
        if (openFailure !== undefined) {
          s.restores.push(t(e) - openFailure);
          openFailure = undefined;
        } else if (e.emergency && lastSucceeded) {
          // An emergency rollback marks the last deploy as a failed change, bad from when it went live.
          s.failures += 1;
          s.restores.push(t(e) - t(lastSucceeded));
        }
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
    changeFailureRate: s.attempts > 0 ? Math.min(1, s.failures / s.attempts) : null,
    timeToRestoreMs: median(s.restores),
    attempts: s.attempts,
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
  const all: Samples = { deploys: 0, attempts: 0, failures: 0, leadTimes: [], restores: [] };
  const services = [...byService.keys()].sort().map((name) => {
    const s = sampleService(byService.get(name) ?? []);
    all.deploys += s.deploys;
    all.attempts += s.attempts;
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
