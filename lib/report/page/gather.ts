import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditEvent } from '../../audit/log';
import { ServiceStatus } from '../../deploy/status';
import { C2CError } from '../../errors';
import { PlanFile, readPlanFile } from '../../gate/plan-file';
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
