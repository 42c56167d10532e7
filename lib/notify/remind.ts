import { C2CError } from '../errors';
import { approvedPlanId, CLOUDBUILD_BASE_URL, CloudBuildBuild } from '../gate/cloudbuild';
import { GoogleAuth, googleFetch } from '../google/http';
import { approvalLink, postNotice, PlanNotice } from './message';

/** Minutes a production build waits for approval before the first reminder. Setting `C2C_REMIND_AFTER_MINUTES`. */
export const DEFAULT_REMIND_AFTER_MINUTES = 30;
/** Minutes between two runs of the reminder job, and so between two reminders. Setting `C2C_REMIND_EVERY_MINUTES`. */
export const DEFAULT_REMIND_EVERY_MINUTES = 15;
/** The longest `afterMinutes`: a week (Cloud Build keeps a build waiting for approval far less). */
export const MAX_REMIND_AFTER_MINUTES = 10_080;

/**
 * The intervals the reminder job may run at: those a five-field cron schedule fires at exactly, at the same minutes
 * of every day in UTC (divisors of an hour, whole hours dividing a day). Only then does the job's run fall into the
 * interval-long slot {@link reminderDue} computes, which is what keeps reminders from being sent twice.
 */
export const REMIND_EVERY_CHOICES: readonly number[] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];

/** The parts of a Cloud Build `Build` the reminder reads (v1 REST, `projects.locations.builds.list`). */
export interface PendingBuild extends CloudBuildBuild {
  readonly status?: string;
  readonly tags?: readonly string[];
  /** RFC 3339: when the build was created, which for a build that needs approval is when its wait began. */
  readonly createTime?: string;
}

/**
 * The builds list's server-side filter: production builds of the platform not started yet. Cloud Build's filter
 * language covers `status` and `tags`; the approval state is checked on each build returned, as every other field
 * the reminder relies on (the filter narrows the list, it is not trusted).
 * @see https://cloud.google.com/build/docs/view-build-results#filtering_build_results_using_queries
 */
export const PENDING_FILTER = 'status="PENDING" AND tags="c2c" AND tags="production"';

