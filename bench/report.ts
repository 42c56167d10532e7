// The team's page at scale: 300 services and a year of production records (about two deploys a week per service:
// plan, approval, start and outcome each, a rollback now and then). Figures, each the median of 3 runs:
// - the page from the records: the DORA report over the year, 300 fleet rows and 20 waiting plans, the page rendered
//   (four charts to SVG) and written; wall and CPU seconds, and its size;
// - reading and verifying the log's lines (the hash chain), which the CLI does first;
// - the CLI: `deploy report --html FILE --since 365d` in a fresh process (built JS) over the same log file.
// Targets: the page under 2 s (CPU seconds: these machines are shared) and under 2 MB.
// Run: npm run bench -- report.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditEvent, lineHash, parseAuditLines } from '../lib/audit/log';
import { GENESIS } from '../lib/audit/types';
import { ServiceStatus } from '../lib/deploy/status';
import { sealPlan } from '../lib/gate/plan-file';
import { verifyAuditLog } from '../lib/gate/verify-log';
import { doraReport } from '../lib/report/dora';
import { fleetRows } from '../lib/report/page/gather';
import { PendingPlan, renderPage } from '../lib/report/page/html';
import { findRepoRoot } from '../constructs/settings';

const SERVICES = 300;
const RUNS = 3;
const TARGET_SECONDS = 2;
const TARGET_BYTES = 2 * 1024 * 1024;
const DAY = 86400_000;

const name = (i: number) => `svc-${String(i).padStart(3, '0')}`;

/** A year of hash-chained production records for `SERVICES` services, as the audit log file stores them. */
export function yearOfRecords(now: number): string[] {
  const events: Omit<AuditEvent, 'prev'>[] = [];
  let n = 0;
  const add = (e: Omit<AuditEvent, 'id' | 'prev' | 'environment' | 'actor'> & { actor?: string }) =>
    events.push({ id: `e${(n += 1)}`, environment: 'production', actor: 'cloudbuild@acme.example', ...e });
  for (let s = 0; s < SERVICES; s++) {
    const every = (2 + (s % 5)) * DAY; // every 2 to 6 days
    for (let t = now - 365 * DAY + (s % 24) * 3600_000, k = 0; t < now; t += every, k++) {
      const planId = `${s}-${k}`.padEnd(64, '0');
      const iso = (ms: number) => new Date(ms).toISOString();
      const image = `registry.acme.example/${name(s)}:${k.toString(16).padStart(7, '0')}`;
      add({ type: 'plan.created', service: name(s), time: iso(t - 3600_000), planId, image, actor: 'dev@acme.example' });
      add({
        type: 'approval.recorded',
        service: name(s),
        time: iso(t - 600_000),
        planId,
        approver: 'lead@acme.example',
        actor: 'lead@acme.example',
      });
      add({ type: 'apply.started', service: name(s), time: iso(t), planId, deploymentId: `d${s}-${k}`, image });
      if (k % 17 === 5)
        add({
          type: 'apply.rolled-back',
          service: name(s),
          time: iso(t + 240_000),
          deploymentId: `d${s}-${k}`,
          durationMs: 240_000,
          image,
        });
      else
        add({
          type: 'apply.succeeded',
          service: name(s),
          time: iso(t + 90_000),
          deploymentId: `d${s}-${k}`,
          commitTime: iso(t - ((k % 9) + 1) * 5400_000),
          approver: 'lead@acme.example',
          image,
          appVersion: iso(t),
        });
    }
  }
  events.sort((a, b) => (a.time < b.time ? -1 : 1));
  const lines: string[] = [];
  let prev = GENESIS;
  for (const e of events) {
    const line = JSON.stringify({ ...e, prev });
    lines.push(line);
    prev = lineHash(line);
  }
  return lines;
}

function statuses(): ServiceStatus[] {
  return Array.from({ length: SERVICES }, (_, i) =>
    (['staging', 'production'] as const).map((environment) => ({
      service: name(i),
      environment,
      appId: `/${environment}/${name(i)}`,
      state: i % 50 === 7 ? ('unhealthy' as const) : ('healthy' as const),
      image: `registry.acme.example/${name(i)}:${environment === 'staging' && i % 9 === 0 ? 'b7e001f' : 'a3f2c19'}`,
      artifact: null,
      version: '2026-12-01T10:00:00.000Z',
      commit: 'a3f2c19e5b7d9f1a2b3c4d5e6f708192a3b4c5d6',
      deployedBy: 'cloudbuild@acme.example',
      approvedBy: null,
      healthy: 2,
      running: 2,
      wanted: 2,
      healthChecks: true,
      deployment: null,
      drift: i % 40 === 3 ? [{ path: 'env.LOG_LEVEL', kind: 'changed' as const, from: 'debug', to: 'info' }] : [],
    })),
  ).flat();
}

