import { DEFAULT_MAX_COMMITS, formatChanges } from '../deploy/changes';
import { PlanFile, formatDiff } from '../gate/plan-file';
import { approvalLink, postNotice, PlanNotice } from './message';

/** Where a plan was made: the build (in Cloud Build) or the plan file (at a terminal). */
export interface PlanNotifyContext {
  /** The webhook URL (a setting: `C2C_NOTIFY_WEBHOOK`); undefined when none is set. */
  readonly webhook: string | undefined;
  readonly plan: PlanFile;
  readonly planPath: string;
  readonly reviewers?: readonly string[];
  /** More commits than this in the plan is flagged (`C2C_MAX_PLAN_COMMITS`). @default 5 */
  readonly maxCommits?: number;
  /** Project and region of the build (`C2C_BUILD_PROJECT`, `C2C_BUILD_LOCATION`), for the link. */
  readonly project?: string;
  readonly location?: string;
  /** Told what happened (the CLI prints it on stderr). */
  readonly report: (line: string) => void;
}

/** The notice `deploy plan --notify` sends: the plan waits for approval. */
export function waitingNotice(c: Omit<PlanNotifyContext, 'webhook' | 'report'>): PlanNotice {
  return {
    kind: 'waiting',
    service: c.plan.service,
    environment: c.plan.environment,
    planId: c.plan.id,
    author: c.plan.commitAuthor ?? c.plan.createdBy,
    ...(c.plan.commit ? { commit: c.plan.commit } : {}),
    diff: formatDiff(c.plan.diff),
    changes: formatChanges(c.plan.changes, c.maxCommits ?? DEFAULT_MAX_COMMITS).join('\n'),
    link: approvalLink({ project: c.project, location: c.location, service: c.plan.service, planPath: c.planPath }),
    ...(c.reviewers ? { reviewers: c.reviewers } : {}),
  };
}

/**
 * `deploy plan --notify`: tells the service's reviewers that a plan waits. A chat outage never fails the plan: the
 * failure is reported as a note and the plan stands. Without a webhook setting, says how to set one.
 */
export async function notifyPlanWaiting(c: PlanNotifyContext): Promise<boolean> {
  if (!c.webhook) {
    c.report('note: --notify: no C2C_NOTIFY_WEBHOOK is set (a Slack or Google Chat incoming webhook URL); nobody was told');
    return false;
  }
  try {
    await postNotice(c.webhook, waitingNotice(c));
    c.report(`notified the reviewers of ${c.plan.service} that plan ${c.plan.id.slice(0, 12)} waits for approval`);
    return true;
  } catch (err) {
    c.report(`note: ${(err as Error).message}; the plan stands`);
    return false;
  }
}
