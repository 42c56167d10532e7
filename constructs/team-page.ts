import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { deployCliStep } from './build-steps';
import { E2eSchedule } from './e2e-schedule';
import { scheduledJob, ScheduledJobSource } from './scheduled-job';

/** Name of the page's trigger, scheduler job and service account. */
export const PAGE_NAME = 'c2c-page';
/** Where the pages go in the audit bucket: one write-once object per run (the bucket's retention forbids overwrites). */
export const PAGE_PREFIX = 'reports/';

/** Props of {@link TeamPage}. Every name of another resource is a Terraform reference. */
export interface TeamPageProps extends ScheduledJobSource {
  /** The audit bucket: the log is read from `events/`, the page written under {@link PAGE_PREFIX}. */
  readonly auditBucket: string;
  /**
   * Cron schedule of the page (five fields).
   * @default '0 6 * * *' (every day at 06:00 UTC)
   */
  readonly schedule?: string;
  /** What the trigger waits for (the repository link it names by a literal id). @default [] */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * The team's page in the cloud, beside the scheduled end-to-end checks: a Cloud Scheduler job runs the manual trigger
 * `c2c-page`, whose build fetches the deploy bundle, runs `deploy report --html` over the audit log in the audit bucket
 * and writes the page there as `reports/page-<build id>.html` (write-once, kept as long as the events). The audit
 * bucket allows no public access and only its readers (the team's) read it. The account reads the log, creates objects
 * under `reports/` only, reads the deploy bundle and writes its build's logs; it has no Marathon credentials, so the
 * page's fleet section says so (the fleet is `deploy status` on a machine that has them).
 */
export class TeamPage extends Construct {
  readonly serviceAccount: ServiceAccount;
  readonly trigger: CloudbuildTrigger;
  readonly schedule: E2eSchedule;

  constructor(scope: Construct, id: string, props: TeamPageProps) {
    super(scope, id);
    const env = [`C2C_AUDIT_BUCKET=${props.auditBucket}`, 'CI=true'];
    const job = scheduledJob(this, {
      ...props,
      name: PAGE_NAME,
      account: {
        displayName: "commit-to-cloud team's page",
        description: "Writes the team's page (deploy report --html) from the audit log into the audit bucket",
      },
      projectRoles: [{ id: 'log-writer', role: 'roles/logging.logWriter' }],
      steps: [
        deployCliStep('report', ['report', '--html', '/workspace/page.html'], ['fetch-deploy'], env),
        deployCliStep(
          'publish',
          ['object', 'put', '/workspace/page.html', `gs://${props.auditBucket}/${PAGE_PREFIX}page-$BUILD_ID.html`],
          ['report'],
          env,
        ),
      ],
      description: "Write the team's page (DORA trends, plans waiting, the audit trail) into the audit bucket",
      tags: ['c2c', 'page'],
      schedule: props.schedule ?? '0 6 * * *',
      scheduleDescription: "commit-to-cloud: write the team's page into the audit bucket",
    });
    this.serviceAccount = job.serviceAccount;
    this.trigger = job.trigger;
    this.schedule = job.schedule;
    const member = job.serviceAccount.member;
    new StorageBucketIamMember(this, 'audit-reader', { bucket: props.auditBucket, role: 'roles/storage.objectViewer', member });
    new StorageBucketIamMember(this, 'page-creator', {
      bucket: props.auditBucket,
      role: 'roles/storage.objectCreator',
      member,
      condition: {
        title: 'reports-only',
        description: `objects under ${PAGE_PREFIX} (the team's pages)`,
        expression: `resource.name.startsWith("projects/_/buckets/${props.auditBucket}/objects/${PAGE_PREFIX}")`,
      },
    });
  }
}
