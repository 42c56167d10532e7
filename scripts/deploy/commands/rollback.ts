import { Command } from 'commander';
import { rollbackService } from '../../../lib/deploy/rollback';
import { C2CError } from '../../../lib/errors';
import { CliContext, EXIT, parseEnvironment, requireOption, waitOptions, withExitHelp } from '../context';

/** `deploy rollback`: restore the previous healthy version (or `--to`), and wait until it is healthy. */
export function register(program: Command, ctx: CliContext): void {
  waitOptions(withExitHelp(program.command('rollback')))
    .description(
      'restore the previous healthy version (or --to VERSION) and wait until it is healthy; in production an audited emergency action',
    )
    .option('--service <name>', 'service from the catalog')
    .option('--env <env>', 'staging or production')
    .option('--to <version>', 'a stored Marathon version (see GET /v2/apps/<id>/versions); default: the previous healthy one')
    .option('--force', 'cancel a deployment that holds the app (e.g. a stuck bad deploy)')
    .option('--json', 'print the result as JSON')
    .action(
      ctx.action(
        async (opts: {
          service?: string;
          env?: string;
          to?: string;
          force?: boolean;
          json?: boolean;
          timeout: number;
          marathon?: string;
          maxTaskFailures: number;
        }) => {
          const service = ctx.catalog().get(requireOption(opts.service, '--service', 'bulb-api'));
          const environment = parseEnvironment(opts.env);
          if (opts.to !== undefined && Number.isNaN(Date.parse(opts.to))) {
            throw new C2CError('USAGE', `--to '${opts.to}' is not a Marathon version timestamp`, {
              hint: 'e.g. --to 2026-11-27T10:42:01.123Z',
            });
          }
          const deploy = ctx.deployContext(opts, environment);
          const audit = ctx.audit();
          const history = await audit.list({
            service: service.name,
            environment,
            types: ['apply.succeeded', 'rollback.succeeded', 'apply.rolled-back', 'apply.failed'],
          });
          const versionsOf = (types: string[]) =>
            history
              .filter((e) => types.includes(e.type))
              .map((e) => e.appVersion)
              .filter((v): v is string => v !== undefined);
          const progress = ctx.progress();
          const emergency = environment === 'production';
          if (emergency) ctx.err('production rollback: allowed without a new approval, recorded in the audit log as an emergency');
          const result = await progress.run(`rolling back ${service.name} in ${environment}`, () =>
            rollbackService(deploy, {
              service,
              environment,
              to: opts.to,
              force: opts.force,
              emergency,
              knownGoodVersions: versionsOf(['apply.succeeded', 'rollback.succeeded']),
              knownBadVersions: versionsOf(['apply.rolled-back', 'apply.failed']),
            }),
          );
          if (opts.json) ctx.json({ ok: true, ...result });
          else
            ctx.out(
              `rolled back ${result.appId} to version ${result.restored} (${result.image ?? 'no image'}); it now runs as version ${result.version}`,
            );
          return EXIT.ok;
        },
      ),
    );
}
