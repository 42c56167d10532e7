import { ServiceDefinition, SERVICE_DEFAULTS } from '../catalog/types';
import { AuditEvent, AuditLog } from '../audit/log';
import { C2CError, ErrorCode } from '../errors';
import { marathonAppId } from '../marathon/render';
import { approvedPlanId, cloudBuildContext, fetchBuild } from './cloudbuild';
import { PlanFile } from './plan';

/** A reviewer's approval of one exact plan id. */
export interface Approval {
  readonly planId: string;
  readonly approver: string;
  readonly time: string;
  readonly comment?: string;
  readonly source: 'cli' | 'cloudbuild';
  readonly buildId?: string;
}

/** Refusals are C2CErrors with a `GATE_` code: the CLI exits 3 and sends nothing that changes Marathon. */
function refuse(code: ErrorCode, message: string, hint?: string): never {
  throw new C2CError(code, message, { hint });
}

/** The `user:` part of IAM members, for matching a person's email. */
function userMembers(service: ServiceDefinition): { users: string[]; onlyUsers: boolean } {
  const users = service.approvers.filter((m) => m.startsWith('user:')).map((m) => m.slice(5).toLowerCase());
  return { users, onlyUsers: users.length === service.approvers.length };
}

/**
 * An approver must be one of the service's `approvers` when they are all `user:` members; group and domain members
 * cannot be resolved here, so then Cloud Build's own IAM (the approver role on the trigger) is the check.
 */
function checkApprover(service: ServiceDefinition, approver: string): void {
  const { users, onlyUsers } = userMembers(service);
  if (onlyUsers && !users.includes(approver.toLowerCase())) {
    refuse(
      'GATE_NOT_APPROVER',
      `${approver} is not an approver of ${service.name} (approvers: ${service.approvers.join(', ')})`,
      `ask one of them to approve, or add the reviewer to 'approvers' in services/${service.name}.ts`,
    );
  }
}

function checkFourEyes(service: ServiceDefinition, plan: PlanFile, approver: string): void {
  if ((service.fourEyes ?? SERVICE_DEFAULTS.fourEyes) && approver.toLowerCase() === plan.createdBy.toLowerCase()) {
    refuse(
      'GATE_SELF_APPROVAL',
      `${approver} created plan ${plan.id.slice(0, 12)} and may not approve it (four-eyes rule for ${service.name})`,
      `ask another approver (${service.approvers.join(', ')}); set 'fourEyes: false' in services/${service.name}.ts to allow self-approval`,
    );
  }
}

function ttlMs(service: ServiceDefinition): number {
  return (service.approvalTtlHours ?? SERVICE_DEFAULTS.approvalTtlHours) * 3600_000;
}

/**
 * Records an approval of a production plan (`deploy approve`). Refuses, with a GATE_ code, a plan for staging, an
 * approver who is the plan's author under four-eyes, and someone who is not an approver.
 */
export async function approvePlan(input: {
  plan: PlanFile;
  service: ServiceDefinition;
  audit: AuditLog;
  actor: string;
  comment?: string;
  now?: Date;
}): Promise<Approval> {
  const { plan, service, actor } = input;
  const now = input.now ?? new Date();
  if (plan.service !== service.name)
    refuse('GATE_WRONG_SERVICE', `plan ${plan.id.slice(0, 12)} is for ${plan.service}, not ${service.name}`);
  checkFourEyes(service, plan, actor);
  checkApprover(service, actor);
  const approval: Approval = {
    planId: plan.id,
    approver: actor,
    time: now.toISOString(),
    source: 'cli',
    ...(input.comment ? { comment: input.comment } : {}),
  };
  await input.audit.record({
    type: 'approval.recorded',
    service: plan.service,
    environment: plan.environment,
    actor,
    planId: plan.id,
    image: plan.image,
    approver: actor,
    approvalSource: 'cli',
    time: approval.time,
    expiresAt: new Date(now.getTime() + ttlMs(service)).toISOString(),
    ...(input.comment ? { comment: input.comment } : {}),
  });
  return approval;
}

function approvalFromEvent(e: AuditEvent): Approval {
  return {
    planId: e.planId ?? '',
    approver: e.approver ?? e.actor,
    time: e.time,
    source: 'cli',
    ...(e.comment ? { comment: e.comment } : {}),
  };
}

/**
 * The production gate. Returns the approval that authorizes applying `plan`, or throws a C2CError with a GATE_ code
 * and a one-line reason: no approval, an approval of another plan, the live app changed since planning (stale), the
 * approval expired, the approver is the author (four-eyes), or is not an approver. It sends nothing to Marathon: the
 * caller passes the live version it read.
 */
