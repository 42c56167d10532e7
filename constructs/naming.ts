import { PlatformConfig } from '../lib/platform';
import { platformSignersObject } from '../lib/gate/platform-signers';

/**
 * Every globally visible name the platform derives from {@link PlatformConfig}, in one place. Service stacks refer
 * to platform resources (buckets, service accounts, the build connection) by these names instead of by Terraform
 * references, so that each stack plans on its own and a change to one service never plans the platform.
 */
export interface PlatformNames {
  /** Bucket the Docker registry stores image layers in. */
  readonly registryBucket: string;
  /** Bucket holding the deploy bundle, the Marathon templates and the production plans. */
  readonly deployBucket: string;
  /** Append-only audit log bucket (one object per event). */
  readonly auditBucket: string;
  /** Pub/Sub topic the deploy bucket notifies when an object (a plan) is written. */
  readonly plansTopic: string;
  /** Runs push, pull-request and end-to-end builds: pushes images, deploys to staging, writes plans. */
  readonly buildServiceAccount: string;
  /** Runs approved production builds: reads plans and templates, writes audit events; never pushes images. */
  readonly productionServiceAccount: string;
  /** Runs untrusted or test-only builds (pull requests, scheduled end-to-end tests): may only write logs. */
  readonly testServiceAccount: string;
  /** Runs the smoke builds (the repository's e2e.sh after a deploy): no Marathon secret; hands staged plans on. */
  readonly smokeServiceAccount: string;
  /** Used by Cloud Scheduler to run the end-to-end triggers. */
  readonly schedulerServiceAccount: string;
  /** Runs `terraform plan` for the platform's own pipeline (read-only on the project). */
  readonly platformPlanServiceAccount: string;
  /** Runs `terraform apply` for the platform's own pipeline, after approval for production-side stacks. */
  readonly platformApplyServiceAccount: string;
}

/** Service account ids (the part before `@`): 6-30 characters. */
export const SERVICE_ACCOUNT_IDS = {
  build: 'c2c-build',
  production: 'c2c-deploy-production',
  test: 'c2c-test',
  smoke: 'c2c-smoke',
  scheduler: 'c2c-scheduler',
  platformPlan: 'c2c-platform-plan',
  platformApply: 'c2c-platform-apply',
} as const;

/**
 * What a service stack needs from the platform stack. In the app these are Terraform references (cdktf turns a
 * reference into another stack into an output of the platform stack read through its remote state), so that Terraform
 * knows the order and a service stack always names what the platform state says exists. {@link literalRefs} gives the
 * same fields as plain names, for tests of one construct on its own.
 */
export interface PlatformRefs {
  /** Deploy bucket name. */
  readonly deployBucket: string;
  /** Registry bucket name (the builds' push sidecar writes to it). */
  readonly registryBucket: string;
  /** Audit bucket name. */
  readonly auditBucket: string;
  /** The plans topic's id, `projects/P/topics/NAME` (production triggers listen there). */
  readonly plansTopic: string;
  /** Service account e-mails, by role. */
  readonly buildServiceAccount: string;
  readonly productionServiceAccount: string;
  readonly testServiceAccount: string;
  /** Runs the smoke builds (the repository's e2e.sh after a deploy): no Marathon secret; hands staged plans on. */
  readonly smokeServiceAccount: string;
  readonly schedulerServiceAccount: string;
  /** The published deploy bundle: object name (holds its SHA-256) and generation. */
  readonly bundleObject: string;
  readonly bundleGeneration: string;
  /**
   * The platform's allowed-signers list in the deploy bucket: object name (holds its SHA-256) and generation. The plan
   * and production steps verify commit and plan signatures against it, never against the service's checkout.
   */
  readonly signersObject: string;
  readonly signersGeneration: string;
  /**
   * The private worker pool (`projects/P/locations/R/workerPools/NAME`) for builds that talk to Marathon or a service.
   * @default - Cloud Build's default pool
   */
  readonly workerPool?: string;
  /**
   * Secret Manager version name of the chat webhook URL: the push build's `deploy plan --notify` posts the
   * "waits for approval" notice with it.
   * @default - no notice from the push build
   */
  readonly notifyWebhook?: string;
  /**
   * Secret Manager version names of the Marathon credentials a build reads, by use.
   * @default - no credentials injected
   */
  readonly marathonSecrets?: MarathonSecretRefs;
}

