import { Command } from 'commander';
import { formatChanges } from '../../../lib/deploy/changes';
import { callerPath } from '../../cli-kit';
import { approvePlan } from '../../../lib/gate/gate';
import { isRefusal, readPlanForGate, recordRefusal } from '../../../lib/gate/apply-plan';
import { formatDiff, releaseSummary } from '../../../lib/gate/plan-file';
import { liveOfRelease } from '../../../lib/deploy/release';
import { CliContext } from '../context';
import { marathonOptions, withExitHelp } from '../options';
import { maxPlanCommits } from './changes-option';
import { allowedSigners, keyOption, signAuditRecords, signingKey, whoTried } from './signing-options';

/**
 * `deploy approve FILE`: shows what the plan changes, computed now from its app and the live app, and records a
 * signed approval of that one plan id.
 */
export function register(program: Command, ctx: CliContext): void {
  keyOption(marathonOptions(withExitHelp(program.command('approve'))))
    .description('approve a production plan: shows the diff of its app against what runs now, signs and records the approval')
    .argument('<file>', "plan file written by 'deploy plan --out'")
    .option('--comment <text>', 'why it is fine to ship (kept in the audit log)')
    .option('--json', 'print the approval as JSON')
    .action(
      ctx.action(async (file: string, opts: { comment?: string; json?: boolean; key?: string; timeout: number; marathon?: string }) => {
        await signAuditRecords(ctx, opts.key);
        const audit = ctx.audit();
        const keyPath = await signingKey(ctx, opts.key);
        const plan = await readPlanForGate(audit, callerPath(ctx.env, file), await whoTried(ctx, keyPath));
        const service = ctx.catalog().get(plan.service);
        try {
          const signers = await allowedSigners(ctx);
          const client = ctx.client({ environment: plan.environment, marathon: opts.marathon, timeoutSeconds: opts.timeout });
          const live = await liveOfRelease(client, service, plan.environment, plan.app);
          const { approval, derived } = await approvePlan({
            plan,
            service,
            live,
            audit,
            signers,
            keyPath,
            ...(opts.comment ? { comment: opts.comment } : {}),
          });
          if (opts.json) {
            ctx.json({
              ...approval,
              service: plan.service,
              environment: plan.environment,
              image: derived.image,
              runs: derived.runs,
              digest: derived.digest,
              diff: derived.diff,
              release: plan.release ?? { strategy: { kind: 'rolling' }, steps: [], summary: releaseSummary(plan) },
              changes: plan.changes ?? null,
            });
            return;
          }
          ctx.out(
            `approved plan ${plan.id.slice(0, 12)} (${plan.service} in ${plan.environment}) as ${approval.approver}, valid until ${approval.expiresAt}`,
          );
          ctx.out(
            `  runs ${derived.runs}${derived.digest || derived.image === null ? '' : ' (not pinned to a digest)'}; against live version ${derived.liveVersion ?? 'none'}:`,
          );
          ctx.out(`  release: ${releaseSummary(plan)} (the approval covers every step)`);
          ctx.out(
            formatDiff(derived.diff)
              .split('\n')
              .map((l) => `  ${l}`)
              .join('\n'),
          );
          ctx.out(
            formatChanges(plan.changes, maxPlanCommits(ctx))
              .map((l) => `  ${l}`)
              .join('\n'),
          );
          ctx.out(`apply it with: deploy apply --plan ${file}`);
        } catch (error) {
          if (isRefusal(error)) {
            const actor = await whoTried(ctx, keyPath);
            await recordRefusal(audit, { service: plan.service, environment: plan.environment, actor, planId: plan.id, error });
          }
          throw error;
        }
      }),
    );
}
