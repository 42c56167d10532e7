import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AuditEvent, AuditRead } from '../../../lib/audit/log';
import { EnvironmentName, ENVIRONMENTS } from '../../../lib/catalog';
import { diffApp } from '../../../lib/deploy/diff';
import { fleetStatus } from '../../../lib/deploy/status';
import { verifyAuditLog } from '../../../lib/gate/verify-log';
import { C2CError } from '../../../lib/errors';
import { verifyPlanAuthor } from '../../../lib/gate/gate';
import { PlanFile } from '../../../lib/gate/plan-file';
import { googleAuthFromEnv } from '../../../lib/google/http';
import { MarathonClient } from '../../../lib/marathon/client';
import { READ_SECRET_ENV, readCredentialFromSecret } from '../../../lib/report/page/fleet-credentials';
import { AllowedSigners } from '../../../lib/signing';
import { marathonAppId } from '../../../lib/marathon/render';
import { approvalLink } from '../../../lib/notify';
import { DoraReport } from '../../../lib/report/dora';
import {
  FoundPlan,
  fleetRows,
  PlanLookup,
  planLookupFromBucket,
  planLookupFromDir,
  planMismatch,
  waitingPlanEvents,
} from '../../../lib/report/page/gather';
import { PageInput, PendingPlan, renderPage } from '../../../lib/report/page/html';
import { CliContext } from '../context';
import { maxPlanCommits } from './changes-option';
import { allowedSignersIfAny } from './signing-options';

export interface PageOptions {
  readonly file: string;
  /** A directory of plan files, or `gs://BUCKET/PREFIX` where the push builds upload them. */
  readonly plans: string;
  readonly timeout: number;
  readonly marathon?: string;
}

const storageOf = (ctx: CliContext) => ({
  auth: googleAuthFromEnv(ctx.env),
  ...(ctx.env.C2C_STORAGE_URL ? { baseUrl: ctx.env.C2C_STORAGE_URL } : {}),
});

/**
 * A Marathon client per environment with a URL: with the page's read credential when its secret is named
 * ({@link READ_SECRET_ENV}, the cloud job), else as every command (MARATHON_CREDENTIALS / MARATHON_TOKEN). An
 * environment whose read secret has no value gets no client: the page says so instead of using another credential.
 */
async function fleetClients(ctx: CliContext, opts: PageOptions) {
  const clients: Partial<Record<EnvironmentName, MarathonClient>> = {};
  const noCredential: string[] = [];
  for (const environment of ENVIRONMENTS.filter((e) => ctx.hasMarathon(e, opts.marathon))) {
    const plain = ctx.client({ environment, marathon: opts.marathon, timeoutSeconds: opts.timeout });
    const secret = ctx.env[READ_SECRET_ENV[environment]];
    if (!secret) {
      clients[environment] = plain;
      continue;
    }
    const auth = await readCredentialFromSecret(secret, {
      auth: googleAuthFromEnv(ctx.env),
      ...(ctx.env.C2C_SECRET_MANAGER_URL ? { baseUrl: ctx.env.C2C_SECRET_MANAGER_URL } : {}),
      signal: plain.signal,
    });
    if (auth === null) noCredential.push(`${environment} (${secret} has no value)`);
    else {
      clients[environment] = new MarathonClient({
        baseUrl: plain.baseUrl,
        urlSource: `the ${environment} Marathon URL`,
        auth,
        requestTimeoutMs: Math.min(10_000, Math.max(1000, opts.timeout * 1000)),
        deadline: plain.deadline,
        signal: plain.signal,
      });
    }
  }
  return { clients, noCredential };
}

async function fleetOf(
  ctx: CliContext,
  opts: PageOptions,
  read: AuditRead,
): Promise<PageInput['fleet'] & { clients: Partial<Record<EnvironmentName, MarathonClient>> }> {
  let found;
  try {
    found = await fleetClients(ctx, opts);
  } catch (err) {
    if (!(err instanceof C2CError)) throw err;
    return { unavailable: err.message, clients: {} };
  }
  const { clients, noCredential } = found;
  if (noCredential.length > 0) {
    return {
      unavailable: `no read credential for ${noCredential.join(' and ')}; see "The page in the cloud" in docs/deploy.md`,
      clients: {},
    };
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

/** The plan's author signature as the page may show it, or why the plan is not shown. */
async function signatureOf(plan: PlanFile, signers: AllowedSigners | undefined): Promise<PendingPlan['signature'] | { refused: string }> {
  if (!plan.signature) return 'unsigned';
  if (!signers) return 'unchecked';
  try {
    return { verifiedSigner: (await verifyPlanAuthor(plan, signers)).principal };
  } catch (err) {
    if (!(err instanceof C2CError)) throw err;
    return { refused: `its signature does not verify: ${err.message}` };
  }
}

/**
 * The plan a waiting record names, when the page may show it: found, whole (its content hashes to its id), the one the
 * record names (id, service, production) and, when signed, signed by its author's listed key; else why not.
 */
async function checkedPlan(
  lookup: PlanLookup,
  e: AuditEvent,
  signers: AllowedSigners | undefined,
): Promise<{ found: FoundPlan; signature: PendingPlan['signature'] } | { missing: string }> {
  const found = await lookup(e);
  if ('missing' in found) return found;
  const mismatch = planMismatch(found, e);
  if (mismatch !== null) return { missing: mismatch };
  const signature = await signatureOf(found.plan, signers);
  if (typeof signature === 'object' && 'refused' in signature) return { missing: signature.refused };
  return { found, signature };
}

async function pendingOf(
  ctx: CliContext,
  opts: PageOptions,
  read: AuditRead,
  production: MarathonClient | undefined,
  signers: AllowedSigners | undefined,
) {
  // Any URL is read as a bucket, so another scheme (https://, ftp://) is bad usage rather than a directory never found.
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(opts.plans);
  const lookup = url ? planLookupFromBucket(opts.plans, storageOf(ctx)) : await planLookupFromDir(opts.plans);
  const pending: PendingPlan[] = [];
  const missingPlans: { service: string; planId: string; reason: string }[] = [];
  for (const e of waitingPlanEvents(read.events)) {
    const checked = await checkedPlan(lookup, e, signers);
    if ('missing' in checked) {
      missingPlans.push({ service: e.service, planId: e.planId ?? '', reason: checked.missing });
      continue;
    }
    const { found, signature } = checked;
    const live = production ? await production.getApp(marathonAppId(found.plan.service, 'production')) : undefined;
    pending.push({
      plan: found.plan,
      // What it changes now, from its app and the live app (never the stored diff) when production can be read.
      diff: live === undefined ? found.plan.diff : diffApp(found.plan.app, live?.raw ?? null),
      stale: live !== undefined && (live?.version ?? null) !== found.plan.liveVersion,
      ...(live === undefined ? { diffAtPlanTime: true } : {}),
      signature,
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
  const signers = await allowedSignersIfAny(ctx);
  const verification = await verifyAuditLog(read, signers);
  const fleet = await fleetOf(ctx, opts, read);
  const { pending, missingPlans } = await pendingOf(ctx, opts, read, fleet.clients.production, signers);
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
