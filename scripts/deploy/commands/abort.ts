import { Command } from 'commander';
import { abortRollout } from '../../../lib/deploy/rollout';
import { CliContext } from '../context';
import { printOutcome, rolloutCommand, RolloutOptions, rolloutTarget, withJsonError } from './rollout-common';
import { signAuditRecords, signingKey, whoTried } from './signing-options';

/**
 * `deploy abort SERVICE --env ENV [--reason TEXT]`: moves all traffic back to the old colour (a kept colour is started
 * again first) and removes the new one. Always allowed, in production too, and recorded with who did it.
 */
export function register(program: Command, ctx: CliContext): void {
  rolloutCommand(program, 'abort')
    .description(
      'move all traffic of a blue/green or canary rollout back to the old colour and remove the new one (always allowed; recorded)',
    )
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(
      ctx.action((name: string, opts: RolloutOptions) =>
        withJsonError(ctx, opts, async () => {
          const { service, environment, rc } = rolloutTarget(ctx, name, opts);
          await signAuditRecords(ctx, opts.key);
          // In production the record names the key's verified principal when there is one, else the local name, marked unverified.
          const actor = environment === 'production' ? await whoTried(ctx, await signingKey(ctx, opts.key)) : rc.actor;
          const outcome = await ctx
            .progress()
            .run(`aborting the rollout of ${service.name} in ${environment}`, () =>
              abortRollout({ ...rc, actor }, { def: service, env: environment }, opts.reason ?? `deploy abort by ${actor}`),
            );
          printOutcome(ctx, opts, service.name, environment, outcome);
        }),
      ),
    );
}
