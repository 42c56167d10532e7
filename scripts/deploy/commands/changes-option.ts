import { DEFAULT_MAX_COMMITS } from '../../../lib/deploy/changes';
import { CliContext } from '../context';
import { parseCount } from '../options';

/** The most commits one plan may bundle before it is flagged: `C2C_MAX_PLAN_COMMITS`, else 5. */
export function maxPlanCommits(ctx: Pick<CliContext, 'env'>): number {
  const v = ctx.env.C2C_MAX_PLAN_COMMITS;
  return v === undefined || v === '' ? DEFAULT_MAX_COMMITS : parseCount(v, 'C2C_MAX_PLAN_COMMITS', 1, 10000);
}
