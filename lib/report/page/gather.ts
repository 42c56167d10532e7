import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditEvent } from '../../audit/log';
import { ServiceStatus } from '../../deploy/status';
import { C2CError } from '../../errors';
import { MAX_PLAN_BYTES, parsePlanFile, PlanFile, readPlanFile } from '../../gate/plan-file';
import { formatObjectUrl, getObject, StorageOptions } from '../../google/storage';
import { FleetRow } from './html';

const DECIDED = new Set(['approval.recorded', 'apply.started', 'apply.succeeded', 'apply.failed', 'apply.rolled-back', 'apply.noop']);

/**
 * The production plans that wait for approval, from the audit log: per service the newest `plan.created` in
 * production that no approval or apply has named since (an older plan of the same service is superseded).
 */
export function waitingPlanEvents(events: readonly AuditEvent[]): AuditEvent[] {
  const newest = new Map<string, AuditEvent>();
  const decided = new Set<string>();
  for (const e of events) {
    if (e.environment !== 'production' || !e.planId) continue;
    if (e.type === 'plan.created') {
      const prev = newest.get(e.service);
      if (!prev || prev.time <= e.time) newest.set(e.service, e);
    } else if (DECIDED.has(e.type)) decided.add(e.planId);
  }
  return [...newest.values()].filter((e) => !decided.has(e.planId ?? '')).sort((a, b) => (a.time < b.time ? -1 : 1));
}

/** Per service, its statuses in staging and production and its last production deploy (with the approver) from the log. */
export function fleetRows(services: readonly string[], statuses: readonly ServiceStatus[], events: readonly AuditEvent[]): FleetRow[] {
  const last = new Map<string, AuditEvent>();
  for (const e of events) {
    if (e.environment === 'production' && e.type === 'apply.succeeded') {
      const prev = last.get(e.service);
      if (!prev || prev.time <= e.time) last.set(e.service, e);
    }
  }
  const status = new Map(statuses.map((s) => [`${s.environment}/${s.service}`, s]));
  return services.map((service) => {
    const e = last.get(service);
    return {
      service,
      staging: status.get(`staging/${service}`) ?? null,
      production: status.get(`production/${service}`) ?? null,
      lastDeploy: e ? { time: e.time, actor: e.actor, ...(e.approver ? { approver: e.approver } : {}) } : null,
    };
  });
}

/**
 * The plan files under `dir` (`*.json`, one level) by id, each checked against its id as `readPlanFile` does; a file
 * that is not an intact plan is left out. A missing directory holds no plans.
 */
export async function plansById(dir: string): Promise<Map<string, { plan: PlanFile; path: string }>> {
  const out = new Map<string, { plan: PlanFile; path: string }>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, name);
    try {
      const plan = await readPlanFile(path);
      out.set(plan.id, { plan, path });
    } catch (err) {
      if (!(err instanceof C2CError)) throw err;
    }
  }
  return out;
}

/** A waiting plan's file, found and checked, and where it was read from (a path or a `gs://` URL). */
export interface FoundPlan {
  readonly plan: PlanFile;
  readonly path: string;
}

/** Finds the plan a waiting `plan.created` record names, or says why there is none to show. */
export type PlanLookup = (waiting: AuditEvent) => Promise<FoundPlan | { readonly missing: string }>;

/** Plans under a local directory (`deploy plan --out`), by id. */
export async function planLookupFromDir(dir: string): Promise<PlanLookup> {
  const files = await plansById(dir);
  return async (e) => files.get(e.planId ?? '') ?? { missing: `no intact plan file with this id in ${dir}` };
}

/** Where the push builds upload a production plan under a prefix: constructs/naming.ts `planPrefix` plus `{id}.json`. */
export const BUCKET_PLAN_LAYOUT = '{service}/production/{id}.json';

/**
 * `gs://BUCKET/PREFIX` (the builds' layout {@link BUCKET_PLAN_LAYOUT} under PREFIX), or a template with `{id}` (and
 * `{service}`) as `deploy object put` takes: the bucket and the object name template.
 * @throws C2CError USAGE
 */
export function bucketPlanTemplate(url: string): { readonly bucket: string; readonly template: string } {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,221})(?:\/(.*))?$/.exec(url);
  if (!m || /[#?]/.test(m[2] ?? '')) {
    throw new C2CError('USAGE', `--plans '${url}' is neither a directory nor gs://BUCKET/PREFIX`, {
      hint: "give the deploy bucket's plans, e.g. --plans gs://PROJECT-c2c-deploy/plans",
    });
  }
  const rest = m[2] ?? '';
  if (rest.includes('{id}')) return { bucket: m[1], template: rest };
  return { bucket: m[1], template: `${rest === '' || rest.endsWith('/') ? rest : `${rest}/`}${BUCKET_PLAN_LAYOUT}` };
}

const PLAN_ID = /^[0-9a-f]{64}$/;
const SERVICE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Plans in the deploy bucket where the push builds upload them: one object read per waiting plan, named from the
 * record's service and plan id (both checked first: the log is input too), and checked as a local plan file is.
 */
export function planLookupFromBucket(url: string, storage: StorageOptions): PlanLookup {
  const { bucket, template } = bucketPlanTemplate(url);
  return async (e) => {
    const id = e.planId ?? '';
    if (!PLAN_ID.test(id) || !SERVICE_NAME.test(e.service)) return { missing: 'its audit record names no valid plan id or service' };
    const ref = { bucket, name: template.replaceAll('{service}', e.service).replaceAll('{id}', id) };
    try {
      const bytes = await getObject(ref, { ...storage, maxBytes: MAX_PLAN_BYTES });
      return { plan: parsePlanFile(bytes.toString('utf8'), formatObjectUrl(ref)), path: formatObjectUrl(ref) };
    } catch (err) {
      if (!(err instanceof C2CError)) throw err;
      if (err.code === 'GOOGLE_NOT_FOUND') return { missing: `no plan object ${formatObjectUrl(ref)}` };
      return { missing: err.message };
    }
  };
}

/**
 * Why a found plan is not the one its record names (its id, service, production), or null when it is. A file's id
 * only proves its content is whole; the verified log's record is what says this plan waits.
 */
export function planMismatch(found: FoundPlan, waiting: AuditEvent): string | null {
  const { plan } = found;
  if (plan.id !== waiting.planId) return `${found.path} holds plan ${plan.id.slice(0, 12)}, not the one the log names`;
  if (plan.service !== waiting.service || plan.environment !== 'production')
    return `${found.path} is a plan for ${plan.service} in ${plan.environment}, not ${waiting.service} in production`;
  return null;
}