export async function authorizeProduction(input: {
  plan: PlanFile;
  service: ServiceDefinition;
  liveVersion: string | null;
  audit: AuditLog;
  approvalSource: 'local' | 'cloudbuild';
  env?: NodeJS.ProcessEnv;
  now?: Date;
}): Promise<Approval> {
  const { plan, service } = input;
  const env = input.env ?? {};
  const now = input.now ?? new Date();
  const short = plan.id.slice(0, 12);

  if (plan.service !== service.name) refuse('GATE_WRONG_SERVICE', `plan ${short} is for ${plan.service}, not ${service.name}`);
  if (plan.app.id !== marathonAppId(plan.service, plan.environment)) {
    refuse(
      'GATE_WRONG_APP',
      `plan ${short} targets Marathon app ${plan.app.id}, expected ${marathonAppId(plan.service, plan.environment)}`,
      'plan again',
    );
  }
  if (plan.liveVersion !== input.liveVersion) {
    refuse(
      'GATE_STALE_PLAN',
      `plan ${short} was made against version ${plan.liveVersion ?? '(no app)'}, but ${plan.app.id} now runs version ${input.liveVersion ?? '(no app)'}`,
      `plan again ('deploy plan --service ${plan.service} --env ${plan.environment} --image ${plan.image}') and have the new plan approved`,
    );
  }

  let approval: Approval;
  if (input.approvalSource === 'cloudbuild') {
    const ctx = cloudBuildContext(env);
    const build = await fetchBuild(ctx, env);
    const result = build.approval?.result;
    if (build.approval?.state !== 'APPROVED' || result?.decision !== 'APPROVED' || !result.approverAccount || !result.approvalTime) {
      refuse(
        'GATE_NO_APPROVAL',
        `build ${ctx.buildId} is not approved (approval state ${build.approval?.state ?? 'none'})`,
        'approve the build in the Cloud Build console (Approve), as one of the service approvers',
      );
    }
    const approvedPlan = approvedPlanId(build);
    if (approvedPlan !== plan.id) {
      refuse(
        'GATE_APPROVAL_MISMATCH',
        `build ${ctx.buildId} was approved for plan ${approvedPlan ? approvedPlan.slice(0, 12) : '(none)'}, not plan ${short}`,
        'the production build must be started for this plan: its _PLAN_OBJECT must be <prefix>/<plan id>.json (or _PLAN_ID the plan id)',
      );
    }
    approval = {
      planId: plan.id,
      approver: result.approverAccount,
      time: result.approvalTime,
      source: 'cloudbuild',
      buildId: ctx.buildId,
      ...(result.comment ? { comment: result.comment } : {}),
    };
    checkFourEyes(service, plan, approval.approver);
    checkApprover(service, approval.approver);
    // The click in Cloud Build is the approval: keep who, when and the comment in our own audit log too.
    await input.audit.record({
      type: 'approval.recorded',
      service: plan.service,
      environment: plan.environment,
      actor: approval.approver,
      approver: approval.approver,
      approvalSource: 'cloudbuild',
      planId: plan.id,
      image: plan.image,
      time: new Date(Date.parse(approval.time)).toISOString(),
      reason: `Cloud Build build ${ctx.buildId}`,
      expiresAt: new Date(Date.parse(approval.time) + ttlMs(service)).toISOString(),
      ...(approval.comment ? { comment: approval.comment } : {}),
    });
  } else {
    const approvals = await input.audit.list({ service: plan.service, environment: plan.environment, types: ['approval.recorded'] });
    const mine = approvals.filter((e) => e.planId === plan.id);
    if (mine.length === 0) {
      const other = approvals[approvals.length - 1];
      if (other) {
        refuse(
          'GATE_APPROVAL_MISMATCH',
          `no approval for plan ${short}; the latest approval for ${plan.service} in ${plan.environment} is for plan ${(other.planId ?? '').slice(0, 12)}`,
          `an approval covers one exact plan: have plan ${short} approved ('deploy approve FILE')`,
        );
      }
      refuse(
        'GATE_NO_APPROVAL',
        `plan ${short} for ${plan.service} in ${plan.environment} has no approval`,
        `ask one of ${service.approvers.join(', ')} to run 'deploy approve <plan file>'`,
      );
    }
    approval = approvalFromEvent(mine[mine.length - 1]);
  }

  checkFourEyes(service, plan, approval.approver);
  checkApprover(service, approval.approver);
  const expires = Date.parse(approval.time) + ttlMs(service);
  if (now.getTime() > expires) {
    refuse(
      'GATE_APPROVAL_EXPIRED',
      `the approval of plan ${short} by ${approval.approver} expired at ${new Date(expires).toISOString()}`,
      'plan again and have the new plan approved',
    );
  }
  return approval;
}
