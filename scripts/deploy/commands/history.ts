import Table from 'cli-table3';
import { Command } from 'commander';
import { AuditEvent, filterEvents } from '../../../lib/audit/log';
import { breakGlassMismatch, parseBreakGlass, readAnchors, verifyAuditLog } from '../../../lib/gate/verify-log';
import { safeField } from '../../../lib/terminal-safe';
import { parseSince } from '../../../lib/report/dora';
import { CliContext, EXIT } from '../context';
import { parseEnvironment, withExitHelp } from '../options';
import { allowedSignersIfAny } from './signing-options';

interface HistoryOptions {
  service?: string;
  env?: string;
  since?: string;
  json?: boolean;
  verify?: boolean;
  marathon?: string;
}

/** `deploy history`: the audit log, newest last; `--verify` checks its hash chain and every signature. */
export function register(program: Command, ctx: CliContext): void {
  withExitHelp(program.command('history'))
    .description('every plan, approval, refusal, apply and rollback from the audit log (who, when, what, outcome)')
    .option('--service <name>', 'only this service')
    .option('--env <env>', 'only this environment')
    .option('--since <when>', "only events since then: '30d', '12h', '2w' or a date")
    .option(
      '--verify',
      "check the hash chain, every signature and the production Marathon's anchors; name the first bad line (exit 1 when any)",
    )
    .option(
      '--marathon <url>',
      'the production Marathon whose app versions anchor the log (default: MARATHON_URL_PRODUCTION, MARATHON_URL)',
    )
    .option('--json', 'print the events as JSON (one array)')
    .action(ctx.action((opts: HistoryOptions) => run(ctx, opts)));
}

async function run(ctx: CliContext, opts: HistoryOptions): Promise<number> {
  if (opts.service !== undefined) ctx.catalog().get(opts.service);
  const audit = ctx.audit();
  const read = await audit.read();
  if (opts.verify) {
    // The anchors: production app versions carry the log's head when they were applied; Marathon keeps every version.
    const anchored = ctx.hasMarathon('production', opts.marathon);
    const anchors = anchored
      ? await readAnchors(ctx.client({ environment: 'production', marathon: opts.marathon, timeoutSeconds: 60 }))
      : [];
    const result = await verifyAuditLog(read, await allowedSignersIfAny(ctx), anchors);
    if (opts.json) ctx.json({ ok: result.problems.length === 0, location: audit.location, anchored, ...result });
    if (result.problems.length === 0) {
      if (!opts.json) {
        ctx.out(
          `${audit.location}: ${result.records} records, hash chain intact, ${result.signatures} signatures verified` +
            (result.unsigned > 0 ? `, ${result.unsigned} records unsigned (their writer cannot be verified)` : '') +
            (anchored
              ? `, ${result.anchors} anchors in production Marathon found in the log`
              : ', not checked against production Marathon (no URL)'),
        );
      }
      return EXIT.ok;
    }
    if (!opts.json) for (const p of result.problems) ctx.out(`line ${p.line}: ${safeField(p.message)}`);
    ctx.err(`deploy: audit log ${audit.location} is damaged from line ${result.problems[0].line}: ${result.problems[0].message}`);
    ctx.err("hint: the log is append-only; compare with the team's copy (GCS keeps every record write-once) and find who wrote that line");
    return EXIT.failed;
  }
  for (const p of read.problems) ctx.err(`note: audit log line ${p.line}: ${p.message}`);
  const events = filterEvents(read.events, {
    service: opts.service,
    environment: opts.env === undefined ? undefined : parseEnvironment(opts.env),
    since: opts.since === undefined ? undefined : parseSince(opts.since),
  });
  if (opts.json) {
    ctx.json(events);
    return EXIT.ok;
  }
  if (events.length === 0) {
    ctx.out(`no events in ${audit.location}`);
    return EXIT.ok;
  }
  const glass = events.filter((e) => e.breakGlass && e.type === 'rollback.started');
  for (const e of glass) {
    // What was signed, not what the record's fields say (they may have been rewritten; --verify names such a line).
    const signed = parseBreakGlass(e.signedStatement);
    const mismatch = breakGlassMismatch(e);
    ctx.out(
      `!! BREAK-GLASS ${safeField(e.time)}: ${safeField(e.actor)} rolled back ${safeField(e.service)} in ${safeField(e.environment)} to ${safeField(e.appVersion ?? '?')}: ` +
        (signed ? `signed reason: ${safeField(signed.reason)}` : 'no signed statement') +
        (mismatch ? ` (the record does not match what was signed: ${safeField(mismatch)})` : ''),
    );
  }
  const t = new Table({ head: ['time', 'service', 'env', 'event', 'actor', 'details'], style: { head: [], border: [] } });
  for (const e of events)
    t.push([e.time.replace('T', ' ').slice(0, 19), e.service, e.environment, e.type, e.actor, details(e)].map((c) => safeField(String(c))));
  ctx.out(t.toString());
  return EXIT.ok;
}

function details(e: AuditEvent): string {
  const parts: string[] = [];
  if (e.breakGlass) parts.push('!! BREAK-GLASS');
  if (e.image) parts.push(e.image.split('/').pop() ?? e.image);
  if (e.planId) parts.push(`plan ${e.planId.slice(0, 12)}`);
  if (e.approver && e.type !== 'approval.recorded') parts.push(`approved by ${e.approver}`);
  if (e.signature) parts.push('signed');
  if (e.appVersion) parts.push(`version ${e.appVersion}`);
  if (e.emergency && !e.breakGlass) parts.push('emergency');
  if (e.comment) parts.push(`"${e.comment}"`);
  if (e.code) parts.push(e.code);
  if (e.reason && !e.breakGlass) parts.push(e.reason);
  return parts.join(', ');
}
