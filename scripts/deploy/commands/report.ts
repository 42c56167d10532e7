import Table from 'cli-table3';
import { Command } from 'commander';
import { doraReport, DoraFigures, formatDuration, parseSince } from '../../../lib/report/dora';
import { filterEvents } from '../../../lib/audit/log';
import { CliContext } from '../context';
import { checkFileTarget } from '../file-target';
import { marathonOptions, parseEnvironment, withExitHelp } from '../options';
import { writeReportPage } from './report-page';

/** `deploy report`: the four DORA figures per service and for the fleet, from the audit log. */
export function register(program: Command, ctx: CliContext): void {
  marathonOptions(withExitHelp(program.command('report')))
    .description('DORA figures per service and for the fleet: deploy frequency, lead time, change failure rate, time to restore')
    .option('--since <when>', "window start: '30d', '12h', '2w' or a date (default 30d; 90d with --html)")
    .option('--env <env>', 'environment', 'production')
    .option('--json', 'print JSON')
    .option(
      '--html <file>',
      "write the team's page: DORA trends, the fleet, plans waiting for approval, the audit trail and whether it verifies (one self-contained HTML file)",
    )
    .option(
      '--plans <dir|gs://bucket/prefix>',
      "where the plan files of waiting plans are (with --html): a directory, or the deploy bucket's plans (gs://BUCKET/plans, as the push builds upload them)",
      '.c2c/plans',
    )
    .action(
      ctx.action(
        async (opts: { since?: string; env: string; json?: boolean; html?: string; plans: string; timeout: number; marathon?: string }) => {
          const environment = parseEnvironment(opts.env);
          if (opts.html !== undefined) checkFileTarget(opts.html, '--html');
          const since = parseSince(opts.since ?? (opts.html !== undefined ? '90d' : '30d'));
          const read = await ctx.audit().read();
          const events = filterEvents(read.events);
          const report = doraReport(events, { since, environment });
          if (opts.html !== undefined) {
            await writeReportPage(ctx, report, read, {
              file: opts.html,
              plans: opts.plans,
              timeout: opts.timeout,
              marathon: opts.marathon,
            });
            if (!opts.json) {
              ctx.out(`page written to ${opts.html}`);
              return;
            }
          }
          // Break-glass is never a quiet figure: every one in the window is listed.
          const breakGlass = events
            .filter(
              (e) =>
                e.breakGlass && e.type === 'rollback.started' && e.environment === environment && Date.parse(e.time) >= since.getTime(),
            )
            .map((e) => ({ time: e.time, service: e.service, actor: e.actor, version: e.appVersion ?? null, reason: e.reason ?? '' }));
          if (opts.json) {
            ctx.json({ ...report, breakGlass });
            return;
          }
          const t = new Table({
            head: ['service', 'deploys', 'per day', 'lead time (median)', 'change failure rate', 'time to restore (median)'],
            style: { head: [], border: [] },
          });
          const row = (f: DoraFigures) => [
            f.service,
            String(f.deploys),
            f.deploysPerDay.toFixed(2),
            formatDuration(f.leadTimeMs),
            f.changeFailureRate === null ? '-' : `${Math.round(f.changeFailureRate * 100)}% (${f.failures}/${f.deploys})`,
            formatDuration(f.timeToRestoreMs),
          ];
          for (const f of report.services) t.push(row(f));
          t.push(row(report.fleet));
          ctx.out(
            `DORA figures for ${environment}, ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)} (${report.days.toFixed(1)} days)`,
          );
          ctx.out(t.toString());
          if (breakGlass.length > 0) {
            ctx.out(`!! ${breakGlass.length} BREAK-GLASS rollback(s) in ${environment} in this window:`);
            for (const b of breakGlass) ctx.out(`!!   ${b.time} ${b.service} to ${b.version} by ${b.actor}: ${b.reason}`);
          }
        },
      ),
    );
}
