import { AuditEvent } from '../audit/log';
import { EnvironmentName } from '../catalog/types';
import { C2CError } from '../errors';

/**
 * The four DORA figures for one service, or for the fleet (`service: '(fleet)'`). Every column counts the same
 * deploys (docs/deploy.md, "What the report counts"):
 * - a **deploy** is an apply that changed what runs: it ended `apply.succeeded`, `apply.rolled-back`, `apply.unknown`,
 *   or `apply.failed` after its change was sent (the record has a deployment id); an `apply.interrupted` whose
 *   deployment has no later record counts once too. A no-op, or a failure before anything was sent, is not a deploy.
 *   A blue/green or canary release is one deploy however many steps it has: it counts when it reaches 100 %
 *   (`rollout.succeeded`), or when it is aborted before (`rollout.aborted`).
 * - a **failure** is a deploy that ended rolled back, failed or unknown, or a succeeded deploy that an emergency
 *   rollback then undid, or a two-colour release that was aborted (before or after 100 %).
 * - a **restore** is the time from a failure to the service healthy again: the automatic rollback's duration; for a
 *   failed or unknown deploy, until the next succeeded deploy or rollback; for an emergency rollback, from the bad
 *   deploy's success to the rollback; for an aborted release, from its start (`rollout.started`) to the end of the
 *   abort (all traffic back on the old colour).
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
  /** Deploys per week of the window, one number per entry of {@link DoraReport.weeks}. */
  readonly weeklyDeploys: readonly number[];
}

/** One week of the window (the last one may be shorter): the fleet's figures over the deploys that ended in it. */
export interface DoraWeek {
  readonly start: string;
  readonly end: string;
  readonly deploys: number;
  readonly failures: number;
  /** failures / deploys of the week; null without deploys. */
  readonly changeFailureRate: number | null;
  /** Median lead time of the week's succeeded deploys; null without any. */
  readonly leadTimeMs: number | null;
  /** Median of the restores that ended in the week; null without any. */
  readonly timeToRestoreMs: number | null;
}

/** How many lead times fall in one range [fromMs, toMs) (toMs null: no upper bound). */
export interface LeadTimeBucket {
  readonly label: string;
  readonly fromMs: number;
  readonly toMs: number | null;
  readonly count: number;
}

/** The ranges of the lead-time distribution: as people think of a wait (an hour, a day, a week). */
export const LEAD_TIME_BUCKETS: readonly { readonly label: string; readonly fromMs: number; readonly toMs: number | null }[] = [
  { label: '< 1h', fromMs: 0, toMs: 3600_000 },
  { label: '1h to 4h', fromMs: 3600_000, toMs: 4 * 3600_000 },
  { label: '4h to 1d', fromMs: 4 * 3600_000, toMs: 86400_000 },
  { label: '1d to 3d', fromMs: 86400_000, toMs: 3 * 86400_000 },
  { label: '3d to 1w', fromMs: 3 * 86400_000, toMs: 7 * 86400_000 },
  { label: '> 1w', fromMs: 7 * 86400_000, toMs: null },
];

