import { AuditLog } from '../audit/log';
import { ServiceDefinition } from '../catalog/types';
import { GateResult } from '../deploy/apply-service';
import { ReleaseContext, ReleaseResult, releaseService } from '../deploy/release';
import { C2CError } from '../errors';
import { STAMP_LABELS } from '../marathon/app';
import { MarathonAppInfo } from '../marathon/client';
import { advanceRollout, readRollout, RolloutContext, RolloutOutcome } from '../deploy/rollout';
import { marathonAppId } from '../marathon/render';
import {
  ApprovalSource,
  authorizePromote,
  authorizeProduction,
  checkPlanConsistency,
  checkPlanRelease,
  checkPlanService,
  packageOfPlan,
} from './gate';
import { sealHook } from '../deploy/guard';
import { PlanFile, readPlanFile, TamperedPlan } from './plan-file';
import { AllowedSigners } from '../signing';

/** One plan to apply, and what the gate needs to decide. */
export interface ApplyPlanRequest {
  readonly plan: PlanFile;
  /** The catalog's definition of `plan.service`. */
  readonly service: ServiceDefinition;
  /** Where the production approval comes from. @default { kind: 'local' } */
  readonly source?: ApprovalSource;
  /** The repository's allowed signers (production, local approvals). */
  readonly signers?: AllowedSigners;
  /** Cancel a deployment that holds the app (staging only: production refuses it). */
  readonly force?: boolean;
  /** @default new Date() */
  readonly now?: Date;
}

/** True for the errors the gate records as refusals (exit 3). */
export function isRefusal(error: unknown): error is C2CError {
  return error instanceof C2CError && (error.code.startsWith('GATE_') || error.code === 'PLAN_TAMPERED');
}

/** Records a refusal: who tried, when, what and why. */
export async function recordRefusal(
  audit: AuditLog,
  input: { service: string; environment: 'staging' | 'production'; actor: string; planId?: string; image?: string; error: C2CError },
): Promise<void> {
  await audit.record({
    type: 'gate.refused',
    service: input.service,
    environment: input.environment,
    actor: input.actor,
    ...(input.planId ? { planId: input.planId } : {}),
    ...(input.image ? { image: input.image } : {}),
    code: input.error.code,
    reason: input.error.message,
  });
}

/**
 * Reads a plan file for the gate; an edited file (PLAN_TAMPERED) is recorded as a refusal, naming what it claims to be.
 */
export async function readPlanForGate(audit: AuditLog, file: string, actor: string): Promise<PlanFile> {
  try {
    return await readPlanFile(file);
  } catch (error) {
    if (error instanceof C2CError && error.code === 'PLAN_TAMPERED') {
      const claimed = error.details as TamperedPlan;
      await recordRefusal(audit, { service: claimed.service, environment: claimed.environment, actor, planId: claimed.planId, error });
    }
    throw error;
  }
}

/**
 * The production gate as one call: applies a plan file. Staging plans are applied as they are (checked for
 * consistency, stamped with their plan id). Production plans are applied only through `authorizeProduction`, run on
 * the live app read just before the submit; what is submitted is exactly the plan's `app` plus the stamp labels
 * `c2c.plan-id` and `c2c.approved-by`. `--force` is refused for production. Every refusal is recorded in the audit
 * log (`gate.refused`: who, when, code, reason) and thrown; nothing that changes Marathon is sent. The plan is released
 * with its service's strategy (`releaseService`: a rolling restart, or a blue/green or canary rollout whose new colour
 * carries the stamps), the same way in staging and production; the approval covers the whole rollout.
 */
export async function applyPlan(ctx: ReleaseContext & { readonly audit: AuditLog }, req: ApplyPlanRequest): Promise<ReleaseResult> {
  const { plan, service } = req;
  const environment = plan.environment;
  const image = packageOfPlan(plan);
  try {
    checkPlanService(plan, service);
    checkPlanRelease(plan, service);
    checkPlanConsistency(plan);
    if (environment === 'production' && req.force) {
      throw new C2CError(
        'GATE_NO_FORCE_IN_PRODUCTION',
        '--force is not allowed for production: nothing goes around the gate or cancels a production deployment',
        { hint: "wait for the running deployment ('deploy status --env production'), then apply again" },
      );
    }
    const beforeSubmit = sealHook(async (live: MarathonAppInfo | null): Promise<GateResult> => {
      if (environment !== 'production') return { labels: { [STAMP_LABELS.planId]: plan.id } };
      const { approval } = await authorizeProduction({
        plan,
        service,
        live,
        audit: ctx.audit,
        source: req.source ?? { kind: 'local' },
        ...(req.signers ? { signers: req.signers } : {}),
        ...(req.now ? { now: req.now } : {}),
      });
      // The intent is recorded before anything is sent: when it cannot be written, nothing goes to Marathon. Its
      // line's hash goes onto the new version, where Marathon keeps it: an anchor of the log outside the log.
      const { hash } = await ctx.audit.append({
        type: 'apply.authorized',
        service: plan.service,
        environment,
        actor: ctx.actor,
        planId: plan.id,
        image,
        approver: approval.approver,
        approvalSource: approval.source,
        previousVersion: live?.version ?? undefined,
        ...(plan.commit ? { commit: plan.commit } : {}),
      });
      return {
        labels: { [STAMP_LABELS.planId]: plan.id, [STAMP_LABELS.approvedBy]: approval.approver, [STAMP_LABELS.auditHead]: hash },
        approver: approval.approver,
        approvalSource: approval.source,
      };
    });
    return await releaseService(ctx, {
      service,
      environment,
      image,
      app: plan.app,
      planId: plan.id,
      ...(plan.commit ? { commit: plan.commit } : {}),
      ...(plan.commitTime ? { commitTime: plan.commitTime } : {}),
      ...(req.force ? { force: true } : {}),
      beforeSubmit,
    });
  } catch (error) {
    if (isRefusal(error)) {
      await recordRefusal(ctx.audit, { service: plan.service, environment, actor: ctx.actor, planId: plan.id, image, error });
    }
    throw error;
  }
}

/**
 * `deploy promote` in production: the promoter must be an approver of the service proving their key, and the newer
 * colour the rollout an approved plan started (`authorizePromote`); then the rollout goes on (`advanceRollout`),
 * recorded under the verified principal. A refusal is recorded (`gate.refused`) and thrown; nothing is sent.
 */
export async function promoteInProduction(
  rc: RolloutContext & { readonly audit: AuditLog },
  req: {
    readonly service: ServiceDefinition;
    readonly signers: AllowedSigners;
    readonly keyPath: string | undefined;
    readonly triedBy: string;
  },
): Promise<RolloutOutcome> {
  const target = { def: req.service, env: 'production' as const };
  const state = await readRollout(rc.client, marathonAppId(req.service.name, 'production'));
  if (!state.newer) return advanceRollout(rc, target, { promote: true }); // ROLLOUT_NONE, with its hint.
  let principal: string;
  try {
    ({ principal } = await authorizePromote({
      service: req.service,
      newer: state.newer.app,
      audit: rc.audit,
      signers: req.signers,
      keyPath: req.keyPath,
    }));
  } catch (error) {
    if (isRefusal(error)) {
      await recordRefusal(rc.audit, { service: req.service.name, environment: 'production', actor: req.triedBy, error });
    }
    throw error;
  }
  return advanceRollout({ ...rc, actor: principal }, target, { promote: true });
}