function pending(now: number): PendingPlan[] {
  return Array.from({ length: 20 }, (_, i) => {
    const sha = (c: number) => `${c}`.repeat(40).slice(0, 40);
    const plan = sealPlan({
      format: 'c2c.plan/v1',
      service: name(i),
      environment: 'production',
      image: `registry.acme.example/${name(i)}:b7e001f`,
      commit: sha(9),
      commitAuthor: 'dev@acme.example',
      changes: {
        from: sha(1),
        to: sha(9),
        total: 1 + (i % 8),
        commits: Array.from({ length: 1 + (i % 8) }, (_, c) => ({
          sha: sha(c + 1),
          author: 'Dev <dev@acme.example>',
          subject: `change ${c}`,
        })),
      },
      app: {
        id: `/production/${name(i)}`,
        labels: { 'c2c.service': name(i), 'c2c.environment': 'production', 'c2c.commit': sha(9) },
      } as never,
      liveVersion: '2026-12-01T10:00:00.000Z',
      diff: [],
      createdBy: 'dev@acme.example',
      createdAt: new Date(now - (i + 1) * 3600_000).toISOString(),
    });
    const diff = [
      {
        path: 'container.docker.image',
        kind: 'changed' as const,
        from: 'registry.acme.example/x:a3f2c19',
        to: 'registry.acme.example/x:b7e001f',
      },
    ];
    return { plan, diff, stale: false, signature: 'unsigned' as const, approveWith: `deploy approve .c2c/plans/${name(i)}.json` };
  });
}

interface Figures {
  /** Wall seconds and CPU seconds (user + system) of this process. */
  readonly wall: number;
  readonly cpu: number;
}

async function measure<T>(work: () => Promise<T>): Promise<{ value: T; figures: Figures }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await work();
  const cpu = process.cpuUsage(cpu0);
  return { value, figures: { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 } };
}

/** One library run: the log read and verified, then the page (report, fleet rows, waiting plans, render, write). */
async function libraryRun(lines: string[], file: string, now: number): Promise<{ log: Figures; page: Figures }> {
  const read = await measure(async () => {
    const r = parseAuditLines(lines);
    return { read: r, verification: await verifyAuditLog(r, undefined) };
  });
  const page = await measure(async () => {
    const { read: r, verification } = read.value;
    const report = doraReport(r.events, { since: new Date(now - 365 * DAY), now: new Date(now) });
    const html = await renderPage({
      report,
      generatedAt: new Date(now),
      fleet: {
        rows: fleetRows(
          Array.from({ length: SERVICES }, (_, i) => name(i)),
          statuses(),
          r.events,
        ),
      },
      pending: pending(now),
      audit: { location: file, events: r.events, verification },
      maxCommits: 5,
    });
    writeFileSync(file, html);
  });
  return { log: read.figures, page: page.figures };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function main(): Promise<void> {
  const root = findRepoRoot(__dirname);
  const dir = mkdtempSync(join(tmpdir(), 'c2c-bench-report-'));
  try {
    const now = Date.now();
    const lines = yearOfRecords(now);
    const log = join(dir, 'audit.jsonl');
    writeFileSync(log, `${lines.join('\n')}\n`);
    console.log(`${SERVICES} services, ${lines.length} records over 365 days (${(statSync(log).size / 2 ** 20).toFixed(1)} MiB of log)`);
    const page = join(dir, 'page.html');
    const lib: { log: Figures; page: Figures }[] = [];
    for (let i = 0; i < RUNS; i++) lib.push(await libraryRun(lines, page, now));
    const libBytes = statSync(page).size;
    const cli: number[] = [];
    const cliPage = join(dir, 'cli.html');
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const r = spawnSync(
        process.execPath,
        [join(root, 'dist/scripts/deploy.js'), 'report', '--html', cliPage, '--since', '365d', '--plans', join(dir, 'none')],
        {
          env: { PATH: process.env.PATH, C2C_AUDIT_LOG: log, C2C_ALLOWED_SIGNERS: join(dir, 'none'), CI: 'true' },
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`deploy report --html exited ${r.status}: ${r.stderr}`);
      cli.push((performance.now() - t0) / 1000);
    }
    const cliBytes = statSync(cliPage).size;
    const verdict = (seconds: number, bytes?: number) =>
      seconds < TARGET_SECONDS && (bytes === undefined || bytes < TARGET_BYTES) ? 'ok' : 'OVER TARGET';
    const mb = (b: number) => (b / 2 ** 20).toFixed(2);
    const fig = (xs: Figures[]) => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });
    const pageFig = fig(lib.map((r) => r.page));
    const logFig = fig(lib.map((r) => r.log));
    console.log(`load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores: wall times grow with it, CPU seconds less so`);
    console.log(
      `page from the records (DORA over 365 days, 300 fleet rows, 20 waiting plans, 4 charts to SVG, write): median ${pageFig.wall.toFixed(2)} s wall, ${pageFig.cpu.toFixed(2)} s CPU, ${mb(libBytes)} MiB (target < ${TARGET_SECONDS} s, < 2 MiB): ${verdict(pageFig.cpu, libBytes)}`,
    );
    console.log(
      `reading and verifying the log (hash chain of every line): median ${logFig.wall.toFixed(2)} s wall, ${logFig.cpu.toFixed(2)} s CPU`,
    );
    console.log(
      `CLI end to end (deploy report --html --since 365d, new process, no Marathon): median ${median(cli).toFixed(2)} s wall, ${mb(cliBytes)} MiB`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bench/report: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  });
}
