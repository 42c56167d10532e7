import { Construct } from 'constructs';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { SERVICE_ACCOUNT_IDS, serviceAccountEmail } from './naming';

/** Props of {@link PlatformServiceAccounts}. */
export interface PlatformServiceAccountsProps {
  /** Google Cloud project. */
  readonly project: string;
  /** Terraform state bucket (created by hand); the platform pipeline's accounts get object access to it. */
  readonly stateBucket: string;
}

/** Project roles per account: the least each one needs. Bucket roles are granted by the bucket constructs. */
export const SERVICE_ACCOUNT_ROLES = {
  build: ['roles/logging.logWriter'],
  production: ['roles/logging.logWriter', 'roles/cloudbuild.builds.viewer'],
  test: ['roles/logging.logWriter'],
  scheduler: ['roles/cloudbuild.builds.editor'],
  platformPlan: ['roles/logging.logWriter', 'roles/viewer', 'roles/iam.securityReviewer', 'roles/secretmanager.secretAccessor'],
  platformApply: [
    'roles/logging.logWriter',
    'roles/editor',
    'roles/resourcemanager.projectIamAdmin',
    'roles/secretmanager.secretAccessor',
    'roles/cloudbuild.builds.viewer',
  ],
} as const satisfies Record<keyof typeof SERVICE_ACCOUNT_IDS, readonly string[]>;

const DESCRIPTIONS: Record<keyof typeof SERVICE_ACCOUNT_IDS, string> = {
  build: 'Push builds: build.sh, image push, staging deploy, production plan',
  production: 'Approved production builds: applies an approved plan; cannot push images',
  test: 'Pull-request and end-to-end builds: runs untrusted code, may only write logs',
  scheduler: 'Cloud Scheduler: runs the end-to-end triggers',
  platformPlan: 'Platform pipeline: terraform plan of every stack (read-only)',
  platformApply: 'Platform pipeline: terraform apply (staging-side directly, production-side after approval)',
};

/**
 * The service accounts builds run as, each with only the project roles it needs. Service stacks refer to them by
 * e-mail (see `platformNames`), never by Terraform reference, so that a service stack plans on its own.
 */
export class PlatformServiceAccounts extends Construct {
  /** The accounts, by role in the platform. */
  readonly accounts: Readonly<Record<keyof typeof SERVICE_ACCOUNT_IDS, ServiceAccount>>;

  constructor(scope: Construct, id: string, props: PlatformServiceAccountsProps) {
    super(scope, id);
    const keys = Object.keys(SERVICE_ACCOUNT_IDS) as (keyof typeof SERVICE_ACCOUNT_IDS)[];
    const accounts = {} as Record<keyof typeof SERVICE_ACCOUNT_IDS, ServiceAccount>;
    for (const key of keys) {
      const accountId = SERVICE_ACCOUNT_IDS[key];
      const account = new ServiceAccount(this, accountId, {
        project: props.project,
        accountId,
        displayName: `commit-to-cloud ${key}`,
        description: DESCRIPTIONS[key],
      });
      accounts[key] = account;
      const member = `serviceAccount:${serviceAccountEmail(props.project, accountId)}`;
      for (const role of SERVICE_ACCOUNT_ROLES[key]) {
        new ProjectIamMember(this, `${accountId}-${role.replace(/^roles\//, '').replace(/\./g, '-')}`, {
          project: props.project,
          role,
          member,
          dependsOn: [account],
        });
      }
    }
    this.accounts = accounts;

    // Cloud Scheduler runs the end-to-end trigger, which runs as the test account: it must be allowed to act as it.
    new ServiceAccountIamMember(this, 'scheduler-acts-as-test', {
      serviceAccountId: accounts.test.name,
      role: 'roles/iam.serviceAccountUser',
      member: `serviceAccount:${serviceAccountEmail(props.project, SERVICE_ACCOUNT_IDS.scheduler)}`,
    });
    // Terraform state: plan takes the state lock, apply writes state.
    for (const key of ['platformPlan', 'platformApply'] as const) {
      new StorageBucketIamMember(this, `${SERVICE_ACCOUNT_IDS[key]}-state`, {
        bucket: props.stateBucket,
        role: 'roles/storage.objectAdmin',
        member: `serviceAccount:${serviceAccountEmail(props.project, SERVICE_ACCOUNT_IDS[key])}`,
      });
    }
  }
}
