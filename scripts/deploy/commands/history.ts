import Table from 'cli-table3';
import { Command } from 'commander';
import { AuditEvent } from '../../../lib/audit/log';
import { parseSince } from '../../../lib/report/dora';
import { CliContext, parseEnvironment, withExitHelp } from '../context';

/** `deploy history`: the audit log, newest last. */
export function register(program: Command, ctx: CliContext): void {
  withExitHelp(program.command('history'))
    .description('every plan, approval, apply and rollback from the audit log (who, when, what, outcome)')
    .option('--service <name>', 'only this service')
    .option('--env <env>', 'only this environment')
    .option('--since <when>', "only events since then: '30d', '12h', '2w' or a date")
    .option('--json', 'print the events as JSON (one array)')
    .action(
      ctx.action(async (opts: { service?: string; env?: string; since?: string; json?: boolean }) => {
        if (opts.service !== undefined) ctx.catalog().get(opts.service);
        const events = await ctx.audit().list({
          service: opts.service,
          environment: opts.env === undefined ? undefined : parseEnvironment(opts.env),
          since: opts.since === undefined ? undefined : parseSince(opts.since),
        });
        if (opts.json) {
          ctx.json(events);
          return;
        }
        if (events.length === 0) {
          ctx.out(`no events in ${ctx.audit().location}`);
          return;
        }
        const t = new Table({ head: ['time', 'service', 'env', 'event', 'actor', 'details'], style: { head: [], border: [] } });
        for (const e of events) t.push([e.time.replace('T', ' ').slice(0, 19), e.service, e.environment, e.type, e.actor, details(e)]);
        ctx.out(t.toString());
      }),
    );
}

function details(e: AuditEvent): string {
  const parts: string[] = [];
  if (e.image) parts.push(e.image.split('/').pop() ?? e.image);
  if (e.planId) parts.push(`plan ${e.planId.slice(0, 12)}`);
  if (e.approver && e.type !== 'approval.recorded') parts.push(`approved by ${e.approver}`);
  if (e.appVersion) parts.push(`version ${e.appVersion}`);
  if (e.emergency) parts.push('EMERGENCY');
  if (e.comment) parts.push(`"${e.comment}"`);
  if (e.reason) parts.push(e.reason);
  return parts.join(', ');
}
