import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { ValidationError, Violation } from '../lib/errors';
import {
  DEFAULT_REMIND_AFTER_MINUTES,
  DEFAULT_REMIND_EVERY_MINUTES,
  MAX_REMIND_AFTER_MINUTES,
  REMIND_EVERY_CHOICES,
  remindSchedule,
} from '../lib/notify/remind';
import { NOTIFY_ENV } from './build-pipeline';
import { deployCliStep, fetchDeployStep, toTriggerStep } from './build-steps';
import { E2eSchedule } from './e2e-schedule';

/** Name of the reminder's trigger, scheduler job and service account. */
export const REMIND_NAME = 'c2c-remind';

/** Props of {@link ApprovalReminder}. Every name of another resource is a Terraform reference. */
export interface ApprovalReminderProps {
  readonly project: string;
  /** Region of the trigger and the scheduler job: the production triggers' region, whose builds it lists. */
  readonly region: string;
  /** The repository link (2nd gen) a manual trigger builds from: the platform's own; the build reads nothing from it. */
  readonly repository: string;
  /** The branch of `repository` to check out. */
  readonly branch: string;
  /** Deploy bucket name: the deploy CLI bundle is fetched from it. */
  readonly deployBucket: string;
  /** The published deploy bundle: object name and generation. */
  readonly bundleObject: string;
  readonly bundleGeneration: string;
  /** The webhook URL's secret id and its version name (`.../versions/latest`). */
  readonly webhookSecretId: string;
  readonly webhookVersion: string;
  /** The Cloud Scheduler account (runs triggers): its e-mail and member; it gets to act as the reminder's account. */
  readonly schedulerEmail: string;
  readonly schedulerMember: string;
  /**
   * What the trigger and its schedule wait for: the repository link and the webhook secret's value, so that the job
   * never runs a build that cannot start.
   * @default []
   */
  readonly dependsOn?: readonly ITerraformDependable[];
  /**
   * Minutes a production build waits for approval before the first reminder (`C2C_REMIND_AFTER_MINUTES`).
   * @default 30
   */
  readonly afterMinutes?: number;
  /**
   * Minutes between two runs, and so between two reminders of one build (`C2C_REMIND_EVERY_MINUTES`); one of
   * `REMIND_EVERY_CHOICES` (a cron schedule fires evenly only at those).
   * @default 15
   */
  readonly everyMinutes?: number;
}

/**
 * The reminder while a production plan waits for approval: a Cloud Scheduler job runs the manual trigger `c2c-remind`
 * every `everyMinutes`; its one build step runs the deploy bundle's `deploy remind` in the pinned deploy image, which
 * lists the production builds waiting for approval and posts a reminder for those past `afterMinutes` to the chat
 * webhook. Its service account may list builds (`roles/cloudbuild.builds.viewer`), write its build's logs, read the
 * webhook secret and the deploy bundle (objects under `deploy/` only), nothing else.
 */
export class ApprovalReminder extends Construct {
  /** The reminder's service account. */
  readonly serviceAccount: ServiceAccount;
  /** The manual trigger. */
  readonly trigger: CloudbuildTrigger;
  /** The schedule that runs it. */
  readonly schedule: E2eSchedule;

  constructor(scope: Construct, id: string, props: ApprovalReminderProps) {
    super(scope, id);
    const after = props.afterMinutes ?? DEFAULT_REMIND_AFTER_MINUTES;
    const every = props.everyMinutes ?? DEFAULT_REMIND_EVERY_MINUTES;
    const problems: Violation[] = [];
    if (!Number.isInteger(after) || after < 1 || after > MAX_REMIND_AFTER_MINUTES) {
      problems.push({
        subject: 'ApprovalReminder',
        field: 'afterMinutes',
        value: after,
        message: `must be a whole number of minutes from 1 to ${MAX_REMIND_AFTER_MINUTES}; set C2C_REMIND_AFTER_MINUTES, e.g. 30`,
      });
    }
    if (!REMIND_EVERY_CHOICES.includes(every)) {
      problems.push({
        subject: 'ApprovalReminder',
        field: 'everyMinutes',
        value: every,
        message: `must be one of ${REMIND_EVERY_CHOICES.join(', ')} (a cron schedule fires evenly only at these); set C2C_REMIND_EVERY_MINUTES, e.g. 15`,
      });
    }
    if (problems.length > 0) throw new ValidationError(problems);

    this.serviceAccount = new ServiceAccount(this, 'runner', {
      project: props.project,
      accountId: REMIND_NAME,
      displayName: 'commit-to-cloud approval reminder',
      description: 'Runs the scheduled reminder: lists production builds waiting for approval, posts to the chat webhook',
    });
    const member = this.serviceAccount.member;
    for (const role of ['roles/cloudbuild.builds.viewer', 'roles/logging.logWriter']) {
      new ProjectIamMember(this, role.replace(/^roles\//, '').replace(/\./g, '-'), { project: props.project, role, member });
    }
    new SecretManagerSecretIamMember(this, 'webhook-reader', {
      project: props.project,
      secretId: props.webhookSecretId,
      role: 'roles/secretmanager.secretAccessor',
      member,
    });
    // The deploy bundle only: plans and templates in the same bucket stay out of reach.
    new StorageBucketIamMember(this, 'bundle-reader', {
      bucket: props.deployBucket,
      role: 'roles/storage.objectViewer',
      member,
      condition: {
        title: 'deploy-bundle-only',
        description: 'objects under deploy/ (the deploy CLI bundle)',
        expression: `resource.name.startsWith("projects/_/buckets/${props.deployBucket}/objects/deploy/")`,
      },
    });
    new ServiceAccountIamMember(this, 'scheduler-acts-as', {
      serviceAccountId: this.serviceAccount.name,
      role: 'roles/iam.serviceAccountUser',
      member: props.schedulerMember,
    });

    const steps = [
      fetchDeployStep(props.deployBucket),
      {
        ...deployCliStep(
          'remind',
          ['remind', '--after', String(after), '--every', String(every)],
          ['fetch-deploy'],
          ['C2C_BUILD_PROJECT=$PROJECT_ID', 'C2C_BUILD_LOCATION=$LOCATION', 'CI=true'],
        ),
        secretEnv: [NOTIFY_ENV],
      },
    ];
    this.trigger = new CloudbuildTrigger(this, 'trigger', {
      project: props.project,
      location: props.region,
      name: REMIND_NAME,
      description: `Remind the reviewers of production builds waiting for approval over ${after} min (every ${every} min)`,
      serviceAccount: `projects/${props.project}/serviceAccounts/${this.serviceAccount.email}`,
      tags: ['c2c', 'remind'],
      sourceToBuild: { repository: props.repository, ref: `refs/heads/${props.branch}`, repoType: 'GITHUB' },
      substitutions: { _C2C_BUNDLE: props.bundleObject, _C2C_BUNDLE_GENERATION: props.bundleGeneration },
      dependsOn: [...(props.dependsOn ?? [])],
      buildAttribute: {
        step: steps.map(toTriggerStep),
        timeout: '300s',
        options: { logging: 'CLOUD_LOGGING_ONLY' },
        availableSecrets: { secretManager: [{ env: NOTIFY_ENV, versionName: props.webhookVersion }] },
      },
    });
    this.schedule = new E2eSchedule(this, 'schedule', {
      name: REMIND_NAME,
      project: props.project,
      region: props.region,
      trigger: this.trigger,
      serviceAccountEmail: props.schedulerEmail,
      schedule: remindSchedule(every),
      description: 'commit-to-cloud: remind the reviewers of production builds that wait for approval',
    });
  }
}
