import { Command } from 'commander';
import { readPlanFile } from '../../../lib/gate/plan-file';
import { notifyPlanWaiting } from '../../../lib/notify';
import { CliContext, EXIT } from '../context';

export const NOTIFY_HELP = `
The push build runs it after the plan is uploaded (the upload starts the production build that waits for approval),
so that the approval the notice announces can be given when it arrives. A chat outage never fails it: the failure is
printed as a note and the exit code stays 0.

Exit codes:
  0  posted, or could not be posted (a note says why)
  2  bad usage or bad input (no such plan file, not a plan)

Environment:
  C2C_NOTIFY_WEBHOOK                       the chat webhook (Slack or Google Chat incoming webhook URL), never printed
  C2C_BUILD_PROJECT, C2C_BUILD_LOCATION    the build's project and region, for the approval link`;

/** `deploy notify --plan FILE`: tells the service's reviewers that an uploaded plan waits for approval. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('notify')
    .description("tell the service's reviewers that a plan waits for approval (posts to the chat webhook C2C_NOTIFY_WEBHOOK)")
    .requiredOption('--plan <file>', 'the plan file, as uploaded')
    .addHelpText('after', NOTIFY_HELP)
    .action(
      ctx.action(async (opts: { plan: string }) => {
        const plan = await readPlanFile(opts.plan);
        // The reviewers come from the catalog, never from the file.
        const catalog = ctx.catalog();
        const reviewers = catalog.names().includes(plan.service) ? catalog.get(plan.service).approvers : undefined;
        await notifyPlanWaiting({
          webhook: ctx.env.C2C_NOTIFY_WEBHOOK,
          plan,
          planPath: opts.plan,
          reviewers,
          project: ctx.env.C2C_BUILD_PROJECT,
          location: ctx.env.C2C_BUILD_LOCATION,
          report: (line) => ctx.err(line),
        });
        return EXIT.ok;
      }),
    );
}
