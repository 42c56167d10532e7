import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AuditRead } from '../../../lib/audit/log';
import { EnvironmentName, ENVIRONMENTS } from '../../../lib/catalog';
import { diffApp } from '../../../lib/deploy/diff';
import { fleetStatus } from '../../../lib/deploy/status';
import { verifyAuditLog } from '../../../lib/gate/verify-log';
import { MarathonClient } from '../../../lib/marathon/client';
import { marathonAppId } from '../../../lib/marathon/render';
import { approvalLink } from '../../../lib/notify';
import { DoraReport } from '../../../lib/report/dora';
import { fleetRows, plansById, waitingPlanEvents } from '../../../lib/report/page/gather';
import { PageInput, PendingPlan, renderPage } from '../../../lib/report/page/html';
import { CliContext } from '../context';
import { maxPlanCommits } from './changes-option';
import { allowedSignersIfAny } from './signing-options';

export interface PageOptions {
  readonly file: string;
  readonly plans: string;
  readonly timeout: number;
  readonly marathon?: string;
}

async function fleetOf(
  ctx: CliContext,
  opts: PageOptions,
  read: AuditRead,
): Promise<PageInput['fleet'] & { clients: Partial<Record<EnvironmentName, MarathonClient>> }> {
  const clients: Partial<Record<EnvironmentName, MarathonClient>> = {};
  for (const environment of ENVIRONMENTS.filter((e) => ctx.hasMarathon(e, opts.marathon))) {
    clients[environment] = ctx.client({ environment, marathon: opts.marathon, timeoutSeconds: opts.timeout });
  }
  if (Object.keys(clients).length === 0) {
    return { unavailable: 'no Marathon URL is set (MARATHON_URL_STAGING, MARATHON_URL_PRODUCTION or --marathon)', clients };
  }
  const services = ctx.catalog().services;
  try {
    const statuses = await fleetStatus({ services, clients });
    return {
      rows: fleetRows(
        services.map((s) => s.name),
        statuses,
        read.events,
      ),
      clients,
    };
  } catch (err) {
    return { unavailable: (err as Error).message, clients };
  }
}

async function pendingOf(ctx: CliContext, opts: PageOptions, read: AuditRead, production: MarathonClient | undefined) {
  const files = await plansById(opts.plans);
  const pending: PendingPlan[] = [];
  const missingPlans: { service: string; planId: string; reason: string }[] = [];
  for (const e of waitingPlanEvents(read.events)) {
    const found = files.get(e.planId ?? '');
    if (!found) {
      missingPlans.push({ service: e.service, planId: e.planId ?? '', reason: `no intact plan file with this id in ${opts.plans}` });
      continue;
    }
    const live = production ? await production.getApp(marathonAppId(found.plan.service, 'production')) : undefined;
    pending.push({
      plan: found.plan,
      // What it changes now, from its app and the live app (never the stored diff) when production can be read.
      diff: live === undefined ? found.plan.diff : diffApp(found.plan.app, live?.raw ?? null),
      stale: live !== undefined && (live?.version ?? null) !== found.plan.liveVersion,
      approveWith: approvalLink({
        project: ctx.env.C2C_BUILD_PROJECT,
        location: ctx.env.C2C_BUILD_LOCATION,
        service: found.plan.service,
        planPath: found.path,
      }),
    });
  }
  return { pending, missingPlans };
}

/** `deploy report --html FILE`: gathers the page's facts (log, its verification, fleet, waiting plans) and writes it. */
export async function writeReportPage(ctx: CliContext, report: DoraReport, read: AuditRead, opts: PageOptions): Promise<void> {
  const since = Date.parse(report.since);
  const until = Date.parse(report.until);
  const verification = await verifyAuditLog(read, await allowedSignersIfAny(ctx));
  const fleet = await fleetOf(ctx, opts, read);
  const { pending, missingPlans } = await pendingOf(ctx, opts, read, fleet.clients.production);
  const html = await renderPage({
    report,
    generatedAt: new Date(until),
    fleet: 'rows' in fleet ? { rows: fleet.rows } : { unavailable: fleet.unavailable },
    pending,
    missingPlans,
    audit: {
      location: ctx.audit().location,
      events: read.events
        .filter((e) => Date.parse(e.time) >= since && Date.parse(e.time) <= until)
        .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)),
      verification,
    },
    maxCommits: maxPlanCommits(ctx),
  });
  await mkdir(dirname(opts.file), { recursive: true });
  const tmp = `${opts.file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, html);
    await rename(tmp, opts.file);
  } finally {
    await rm(tmp, { force: true });
  }
  if (verification.problems.length > 0) {
    ctx.err(`note: the audit log fails verification (line ${verification.problems[0].line}); the page says so at the top`);
  }
}