/** Secret Manager version names (`projects/P/secrets/ID/versions/latest`) of the Marathon credentials. */
export interface MarathonSecretRefs {
  /** Staging Marathon, read and write: the push trigger's deploy. */
  readonly staging: string;
  /** Production Marathon, read only: the push trigger's production plan reads live state. */
  readonly productionRead: string;
  /** Production Marathon, read and write: only the production trigger. */
  readonly production: string;
}

/** {@link PlatformRefs} as plain names (one construct tested on its own; the app always uses references). */
export function literalRefs(
  platform: Pick<PlatformConfig, 'project' | 'bucketPrefix'>,
  bundleSha256: string,
  signersSha256: string = '0'.repeat(64),
): PlatformRefs {
  const n = platformNames(platform);
  return {
    deployBucket: n.deployBucket,
    registryBucket: n.registryBucket,
    auditBucket: n.auditBucket,
    plansTopic: `projects/${platform.project}/topics/${n.plansTopic}`,
    buildServiceAccount: n.buildServiceAccount,
    productionServiceAccount: n.productionServiceAccount,
    testServiceAccount: n.testServiceAccount,
    smokeServiceAccount: n.smokeServiceAccount,
    schedulerServiceAccount: n.schedulerServiceAccount,
    bundleObject: deployBundleObject(bundleSha256),
    bundleGeneration: '1',
    signersObject: platformSignersObject(signersSha256),
    signersGeneration: '1',
  };
}

/** The e-mail of a service account of the project. */
export function serviceAccountEmail(project: string, accountId: string): string {
  return `${accountId}@${project}.iam.gserviceaccount.com`;
}

/** The names derived from a platform configuration. Pure; same input, same names. */
export function platformNames(platform: Pick<PlatformConfig, 'project' | 'bucketPrefix'>): PlatformNames {
  const sa = (id: string) => serviceAccountEmail(platform.project, id);
  return {
    registryBucket: `${platform.bucketPrefix}-c2c-registry`,
    deployBucket: `${platform.bucketPrefix}-c2c-deploy`,
    auditBucket: `${platform.bucketPrefix}-c2c-audit`,
    plansTopic: 'c2c-plans',
    buildServiceAccount: sa(SERVICE_ACCOUNT_IDS.build),
    productionServiceAccount: sa(SERVICE_ACCOUNT_IDS.production),
    testServiceAccount: sa(SERVICE_ACCOUNT_IDS.test),
    smokeServiceAccount: sa(SERVICE_ACCOUNT_IDS.smoke),
    schedulerServiceAccount: sa(SERVICE_ACCOUNT_IDS.scheduler),
    platformPlanServiceAccount: sa(SERVICE_ACCOUNT_IDS.platformPlan),
    platformApplyServiceAccount: sa(SERVICE_ACCOUNT_IDS.platformApply),
  };
}

/** `projects/P/serviceAccounts/EMAIL`, the form `google_cloudbuild_trigger.service_account` wants. */
export function serviceAccountResource(project: string, email: string): string {
  return `projects/${project}/serviceAccounts/${email}`;
}

/** Object name of the deploy bundle in the deploy bucket: pinned by its content hash. */
export function deployBundleObject(sha256: string): string {
  return `deploy/deploy-bundle-${sha256}.cjs`;
}

/** Object name of a service's rendered Marathon template for one environment. */
export function templateObject(service: string, env: string): string {
  return `templates/${service}/${env}.json`;
}

/** Prefix under which a service's production plans are written; the production trigger listens for it. */
export function planPrefix(service: string): string {
  return `plans/${service}/production/`;
}

/**
 * Prefix under which the push build stages a service's production plan: the object starts the smoke-staging build,
 * which moves the plan under {@link planPrefix} once the staging smoke test passed.
 */
export function stagedPrefix(service: string): string {
  return `staged/${service}/production/`;
}

/** Prefix under which a production build that applied a plan asks for the production smoke test (one object per build). */
export function smokePrefix(service: string): string {
  return `smoke/${service}/production/`;
}

/** Prefix under which the platform's own production-side Terraform plans are written. */
export const PLATFORM_PLAN_PREFIX = 'platform-plans/';
