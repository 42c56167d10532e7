import { Command } from 'commander';
import { authorizationsOf, BreakGlass, breakGlassStatement, gatedRollback } from '../../../lib/gate/rollback-rules';
import { C2CError } from '../../../lib/errors';
import { isRefusal, recordRefusal } from '../../../lib/gate/apply-plan';
import { NAMESPACES, signMessage } from '../../../lib/signing';
import { CliContext, EXIT } from '../context';
import { parseEnvironment, requireOption, waitOptions, withExitHelp } from '../options';
import { allowedSigners, allowedSignersIfAny, keyOption, signAuditRecords, signingKey, whoTried } from './signing-options';

interface RollbackOptions {
  service?: string;
  env?: string;
  to?: string;
  force?: boolean;
  breakGlass?: boolean;
  reason?: string;
  key?: string;
  json?: boolean;
  timeout: number;
  marathon?: string;
  maxTaskFailures: number;
}

/**
 * `deploy rollback`: restore the previous healthy version (or `--to`), and wait until it is healthy. In production only
 * to a known-good version, without a new approval; anything else needs `--break-glass --reason TEXT`, signed.
 */
export function register(program: Command, ctx: CliContext): void {
  keyOption(waitOptions(withExitHelp(program.command('rollback'))))
    .description(
      'restore the previous known-good version (or --to VERSION) and wait until it is healthy; in production no approval is needed, and only known-good versions qualify',
    )
    .option('--service <name>', 'service from the catalog')
    .option('--env <env>', 'staging or production')
    .option('--to <version>', 'a stored Marathon version (see GET /v2/apps/<id>/versions); default: the previous known-good one')
    .option('--force', 'cancel a deployment that holds the app (production: with --break-glass only)')
    .option('--break-glass', 'production: restore a version that is not known good, or --force; signed with your key and recorded as such')
    .option('--reason <text>', 'with --break-glass: why (kept in the audit log)')
    .option('--json', 'print the result as JSON')
    .action(ctx.action((opts: RollbackOptions) => run(ctx, opts)));
}

async function run(ctx: CliContext, opts: RollbackOptions): Promise<number> {
  const service = ctx.catalog().get(requireOption(opts.service, '--service', 'bulb-api'));
  const environment = parseEnvironment(opts.env);
  if (opts.to !== undefined && Number.isNaN(Date.parse(opts.to))) {
    throw new C2CError('USAGE', `--to '${opts.to}' is not a Marathon version timestamp`, { hint: 'e.g. --to 2026-11-27T10:42:01.123Z' });
  }
  if (opts.breakGlass && (opts.reason ?? '').trim() === '') {
    throw new C2CError('USAGE', '--break-glass needs --reason TEXT', {
      hint: "e.g. --reason 'v41 corrupts orders; v39 is the last version we trust'",
    });
  }
  if (opts.reason !== undefined && !opts.breakGlass) {
    throw new C2CError('USAGE', '--reason is only for --break-glass', { hint: 'leave out --reason, or add --break-glass' });
  }
  if (opts.breakGlass && environment !== 'production') {
    throw new C2CError('USAGE', '--break-glass is for production; a staging rollback needs none', { hint: 'leave out --break-glass' });
  }
  const deploy = ctx.deployContext(opts, environment);
  await signAuditRecords(ctx, opts.key);
  const audit = ctx.audit();
  const read = await audit.read();
  const { events, problems } = read;
  // A damaged log never blocks a rollback: bad lines are named and skipped.
  for (const p of problems.slice(0, 3)) ctx.err(`note: audit log line ${p.line}: ${p.message}`);
  if (problems.length > 3) ctx.err(`note: ${problems.length - 3} more audit log problems ('deploy history --verify' lists them)`);
  const history = events.filter((e) => e.service === service.name && e.environment === environment);
  const keyPath = opts.breakGlass ? await signingKey(ctx, opts.key) : undefined;
  const progress = ctx.progress();
  try {
    let breakGlass: BreakGlass | undefined;
    if (opts.breakGlass) {
      if (!keyPath) {
        throw new C2CError('GATE_NO_SIGNING_KEY', 'break-glass is signed with your SSH key, and no key is set', {
          hint: "pass --key PATH or set DEPLOY_SIGNING_KEY (or git's user.signingkey); its public key must be in the allowed-signers file",
        });
      }
      const reason = (opts.reason ?? '').trim();
      const time = new Date().toISOString();
      const message = breakGlassStatement({ service: service.name, environment, to: opts.to, force: Boolean(opts.force), reason, time });
      breakGlass = {
        reason,
        time,
        signature: await signMessage(keyPath, NAMESPACES.breakGlass, message),
        signers: await allowedSigners(ctx),
      };
      ctx.err(`BREAK-GLASS rollback of ${service.name} in production: "${reason}" (signed, recorded in the audit log)`);
    } else if (environment === 'production') {
      ctx.err('production rollback: to a known-good version, without a new approval; recorded in the audit log');
    }
    // Production: only outcome records whose writer's signature verifies make a version known good.
    const signers = environment === 'production' ? await allowedSignersIfAny(ctx) : undefined;
    const result = await progress.run(`rolling back ${service.name} in ${environment}`, () =>
      gatedRollback(deploy, {
        service,
        environment,
        history,
        authorizations: authorizationsOf(read),
        ...(signers ? { signers } : {}),
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        ...(opts.force ? { force: true } : {}),
        ...(breakGlass ? { breakGlass } : {}),
      }),
    );
    if (opts.json) ctx.json({ ok: true, ...result, ...(breakGlass ? { breakGlass: true } : {}) });
    else
      ctx.out(
        `rolled back ${result.appId} to version ${result.restored} (${result.image ?? 'no image'}); it now runs as version ${result.version}`,
      );
    return EXIT.ok;
  } catch (error) {
    if (isRefusal(error)) {
      await recordRefusal(audit, { service: service.name, environment, actor: await whoTried(ctx, keyPath), error });
    }
    throw error;
  }
}
