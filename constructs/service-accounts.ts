import { Construct } from 'constructs';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { memberId } from './iam-id';
import { SERVICE_ACCOUNT_IDS, serviceAccountEmail } from './naming';

/** Props of {@link PlatformServiceAccounts}. */
export interface PlatformServiceAccountsProps {
  /** Google Cloud project. */
  readonly project: string;
  /** Terraform state bucket (created by hand); the platform pipeline's accounts get object access to it. */
  readonly stateBucket: string;
  /**
   * Secret Manager secrets holding the GitHub tokens of the platform pipeline (created by hand, see
   * docs/first-deploy.md): `write` (organisation admin) only the apply account reads; `read` (read-only) only the plan
   * account, which plans pull requests.
   * @default { write: 'c2c-github-token', read: 'c2c-github-token-read' }
   */
  readonly githubTokenSecrets?: { readonly write: string; readonly read: string };
}

/** Project roles per account: the least each one needs. Bucket roles are granted by the bucket constructs. */
export const SERVICE_ACCOUNT_ROLES = {
  build: ['roles/logging.logWriter'],
  production: ['roles/logging.logWriter', 'roles/cloudbuild.builds.viewer'],
  test: ['roles/logging.logWriter'],
  smoke: ['roles/logging.logWriter'],
  scheduler: ['roles/cloudbuild.builds.editor'],
  platformPlan: ['roles/logging.logWriter', 'roles/viewer', 'roles/iam.securityReviewer'],
  // `roles/editor` cannot set the IAM policy of a resource: each role after the project IAM admin may, for one kind
  // (RESOURCE_IAM_ROLES), so that an approved apply adding such a binding does not get 403.
  platformApply: [
    'roles/logging.logWriter',
    'roles/editor',
    'roles/resourcemanager.projectIamAdmin',
    'roles/cloudbuild.builds.viewer',
    'roles/secretmanager.admin',
    'roles/iam.serviceAccountAdmin',
    'roles/run.admin',
    'roles/pubsub.admin',
    'roles/storage.admin',
    'roles/serviceusage.serviceUsageAdmin',
  ],
} as const satisfies Record<keyof typeof SERVICE_ACCOUNT_IDS, readonly string[]>;

/**
 * The role that lets the platform apply account set the IAM policy of each kind of resource-level binding the app
 * declares (`roles/editor` lacks every `setIamPolicy`). A binding type missing here is a test failure.
 */
export const RESOURCE_IAM_ROLES: Readonly<Record<string, string>> = {
  google_project_iam_member: 'roles/resourcemanager.projectIamAdmin',
  google_secret_manager_secret_iam_member: 'roles/secretmanager.admin',
  google_service_account_iam_member: 'roles/iam.serviceAccountAdmin',
  google_cloud_run_v2_service_iam_member: 'roles/run.admin',
  google_pubsub_topic_iam_member: 'roles/pubsub.admin',
  google_storage_bucket_iam_member: 'roles/storage.admin',
};

const DESCRIPTIONS: Record<keyof typeof SERVICE_ACCOUNT_IDS, string> = {
  build: 'Push builds: build.sh, image push, staging deploy, production plan',
  production: 'Approved production builds: applies an approved plan; cannot push images',
  test: 'Pull-request and end-to-end builds: runs untrusted code, may only write logs',
  smoke: "Smoke builds after a deploy: runs the repository's e2e.sh; no Marathon secret; hands a staged plan on",
  scheduler: 'Cloud Scheduler: runs the end-to-end triggers',
  platformPlan: 'Platform pipeline: terraform plan of every stack (read-only)',
  platformApply: 'Platform pipeline: terraform apply (staging-side directly, production-side after approval)',
};

/**
 * The service accounts builds run as, each with only the project roles it needs. Every binding names its account by
 * reference (`member`), so Terraform creates the account first; service stacks reach the e-mails through the platform
 * stack's outputs.
 */
export class PlatformServiceAccounts extends Construct {
  /** The accounts, by role in the platform. */
  readonly accounts: Readonly<Record<keyof typeof SERVICE_ACCOUNT_IDS, ServiceAccount>>;
  /** `serviceAccount:EMAIL` of each account as a reference, with the stable id of a binding to it. */
  readonly members: Readonly<Record<keyof typeof SERVICE_ACCOUNT_IDS, { readonly id: string; readonly member: string }>>;
  /** The e-mail of each account, as references. */
  readonly emails: Readonly<Record<keyof typeof SERVICE_ACCOUNT_IDS, string>>;

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
      const member = account.member;
      for (const role of SERVICE_ACCOUNT_ROLES[key]) {
        new ProjectIamMember(this, `${accountId}-${role.replace(/^roles\//, '').replace(/\./g, '-')}`, {
          project: props.project,
          role,
          member,
        });
      }
    }
    this.accounts = accounts;
    const members = {} as Record<keyof typeof SERVICE_ACCOUNT_IDS, { id: string; member: string }>;
    const emails = {} as Record<keyof typeof SERVICE_ACCOUNT_IDS, string>;
    for (const key of keys) {
      // The id is the one a literal `serviceAccount:EMAIL` would get, so binding addresses do not depend on the form.
      members[key] = {
        id: memberId(`serviceAccount:${serviceAccountEmail(props.project, SERVICE_ACCOUNT_IDS[key])}`),
        member: accounts[key].member,
      };
      emails[key] = accounts[key].email;
    }
    this.members = members;
    this.emails = emails;

    // Cloud Scheduler runs the end-to-end trigger, which runs as the test account: it must be allowed to act as it.
    new ServiceAccountIamMember(this, 'scheduler-acts-as-test', {
      serviceAccountId: accounts.test.name,
      role: 'roles/iam.serviceAccountUser',
      member: members.scheduler.member,
    });
    const tokens = props.githubTokenSecrets ?? { write: 'c2c-github-token', read: 'c2c-github-token-read' };
    // Terraform state: apply takes the lock and writes state; plan (pull requests, `-lock=false`) only reads it.
    // Pull-request plans run code from the pull request: nothing they can reach may write.
    const pipelineAccess = {
      platformPlan: { state: 'roles/storage.objectViewer', token: tokens.read },
      platformApply: { state: 'roles/storage.objectAdmin', token: tokens.write },
    } as const;
    for (const key of ['platformPlan', 'platformApply'] as const) {
      new StorageBucketIamMember(this, `${SERVICE_ACCOUNT_IDS[key]}-state`, {
        bucket: props.stateBucket,
        role: pipelineAccess[key].state,
        member: members[key].member,
      });
      new SecretManagerSecretIamMember(this, `${SERVICE_ACCOUNT_IDS[key]}-github-token`, {
        project: props.project,
        secretId: pipelineAccess[key].token,
        role: 'roles/secretmanager.secretAccessor',
        member: members[key].member,
      });
    }
  }
}
