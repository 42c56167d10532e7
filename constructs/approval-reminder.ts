import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ValidationError, Violation } from '../lib/errors';
import {
  DEFAULT_REMIND_AFTER_MINUTES,
  DEFAULT_REMIND_EVERY_MINUTES,
  MAX_REMIND_AFTER_MINUTES,
  REMIND_EVERY_CHOICES,
  remindSchedule,
} from '../lib/notify/remind';
import { NOTIFY_ENV } from './build-pipeline';
import { deployCliStep } from './build-steps';
import { E2eSchedule } from './e2e-schedule';
import { scheduledJob, ScheduledJobSource } from './scheduled-job';

/** Name of the reminder's trigger, scheduler job and service account. */
export const REMIND_NAME = 'c2c-remind';

/** Props of {@link ApprovalReminder}. Every name of another resource is a Terraform reference. */
export interface ApprovalReminderProps extends ScheduledJobSource {
  /** The webhook URL's secret id and its version name (`.../versions/latest`). */
  readonly webhookSecretId: string;
  readonly webhookVersion: string;
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

    const job = scheduledJob(this, {
      ...props,
      name: REMIND_NAME,
      account: {
        displayName: 'commit-to-cloud approval reminder',
        description: 'Runs the scheduled reminder: lists production builds waiting for approval, posts to the chat webhook',
      },
      projectRoles: ['roles/cloudbuild.builds.viewer', 'roles/logging.logWriter'].map((role) => ({
        id: role.replace(/^roles\//, '').replace(/\./g, '-'),
        role,
      })),
      steps: [
        {
          ...deployCliStep(
            'remind',
            ['remind', '--after', String(after), '--every', String(every)],
            ['fetch-deploy'],
            ['C2C_BUILD_PROJECT=$PROJECT_ID', 'C2C_BUILD_LOCATION=$LOCATION', 'CI=true'],
          ),
          secretEnv: [NOTIFY_ENV],
        },
      ],
      description: `Remind the reviewers of production builds waiting for approval over ${after} min (every ${every} min)`,
      tags: ['c2c', 'remind'],
      availableSecrets: { secretManager: [{ env: NOTIFY_ENV, versionName: props.webhookVersion }] },
      schedule: remindSchedule(every),
      scheduleDescription: 'commit-to-cloud: remind the reviewers of production builds that wait for approval',
    });
    this.serviceAccount = job.serviceAccount;
    this.trigger = job.trigger;
    this.schedule = job.schedule;
    new SecretManagerSecretIamMember(this, 'webhook-reader', {
      project: props.project,
      secretId: props.webhookSecretId,
      role: 'roles/secretmanager.secretAccessor',
      member: job.serviceAccount.member,
    });
  }
}
