import { Command } from 'commander';
import { approvePlan } from '../../../lib/gate/gate';
import { formatDiff, readPlanFile } from '../../../lib/gate/plan';
import { CliContext, withExitHelp } from '../context';

/** `deploy approve FILE`: records a reviewer's approval of one exact plan id in the audit log. */
export function register(program: Command, ctx: CliContext): void {
  withExitHelp(program.command('approve'))
    .description('approve a production plan (recorded in the audit log with who, when and the comment)')
    .argument('<file>', "plan file written by 'deploy plan --out'")
    .option('--comment <text>', 'why it is fine to ship (kept in the audit log)')
    .option('--json', 'print the approval as JSON')
    .action(
      ctx.action(async (file: string, opts: { comment?: string; json?: boolean }) => {
        const plan = await readPlanFile(file);
        const service = ctx.catalog().get(plan.service);
        const approval = await approvePlan({ plan, service, audit: ctx.audit(), actor: ctx.actor(), comment: opts.comment });
        if (opts.json) {
          ctx.json({ ...approval, service: plan.service, environment: plan.environment, image: plan.image });
          return;
        }
        ctx.out(`approved plan ${plan.id.slice(0, 12)} (${plan.service} in ${plan.environment}, ${plan.image}) as ${approval.approver}`);
        ctx.out(
          formatDiff(plan.diff)
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n'),
        );
        ctx.out(`apply it with: deploy apply --plan ${file}`);
      }),
    );
}
