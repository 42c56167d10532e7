import { Command } from 'commander';
import { advanceRollout } from '../../../lib/deploy/rollout';
import { promoteInProduction } from '../../../lib/gate/apply-plan';
import { CliContext } from '../context';
import { printOutcome, rolloutCommand, RolloutOptions, rolloutTarget, withJsonError } from './rollout-common';
import { SmokeOptions, smokeOptions, smokeTestOf } from '../smoke-test';
import { allowedSigners, signAuditRecords, signingKey, whoTried } from './signing-options';

/**
 * `deploy promote SERVICE --env ENV`: moves a paused canary past its pause, or resumes a rollout that stopped mid-way
 * (Ctrl-C, a deadline, Marathon gone), up to its next pause or 100 %. In production only an approver of the service,
 * with their key, and only the rollout an approved plan started.
 */
export function register(program: Command, ctx: CliContext): void {
  smokeOptions(rolloutCommand(program, 'promote'))
    .description(
      'go on with a blue/green or canary rollout: past a pause for promote, or from where an interrupted one stopped (production: an approver, with --key)',
    )
    .action(
      ctx.action((name: string, opts: RolloutOptions & SmokeOptions) =>
        withJsonError(ctx, opts, async () => {
          const target = rolloutTarget(ctx, name, opts);
          const { service, environment } = target;
          const smokeTest = smokeTestOf({ env: ctx.env, signal: target.rc.signal }, service, opts);
          const rc = smokeTest ? { ...target.rc, smokeTest } : target.rc;
          await signAuditRecords(ctx, opts.key);
          const outcome = await ctx.progress().run(`promoting ${service.name} in ${environment}`, async () => {
            if (environment !== 'production') return advanceRollout(rc, { def: service, env: environment }, { promote: true });
            const keyPath = await signingKey(ctx, opts.key);
            return promoteInProduction(
              { ...rc, audit: ctx.audit() },
              { service, signers: await allowedSigners(ctx), keyPath, triedBy: await whoTried(ctx, keyPath) },
            );
          });
          printOutcome(ctx, opts, service.name, environment, outcome);
        }),
      ),
    );
}
