import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { EnvironmentName, ENVIRONMENTS } from '../lib/catalog';
import { READ_SECRET_ENV } from '../lib/report/page/fleet-credentials';
import { deployCliStep } from './build-steps';
import { planPrefix } from './naming';
import { E2eSchedule } from './e2e-schedule';
import { scheduledJob, ScheduledJobSource } from './scheduled-job';

/** Name of the page's trigger, scheduler job and service account. */
export const PAGE_NAME = 'c2c-page';
/** Where the pages go in the audit bucket: one write-once object per run (the bucket's retention forbids overwrites). */
export const PAGE_PREFIX = 'reports/';
/** The deploy bucket's folder of production plans (every {@link planPrefix} is under it). */
const PLANS_ROOT = planPrefix('').split('/')[0] + '/';

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
  /**
   * The fleet: the Marathon URL settings (`MARATHON_URL_STAGING=…`, `MARATHON_URL_PRODUCTION=…`) and the private
   * worker pool that reaches them (its id, and the URLs the build's pool check reaches first). The page then reads
   * each Marathon with its own read credential (see {@link pageReadSecretIds}). @default - no fleet on the page
   */
  readonly fleet?: {
    readonly marathonEnv: readonly string[];
    readonly pool: { readonly id: string; readonly reach: readonly string[] };
  };
}

/**
 * The page's own Marathon read credentials, one secret per Marathon, readable by the page's account only. Terraform
 * declares them empty; a person adds a value only when it is a credential that can read and not change (a DC/OS
 * service account with read permission, or a read-only proxy's), never the deploy credential: Marathon's basic auth
 * has a single all-powerful user. While a secret has no value the page says "no read credential".
 */
export function pageReadSecretIds(): Readonly<Record<EnvironmentName, string>> {
  return { staging: `${PAGE_NAME}-marathon-staging`, production: `${PAGE_NAME}-marathon-production` };
}

/**
 * The team's page in the cloud, beside the scheduled end-to-end checks: a Cloud Scheduler job runs the manual trigger
 * `c2c-page`, whose build fetches the deploy bundle, runs `deploy report --html` over the audit log in the audit bucket
 * and writes the page there as `reports/page-<build id>.html` (write-once, kept as long as the events). The audit
 * bucket allows no public access and only its readers (the team's) read it. The account reads the log, creates objects
 * under `reports/` only, reads the deploy bundle and the production plans the push builds upload (objects under
 * `plans/` of the deploy bucket, read only: the page checks each against its id and the log's record) and writes its
 * build's logs. With `fleet` it runs in the private pool and reads each Marathon with the page's own read credential
 * ({@link pageReadSecretIds}), never the deploy credentials; a secret without a value makes the fleet section say so.
 */
export class TeamPage extends Construct {
  readonly serviceAccount: ServiceAccount;
  readonly trigger: CloudbuildTrigger;
  readonly schedule: E2eSchedule;

  constructor(scope: Construct, id: string, props: TeamPageProps) {
    super(scope, id);
    const secrets = props.fleet ? this.readSecrets(props.project) : undefined;
    const env = [
      `C2C_AUDIT_BUCKET=${props.auditBucket}`,
      'C2C_BUILD_PROJECT=$PROJECT_ID',
      'C2C_BUILD_LOCATION=$LOCATION',
      'CI=true',
      ...(props.fleet?.marathonEnv ?? []),
      ...(secrets ? ENVIRONMENTS.map((e) => `${READ_SECRET_ENV[e]}=${secrets[e].id}`) : []),
    ];
    // The plans as the push builds name them (naming.ts): '{service}' and '{id}' are filled in per waiting plan.
    const plans = `gs://${props.deployBucket}/${planPrefix('{service}')}{id}.json`;
    const job = scheduledJob(this, {
      ...props,
      name: PAGE_NAME,
      account: {
        displayName: "commit-to-cloud team's page",
        description: "Writes the team's page (deploy report --html) from the audit log into the audit bucket",
      },
      projectRoles: [{ id: 'log-writer', role: 'roles/logging.logWriter' }],
      steps: [
        deployCliStep('report', ['report', '--html', '/workspace/page.html', '--plans', plans], ['fetch-deploy'], env),
        deployCliStep(
          'publish',
          ['object', 'put', '/workspace/page.html', `gs://${props.auditBucket}/${PAGE_PREFIX}page-$BUILD_ID.html`],
          ['report'],
          env,
        ),
      ],
      description: "Write the team's page (DORA trends, plans waiting, the audit trail) into the audit bucket",
      tags: ['c2c', 'page'],
      ...(props.fleet ? { pool: props.fleet.pool } : {}),
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
    // The waiting plans, read only: the page never writes to the deploy bucket.
    new StorageBucketIamMember(this, 'plan-reader', {
      bucket: props.deployBucket,
      role: 'roles/storage.objectViewer',
      member,
      condition: {
        title: 'plans-only',
        description: `objects under ${PLANS_ROOT} (the production plans the push builds upload)`,
        expression: `resource.name.startsWith("projects/_/buckets/${props.deployBucket}/objects/${PLANS_ROOT}")`,
      },
    });
    // Its own read credentials, and no other secret.
    for (const e of secrets ? ENVIRONMENTS : []) {
      new SecretManagerSecretIamMember(this, `read-credential-${e}-accessor`, {
        project: props.project,
        secretId: secrets![e].secretId,
        role: 'roles/secretmanager.secretAccessor',
        member,
      });
    }
  }

  /** The page's read credential secrets, declared without a value (see {@link pageReadSecretIds}). */
  private readSecrets(project: string): Record<EnvironmentName, SecretManagerSecret> {
    const ids = pageReadSecretIds();
    const out = {} as Record<EnvironmentName, SecretManagerSecret>;
    for (const e of ENVIRONMENTS) {
      out[e] = new SecretManagerSecret(this, `read-credential-${e}`, {
        project,
        secretId: ids[e],
        replication: { auto: {} },
        labels: { 'managed-by': 'commit-to-cloud', purpose: 'marathon-read-credential' },
      });
    }
    return out;
  }
}