/** Where to look and what with. */
export interface RemindSource {
  readonly project: string;
  /** Region of the production triggers (`C2C_BUILD_LOCATION` / the platform region). */
  readonly location: string;
  readonly auth: GoogleAuth;
  /** @default {@link CLOUDBUILD_BASE_URL}; any other value is for tests of the library (the CLI never sets it). */
  readonly baseUrl?: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * Lists the production builds of the platform that wait for approval: status PENDING, approval state PENDING, tags
 * `c2c` and `production` and not `platform` (the platform's own applies are reviewed elsewhere), every page.
 * @throws C2CError GOOGLE_DENIED, GOOGLE_HTTP, GOOGLE_UNREACHABLE, GOOGLE_AUTH, GOOGLE_NOT_FOUND (from the one HTTP helper)
 */
export async function listWaitingProductionBuilds(source: RemindSource): Promise<PendingBuild[]> {
  const base = `${source.baseUrl ?? CLOUDBUILD_BASE_URL}/v1/projects/${encodeURIComponent(source.project)}/locations/${encodeURIComponent(source.location)}/builds`;
  const builds: PendingBuild[] = [];
  let pageToken: string | undefined;
  // A page limit, so that an API that keeps returning a token cannot keep the job running.
  for (let page = 0; page < 20; page++) {
    const query = new URLSearchParams({ filter: PENDING_FILTER, pageSize: '100', ...(pageToken ? { pageToken } : {}) });
    const res = await googleFetch(`${base}?${query}`, {
      what: `list the production builds waiting for approval in ${source.project}/${source.location} from the Cloud Build API`,
      auth: source.auth,
      headers: { accept: 'application/json' },
      timeoutMs: source.timeoutMs,
      deniedHint: 'the reminder needs cloudbuild.builds.list on the project (roles/cloudbuild.builds.viewer)',
    });
    let body: { builds?: unknown; nextPageToken?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new C2CError('GOOGLE_HTTP', `could not list the production builds waiting for approval: the Cloud Build API answered no JSON`, {
        cause: err,
      });
    }
    if (Array.isArray(body.builds)) builds.push(...(body.builds as PendingBuild[]));
    pageToken = typeof body.nextPageToken === 'string' && body.nextPageToken !== '' ? body.nextPageToken : undefined;
    if (!pageToken) break;
  }
  return builds.filter(
    (b) =>
      b.status === 'PENDING' &&
      b.approval?.state === 'PENDING' &&
      (b.tags ?? []).includes('c2c') &&
      (b.tags ?? []).includes('production') &&
      !(b.tags ?? []).includes('platform'),
  );
}

/** The service a production build is for: its tag that is not `c2c` or `production` (see the production trigger). */
export function serviceOfBuild(build: PendingBuild): string | undefined {
  return (build.tags ?? []).find((t) => t !== 'c2c' && t !== 'production');
}

/**
 * Whether a build that began waiting at `createTime` is reminded by the run at `now`, and how long it has waited.
 *
 * Stateless: the job keeps no record of what it sent. Time is cut into slots of `everyMinutes`, counted from
 * 00:00 UTC (the minutes the cron schedule fires at; {@link REMIND_EVERY_CHOICES}); a run belongs to the slot it
 * starts in. A build is reminded by a run when its wait crosses `afterMinutes + k * everyMinutes` (k = 0, 1, …)
 * between the start of the previous slot and the start of this one: exactly one such k per slot once the build has
 * waited `afterMinutes`, so one reminder per scheduled run, never two for the same crossing however late in its slot
 * a run starts. A run started by hand between two scheduled ones does send again (use `--dry-run` to look).
 */
export function reminderDue(
  createTime: Date,
  now: Date,
  afterMinutes: number,
  everyMinutes: number,
): { due: boolean; waitingMinutes: number } {
  const minute = 60_000;
  const waitingMinutes = Math.max(0, Math.floor((now.getTime() - createTime.getTime()) / minute));
  const slotStart = Math.floor(now.getTime() / (everyMinutes * minute)) * everyMinutes * minute;
  const waitedAtSlot = (slotStart - createTime.getTime()) / minute;
  // The thresholds crossed up to the slot's start, and up to the previous slot's start: one more means due.
  const crossed = (waited: number) => (waited < afterMinutes ? 0 : Math.floor((waited - afterMinutes) / everyMinutes) + 1);
  return { due: crossed(waitedAtSlot) > crossed(waitedAtSlot - everyMinutes), waitingMinutes };
}

/** What the reminder tells about one build. */
export interface Reminder {
  readonly buildId: string;
  readonly service: string;
  readonly waitingMinutes: number;
  readonly notice: PlanNotice;
  /** Whether it was posted (false in a dry run). */
  readonly sent: boolean;
  /** Why posting it failed. */
  readonly error?: string;
}

/** A run of the reminder. */
export interface RemindOptions extends RemindSource {
  /** The chat webhook (`C2C_NOTIFY_WEBHOOK`); without one, nothing is posted (dry run). */
  readonly webhook?: string;
  readonly afterMinutes: number;
  readonly everyMinutes: number;
  /** @default - now */
  readonly now?: Date;
  /** The reviewers of a service (the catalog's approvers); `undefined` for a service the catalog does not know. */
  readonly reviewersOf?: (service: string) => readonly string[] | undefined;
}

/** What a run found and did. */
export interface RemindResult {
  /** Production builds waiting for approval. */
  readonly waiting: number;
  /** The reminders due now, sent or not. */
  readonly reminders: readonly Reminder[];
}

/** The reminder notice of one waiting build: service, minutes, link to the build, reviewers, commit and plan id when known. */
export function reminderNotice(
  build: PendingBuild,
  o: { project: string; location: string; waitingMinutes: number; reviewers?: readonly string[] },
): PlanNotice {
  const service = serviceOfBuild(build) ?? '(unknown service)';
  const commit = build.substitutions?.COMMIT_SHA;
  return {
    kind: 'reminder',
    service,
    environment: 'production',
    planId: approvedPlanId(build) ?? '',
    ...(commit ? { commit } : {}),
    link: approvalLink({ project: o.project, location: o.location, buildId: build.id, service }),
    waitingMinutes: o.waitingMinutes,
    ...(o.reviewers && o.reviewers.length > 0 ? { reviewers: o.reviewers } : {}),
  };
}

/**
 * Lists the production builds waiting for approval and posts a `reminder` notice for each whose wait crossed a
 * threshold in this run's slot ({@link reminderDue}). A failed post is recorded on its reminder and the others are
 * still posted.
 * @throws C2CError GOOGLE_* when the builds cannot be listed
 */
export async function remindWaitingBuilds(o: RemindOptions): Promise<RemindResult> {
  const now = o.now ?? new Date();
  const waiting = await listWaitingProductionBuilds(o);
  const reminders: Reminder[] = [];
  for (const build of waiting) {
    const created = Date.parse(build.createTime ?? '');
    if (!build.id || Number.isNaN(created)) continue;
    const { due, waitingMinutes } = reminderDue(new Date(created), now, o.afterMinutes, o.everyMinutes);
    if (!due) continue;
    const service = serviceOfBuild(build) ?? '(unknown service)';
    const notice = reminderNotice(build, { project: o.project, location: o.location, waitingMinutes, reviewers: o.reviewersOf?.(service) });
    if (!o.webhook) {
      reminders.push({ buildId: build.id, service, waitingMinutes, notice, sent: false });
      continue;
    }
    try {
      await postNotice(o.webhook, notice);
      reminders.push({ buildId: build.id, service, waitingMinutes, notice, sent: true });
    } catch (err) {
      reminders.push({ buildId: build.id, service, waitingMinutes, notice, sent: false, error: (err as Error).message });
    }
  }
  return { waiting: waiting.length, reminders };
}

/**
 * A number of minutes given for `name` (a flag or a setting): a whole number from `min` to `max`, and for the
 * interval one of {@link REMIND_EVERY_CHOICES}.
 * @throws C2CError USAGE naming `name` and the value
 */
export function parseRemindMinutes(value: string, name: string, kind: 'after' | 'every'): number {
  const n = Number(value);
  if (kind === 'after') {
    if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_REMIND_AFTER_MINUTES) {
      throw new C2CError('USAGE', `${name} '${value}' must be a whole number of minutes from 1 to ${MAX_REMIND_AFTER_MINUTES}`, {
        hint: `e.g. ${name.startsWith('--') ? `${name} ` : `${name}=`}${DEFAULT_REMIND_AFTER_MINUTES}`,
      });
    }
    return n;
  }
  if (!/^\d+$/.test(value.trim()) || !REMIND_EVERY_CHOICES.includes(n)) {
    throw new C2CError('USAGE', `${name} '${value}' must be one of ${REMIND_EVERY_CHOICES.join(', ')} minutes`, {
      hint: 'the job runs on a cron schedule, which fires evenly only at these intervals; e.g. 15',
    });
  }
  return n;
}

/** The cron schedule (UTC) that runs the reminder every `everyMinutes` (one of {@link REMIND_EVERY_CHOICES}). */
export function remindSchedule(everyMinutes: number): string {
  if (everyMinutes < 60) return `*/${everyMinutes} * * * *`;
  if (everyMinutes === 60) return '0 * * * *';
  if (everyMinutes === 1440) return '0 0 * * *';
  return `0 */${everyMinutes / 60} * * *`;
}