export interface DoraReport {
  readonly environment: EnvironmentName;
  readonly since: string;
  readonly until: string;
  readonly days: number;
  readonly services: readonly DoraFigures[];
  readonly fleet: DoraFigures;
  /** The window cut in weeks from `since`: the trends. */
  readonly weeks: readonly DoraWeek[];
  /** The fleet's lead times (succeeded deploys with a commit time) counted per range of {@link LEAD_TIME_BUCKETS}. */
  readonly leadTimeDistribution: readonly LeadTimeBucket[];
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

/** A measure taken at a time (when the deploy, failure or restore ended): the trends bucket them by that time. */
interface Sample {
  readonly at: number;
  readonly ms: number;
}

interface Samples {
  /** When each deploy ended. */
  deploys: number[];
  /** When each failure was known. */
  failures: number[];
  leadTimes: Sample[];
  restores: Sample[];
}

const emptySamples = (): Samples => ({ deploys: [], failures: [], leadTimes: [], restores: [] });

const OUTCOMES = new Set(['apply.succeeded', 'apply.rolled-back', 'apply.failed', 'apply.unknown', 'apply.interrupted']);

/** Reads one service's events (time order) into samples, by the definitions on DoraFigures. */
function sampleService(events: readonly AuditEvent[]): Samples {
  const s = emptySamples();
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
  // The two-colour release in progress: when it started, and whether it already counted (it reached 100 %).
  let release: { started: number | undefined; counted: boolean } | undefined;
  for (const e of events) {
    if (OUTCOMES.has(e.type) && e.deploymentId && lastOutcome.get(e.deploymentId) !== e) continue;
    switch (e.type) {
      case 'apply.succeeded':
      case 'rollout.succeeded':
        s.deploys.push(t(e));
        if (e.commitTime) s.leadTimes.push({ at: t(e), ms: t(e) - Date.parse(e.commitTime) });
        if (openFailure !== undefined) {
          s.restores.push({ at: t(e), ms: t(e) - openFailure });
          openFailure = undefined;
        }
        lastSucceeded = e;
        if (e.type === 'rollout.succeeded') release = { started: release?.started, counted: true };
        break;
      case 'rollout.started':
        release = { started: t(e), counted: false };
        break;
      case 'rollout.aborted':
        // A failed change, restored by the abort: one deploy (unless it counted at 100 %), from its start to the abort's end.
        if (!release?.counted) s.deploys.push(t(e));
        s.failures.push(t(e));
        s.restores.push({ at: t(e), ms: release?.started !== undefined ? t(e) - release.started : (e.durationMs ?? 0) });
        release = undefined;
        lastSucceeded = undefined;
        break;
      case 'apply.rolled-back': {
        // Failed and reverted automatically: degraded from its start until the rollback was healthy.
        s.deploys.push(t(e));
        s.failures.push(t(e));
        const start = e.deploymentId ? startedAt.get(e.deploymentId) : undefined;
        s.restores.push({ at: t(e), ms: e.durationMs ?? (start !== undefined ? t(e) - start : 0) });
        lastSucceeded = undefined;
        break;
      }
      case 'apply.failed':
      case 'apply.unknown':
        // Before anything was sent (no deployment id) nothing changed: not a deploy.
        if (!e.deploymentId) break;
        s.deploys.push(t(e));
        s.failures.push(t(e));
        openFailure ??= t(e);
        lastSucceeded = undefined;
        break;
      case 'apply.interrupted':
        s.deploys.push(t(e));
        break;
      case 'rollback.succeeded':
        if (openFailure !== undefined) {
          s.restores.push({ at: t(e), ms: t(e) - openFailure });
          openFailure = undefined;
        } else if (e.emergency && lastSucceeded) {
          // An emergency rollback makes the last deploy a failed change, bad from when it went live.
          s.failures.push(t(e));
          s.restores.push({ at: t(e), ms: t(e) - t(lastSucceeded) });
        }
        lastSucceeded = undefined;
        break;
      default:
        break;
    }
  }
  return s;
}

const ms = (samples: readonly Sample[]) => samples.map((x) => x.ms);

/** The window's week starts (epoch ms) from `since`, every 7 days, up to `now`. */
function weekStarts(since: number, now: number): number[] {
  const out: number[] = [];
  for (let w = since; w < now || out.length === 0; w += 7 * 86400_000) out.push(w);
  return out;
}

/** Index of the week `at` falls in. */
const weekOf = (at: number, since: number, count: number) => Math.min(count - 1, Math.max(0, Math.floor((at - since) / (7 * 86400_000))));

function figures(service: string, s: Samples, days: number, weeks: { since: number; count: number }): DoraFigures {
  const weeklyDeploys = new Array<number>(weeks.count).fill(0);
  for (const at of s.deploys) weeklyDeploys[weekOf(at, weeks.since, weeks.count)] += 1;
  return {
    service,
    deploys: s.deploys.length,
    deploysPerDay: days > 0 ? s.deploys.length / days : 0,
    leadTimeMs: median(ms(s.leadTimes)),
    changeFailureRate: s.deploys.length > 0 ? Math.min(1, s.failures.length / s.deploys.length) : null,
    timeToRestoreMs: median(ms(s.restores)),
    failures: s.failures.length,
    weeklyDeploys,
  };
}

/** The fleet's samples cut by week: the same definitions, over the deploys, failures and restores that ended in it. */
function weekly(all: Samples, starts: readonly number[], now: number): DoraWeek[] {
  const buckets = starts.map(() => emptySamples());
  const at = (t: number) => buckets[weekOf(t, starts[0], starts.length)];
  for (const t of all.deploys) at(t).deploys.push(t);
  for (const t of all.failures) at(t).failures.push(t);
  for (const x of all.leadTimes) at(x.at).leadTimes.push(x);
  for (const x of all.restores) at(x.at).restores.push(x);
  return buckets.map((b, i) => ({
    start: new Date(starts[i]).toISOString(),
    end: new Date(Math.min(now, starts[i] + 7 * 86400_000)).toISOString(),
    deploys: b.deploys.length,
    failures: b.failures.length,
    changeFailureRate: b.deploys.length > 0 ? Math.min(1, b.failures.length / b.deploys.length) : null,
    leadTimeMs: median(ms(b.leadTimes)),
    timeToRestoreMs: median(ms(b.restores)),
  }));
}

function distribution(leadTimes: readonly Sample[]): LeadTimeBucket[] {
  return LEAD_TIME_BUCKETS.map((b) => ({
    ...b,
    count: leadTimes.filter((x) => x.ms >= b.fromMs && (b.toMs === null || x.ms < b.toMs)).length,
  }));
}

/**
 * The DORA figures per service and for the fleet, from the audit log, for one environment (production by default),
 * with the trends (per week) and the lead-time distribution: `deploy report --json` and the page show these numbers.
 */
export function doraReport(events: readonly AuditEvent[], options: { since: Date; now?: Date; environment?: EnvironmentName }): DoraReport {
  const now = options.now ?? new Date();
  const environment = options.environment ?? 'production';
  const from = options.since.getTime();
  const inWindow = events
    .filter((e) => e.environment === environment && Date.parse(e.time) >= from && Date.parse(e.time) <= now.getTime())
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const days = (now.getTime() - from) / 86400_000;
  const starts = weekStarts(from, now.getTime());
  const weeks = { since: from, count: starts.length };
  const byService = new Map<string, AuditEvent[]>();
  for (const e of inWindow) {
    const list = byService.get(e.service);
    if (list) list.push(e);
    else byService.set(e.service, [e]);
  }
  const all = emptySamples();
  const services = [...byService.keys()].sort().map((name) => {
    const s = sampleService(byService.get(name) ?? []);
    all.deploys.push(...s.deploys);
    all.failures.push(...s.failures);
    all.leadTimes.push(...s.leadTimes);
    all.restores.push(...s.restores);
    return figures(name, s, days, weeks);
  });
  return {
    environment,
    since: options.since.toISOString(),
    until: now.toISOString(),
    days,
    services,
    fleet: figures('(fleet)', all, days, weeks),
    weeks: weekly(all, starts, now.getTime()),
    leadTimeDistribution: distribution(all.leadTimes),
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

/**
 * What each figure counts, word for word as docs/deploy.md ("What the report counts") defines it (a test keeps the
 * two equal): the page prints these beside the numbers.
 */
export const DORA_DEFINITIONS = {
  deploy:
    'A **deploy** is an apply that changed what runs: it ended `apply.succeeded`, `apply.rolled-back`, `apply.unknown`, or `apply.failed` after its change was sent (the record carries a deployment id). An interrupted apply counts once: by how its deployment ended if it was resumed, else as a deploy of unknown outcome (not a failure). A no-op, or a failure before anything was sent (a 422, a refusal), is not a deploy. A blue/green or canary release is one deploy however many steps it has: it counts when it reaches 100 % (`rollout.succeeded`), or when it is aborted before that (`rollout.aborted`).',
  failure:
    'A **failure** is a deploy that was rolled back, failed or ended unknown, a succeeded deploy that an emergency (production) rollback then undid, or a blue/green or canary release that was aborted (`rollout.aborted`, by `deploy abort` or by its analysis, before or after 100 %).',
  restore:
    "A **restore** is the time from a failure until the service is healthy on a good version again: an automatic rollback's duration; for a failed or unknown deploy, until the next succeeded deploy or rollback; for an emergency rollback, from the bad deploy's success to the rollback; for an aborted release, from its start (`rollout.started`) to the end of the abort (all traffic back on the old colour).",
  measures:
    'Deploy frequency is deploys per day; the change failure rate is failures / deploys (shown as `50% (1/2)` next to `deploys 2`); lead time is the median from commit time to a succeeded deploy; time to restore is the median restore.',
  trends:
    'The trends cut the window in weeks from its start: a deploy, a failure, a lead time or a restore counts in the week it ended. The lead-time distribution counts the lead times of the window per range (`< 1h`, `1h to 4h`, `4h to 1d`, `1d to 3d`, `3d to 1w`, `> 1w`).',
} as const;
