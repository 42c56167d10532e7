import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { CloudbuildTrigger, CloudbuildTriggerBuildAvailableSecrets } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { fetchDeployStep, PipelineStep, SUBSTITUTION_OPTION, toTriggerStep } from './build-steps';
import { E2eSchedule } from './e2e-schedule';
import { behindPoolCheck, poolCheckStep } from './worker-pool';

/** Where a scheduled job runs from: the platform's own repository and the published deploy bundle. */
export interface ScheduledJobSource {
  readonly project: string;
  /** Region of the trigger and of the scheduler job. */
  readonly region: string;
  /** The repository link (2nd gen) a manual trigger builds from: the platform's own; the build reads nothing from it. */
  readonly repository: string;
  /** The branch of `repository` to check out. */
  readonly branch: string;
  /** Deploy bucket name: the deploy CLI bundle is fetched from it (objects under `deploy/` only). */
  readonly deployBucket: string;
  /** The published deploy bundle: object name and generation. */
  readonly bundleObject: string;
  readonly bundleGeneration: string;
  /** The Cloud Scheduler account (runs triggers): its e-mail and member; it gets to act as the job's account. */
  readonly schedulerEmail: string;
  readonly schedulerMember: string;
}

/** Props of {@link scheduledJob}: the source, and what this job is. */
export interface ScheduledJobProps extends ScheduledJobSource {
  /** Name of the trigger, the scheduler job and the service account (its account id). */
  readonly name: string;
  /** The account as the console shows it. */
  readonly account: { readonly displayName: string; readonly description: string };
  /** Project roles of the account, each with the construct id of its grant. */
  readonly projectRoles: readonly { readonly id: string; readonly role: string }[];
  /** The steps after `fetch-deploy` (which fetches the deploy bundle first). */
  readonly steps: readonly PipelineStep[];
  /** The trigger's description and tags. */
  readonly description: string;
  readonly tags: readonly string[];
  /** Secrets the build resolves when it starts (each step names the ones it reads in `secretEnv`). */
  readonly availableSecrets?: CloudbuildTriggerBuildAvailableSecrets;
  /**
   * The private worker pool the build runs in (to reach Marathon), by its id, and the Marathon URLs the build reads:
   * the build then starts with the check that it runs in the pool (constructs/worker-pool.ts).
   * @default - Cloud Build's default pool
   */
  readonly pool?: { readonly id: string; readonly reach: readonly string[] };
  /** Cron schedule (five fields) and the scheduler job's description. */
  readonly schedule: string;
  readonly scheduleDescription: string;
  /** What the trigger waits for. @default [] */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** What {@link scheduledJob} declared. */
export interface ScheduledJob {
  readonly serviceAccount: ServiceAccount;
  readonly trigger: CloudbuildTrigger;
  readonly schedule: E2eSchedule;
}

/**
 * A scheduled job of the deploy CLI, declared in `scope` (so the callers' resource ids are theirs): its own service
 * account (the given project roles, the deploy bundle under `deploy/` only, nothing else: callers add their own
 * grants), a manual trigger whose build fetches the bundle and runs `steps` in the pinned deploy image, and a Cloud
 * Scheduler job (as the scheduler account, which may act as the job's account) that runs it. The team's page and the
 * approval reminder are such jobs.
 */
export function scheduledJob(scope: Construct, props: ScheduledJobProps): ScheduledJob {
  const serviceAccount = new ServiceAccount(scope, 'runner', {
    project: props.project,
    accountId: props.name,
    displayName: props.account.displayName,
    description: props.account.description,
  });
  const member = serviceAccount.member;
  for (const { id, role } of props.projectRoles) new ProjectIamMember(scope, id, { project: props.project, role, member });
  // The deploy bundle only: plans and templates in the same bucket stay out of reach unless a caller grants them.
  new StorageBucketIamMember(scope, 'bundle-reader', {
    bucket: props.deployBucket,
    role: 'roles/storage.objectViewer',
    member,
    condition: {
      title: 'deploy-bundle-only',
      description: 'objects under deploy/ (the deploy CLI bundle)',
      expression: `resource.name.startsWith("projects/_/buckets/${props.deployBucket}/objects/deploy/")`,
    },
  });
  new ServiceAccountIamMember(scope, 'scheduler-acts-as', {
    serviceAccountId: serviceAccount.name,
    role: 'roles/iam.serviceAccountUser',
    member: props.schedulerMember,
  });
  const own = [fetchDeployStep(props.deployBucket), ...props.steps];
  const steps = props.pool ? behindPoolCheck(own, poolCheckStep(props.pool.id, props.pool.reach)) : own;
  const trigger = new CloudbuildTrigger(scope, 'trigger', {
    project: props.project,
    location: props.region,
    name: props.name,
    description: props.description,
    serviceAccount: `projects/${props.project}/serviceAccounts/${serviceAccount.email}`,
    tags: [...props.tags],
    sourceToBuild: { repository: props.repository, ref: `refs/heads/${props.branch}`, repoType: 'GITHUB' },
    substitutions: { _C2C_BUNDLE: props.bundleObject, _C2C_BUNDLE_GENERATION: props.bundleGeneration },
    dependsOn: [...(props.dependsOn ?? [])],
    buildAttribute: {
      step: steps.map(toTriggerStep),
      timeout: '300s',
      options: {
        logging: 'CLOUD_LOGGING_ONLY',
        substitutionOption: SUBSTITUTION_OPTION,
        ...(props.pool ? { workerPool: props.pool.id } : {}),
      },
      ...(props.availableSecrets ? { availableSecrets: props.availableSecrets } : {}),
    },
  });
  const schedule = new E2eSchedule(scope, 'schedule', {
    name: props.name,
    project: props.project,
    region: props.region,
    trigger,
    serviceAccountEmail: props.schedulerEmail,
    schedule: props.schedule,
    description: props.scheduleDescription,
  });
  return { serviceAccount, trigger, schedule };
}
