import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ValidationError } from '../lib/errors';

/** Props of {@link E2eSchedule}. */
export interface E2eScheduleProps {
  /** Scheduler job name. */
  readonly name: string;
  /** Google Cloud project. */
  readonly project: string;
  /** Region of the job and of the trigger. */
  readonly region: string;
  /** The trigger to run. */
  readonly trigger: CloudbuildTrigger;
  /** Service account the scheduler calls the Cloud Build API as (needs `roles/cloudbuild.builds.editor`). */
  readonly serviceAccountEmail: string;
  /**
   * Cron schedule (five fields).
   * @default '*\/30 * * * *' (every 30 minutes)
   * @see https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules
   */
  readonly schedule?: string;
  /**
   * What the job is for, as the console shows it.
   * @default 'commit-to-cloud: run the end-to-end tests against staging and production'
   */
  readonly description?: string;
  /**
   * Time zone of the schedule.
   * @default 'Etc/UTC'
   */
  readonly timeZone?: string;
}

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$|^[A-Za-z]{3}(-[A-Za-z]{3})?$/;

/**
 * A Cloud Scheduler job that runs a Cloud Build trigger (`triggers:run` of the Cloud Build API, authenticated with an
 * OAuth token of a service account) on a schedule: the continuous end-to-end tests, and the approval reminder.
 */
export class E2eSchedule extends Construct {
  /** The scheduler job. */
  readonly job: CloudSchedulerJob;

  constructor(scope: Construct, id: string, props: E2eScheduleProps) {
    super(scope, id);
    const schedule = props.schedule ?? '*/30 * * * *';
    const fields = schedule.trim().split(/\s+/);
    if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
      throw new ValidationError([
        {
          subject: `E2eSchedule(${props.name})`,
          field: 'schedule',
          value: schedule,
          message: "must be a cron schedule of five fields (minute hour day month weekday), e.g. '*/30 * * * *'",
        },
      ]);
    }
    // The trigger id is a reference, so the job already waits for the trigger (and, through it, what it waits for).
    const triggerId = props.trigger.triggerId;
    this.job = new CloudSchedulerJob(this, 'job', {
      name: props.name,
      project: props.project,
      region: props.region,
      description: props.description ?? 'commit-to-cloud: run the end-to-end tests against staging and production',
      schedule,
      timeZone: props.timeZone ?? 'Etc/UTC',
      attemptDeadline: '60s',
      retryConfig: { retryCount: 1 },
      httpTarget: {
        httpMethod: 'POST',
        uri: `https://cloudbuild.googleapis.com/v1/projects/${props.project}/locations/${props.region}/triggers/${triggerId}:run`,
        headers: { 'Content-Type': 'application/json' },
        body: Fn.base64encode(Fn.jsonencode({ projectId: props.project, triggerId })),
        oauthToken: { serviceAccountEmail: props.serviceAccountEmail, scope: 'https://www.googleapis.com/auth/cloud-platform' },
      },
    });
  }
}
