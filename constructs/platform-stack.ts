import { Construct } from 'constructs';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig } from '../lib/platform';
import { Approvers, ApproverPrincipals } from './approvers';
import { ApprovalReminder } from './approval-reminder';
import { AuditBucket } from './audit-bucket';
import { ValidationError } from '../lib/errors';
import { C2CStack } from './c2c-stack';
import { DeployBucket, DeployBundle } from './deploy-bucket';
import { BuildNotifier, NotifierKind } from './build-notifier';
import { MarathonCredentials } from './marathon-credentials';
import { platformNames, PlatformNames, PlatformRefs } from './naming';
import { PipelineStack, PlatformPipeline } from './platform-pipeline';
import { Registry, RegistryBackend } from './registry';
import { PlatformServiceAccounts } from './service-accounts';
import { PrivateWorkerPool } from './worker-pool';

/** Props of {@link PlatformStack}. */
export interface PlatformStackProps {
  /** Fleet settings. */
  readonly platform: PlatformConfig;
  /** The deploy CLI bundle to publish. */
  readonly bundle: DeployBundle;
  /** Every service of the fleet (their reviewers get the Cloud Build approver role). */
  readonly services: readonly ServiceDefinition[];
  /** Name of the Cloud Build GitHub connection (2nd gen), created once in the console. */
  readonly connection: string;
  /** The platform's own repository, `owner/name`. */
  readonly platformRepo: string;
  /** Every stack of the app with its side, for the platform pipeline. */
  readonly stacks: readonly PipelineStack[];
  /**
   * Service accounts of the cluster's machines: they run the registry app, which reads the registry bucket.
   * @default []
   */
  readonly clusterMembers?: readonly string[];
  /**
   * People who pull images straight from the bucket to test them (`group:qa@example.com`).
   * @default []
   */
  readonly imageReaders?: readonly string[];
  /**
   * Members that read the audit log (`deploy history`, `deploy report`).
   * @default []
   */
  readonly auditReaders?: readonly string[];
  /**
   * Reviewers of the platform's own production-side Terraform plans.
   * @default []
   */
  readonly platformApprovers?: readonly string[];
  /**
   * Registry backend.
   * @default 'gcs'
   */
  readonly registryBackend?: RegistryBackend;
  /**
   * IAM principals of the approvers named in service files (see {@link Approvers}).
   * @default - none (only for the example fleet)
   */
  readonly approverPrincipals?: ApproverPrincipals;
  /**
   * The example fleet (`npm start`, tests): unmapped approvers are bound as written and the pool gets an example network.
   * @default false
   */
  readonly exampleFleet?: boolean;
  /**
   * The cluster's VPC network for the private worker pool, `projects/P/global/networks/N`. Required unless `exampleFleet`.
   * @default - example fleet: `projects/<project>/global/networks/marathon`
   */
  readonly poolNetwork?: string;
  /**
   * Private DNS suffixes the pool resolves.
   * @default - the last label of each Marathon URL's host, e.g. `internal.`
   */
  readonly poolDnsSuffixes?: readonly string[];
  /**
   * Machine type of the pool's workers.
   * @default 'e2-standard-2'
   */
  readonly poolMachineType?: string;
  /**
   * The chat the production builds' notices go to (Google's Cloud Build notifier on Cloud Run), or `false` for none.
   * @default 'slack'
   */
  readonly notifier?: NotifierKind | false;
  /**
   * Minutes a production build waits for approval before the scheduled reminder posts (with the notifier only).
   * @default 30
   */
  readonly remindAfterMinutes?: number;
  /**
   * Minutes between two runs of the reminder (and two reminders of one build): one of `REMIND_EVERY_CHOICES`.
   * @default 15
   */
  readonly remindEveryMinutes?: number;
}

/** Default private DNS suffixes: the last label of each Marathon URL's host (`internal.` for `marathon.staging.internal`). */
export function defaultDnsSuffixes(platform: PlatformConfig): string[] {
  const suffixes = Object.values(platform.marathonUrls).map((u) => {
    const host = new URL(u).hostname;
    return /^[\d.]+$/.test(host) || !host.includes('.') ? undefined : `${host.split('.').pop()}.`;
  });
  return [...new Set(suffixes.filter((x): x is string => x !== undefined))].sort();
}

/**
 * The shared platform: service accounts, the registry (bucket + IAM + registry app), the deploy bucket with the deploy
 * bundle, the audit bucket, the private worker pool, the Marathon credentials' secrets, the Cloud Build approver
 * bindings, and the platform's own pipeline. {@link refs} is what service stacks use, as references.
 */
export class PlatformStack extends C2CStack {
  /** Derived names. */
  readonly names: PlatformNames;
  /** The registry. */
  readonly registry: Registry;
  /** The deploy bucket. */
  readonly deployBucket: DeployBucket;
  /** The audit bucket. */
  readonly auditBucket: AuditBucket;
  /** The platform's own pipeline. */
  readonly pipeline: PlatformPipeline;
  /** The build accounts. */
  readonly serviceAccounts: PlatformServiceAccounts;
  /** The private worker pool builds that reach Marathon or a service run in. */
  readonly workerPool: PrivateWorkerPool;
  /** The Marathon credentials' secrets. */
  readonly marathonCredentials: MarathonCredentials;
  /** The Cloud Build notifier, unless turned off. */
  readonly notifier?: BuildNotifier;
  /** The scheduled reminder of production builds waiting for approval; with the notifier only. */
  readonly reminder?: ApprovalReminder;
  /** What service stacks refer to: every field a Terraform reference into this stack. */
  readonly refs: PlatformRefs;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id);
    const { platform } = props;
    const names = platformNames(platform);
    this.names = names;
    new GoogleProvider(this, 'google', {
      project: platform.project,
      region: platform.region,
      defaultLabels: { 'managed-by': 'commit-to-cloud' },
    });
    const accounts = new PlatformServiceAccounts(this, 'service-accounts', {
      project: platform.project,
      stateBucket: platform.stateBucket,
    });
    this.serviceAccounts = accounts;
    const m = accounts.members;
    this.deployBucket = new DeployBucket(this, 'deploy', {
      name: names.deployBucket,
      location: platform.region,
      bundle: props.bundle,
      topicName: names.plansTopic,
      readers: [m.build, m.production, m.platformApply],
      creators: [m.build, m.platformApply],
    });
    const deployBucketName = this.deployBucket.bucket.name;
    this.registry = new Registry(this, 'registry', {
      name: names.registryBucket,
      location: platform.region,
      host: platform.registryHost,
      backend: props.registryBackend,
      readers: [...(props.clusterMembers ?? []), ...(props.imageReaders ?? [])],
      writers: [m.build],
      templateBucket: deployBucketName,
    });
    this.auditBucket = new AuditBucket(this, 'audit', {
      name: names.auditBucket,
      location: platform.region,
      writers: [m.build, m.production, m.platformApply],
      readers: props.auditReaders,
    });
    if (props.poolNetwork === undefined && !props.exampleFleet) {
      throw new ValidationError([
        {
          subject: 'PlatformStack',
          field: 'poolNetwork',
          value: undefined,
          message:
            "is required: builds that reach Marathon run in a private pool peered to the cluster's network; set C2C_POOL_NETWORK to 'projects/PROJECT/global/networks/NAME'",
        },
      ]);
    }
    this.workerPool = new PrivateWorkerPool(this, 'worker-pool', {
      project: platform.project,
      region: platform.region,
      network: props.poolNetwork ?? `projects/${platform.project}/global/networks/marathon`,
      dnsSuffixes: props.poolDnsSuffixes ?? defaultDnsSuffixes(platform),
      machineType: props.poolMachineType,
    });
    this.marathonCredentials = new MarathonCredentials(this, 'marathon-credentials', {
      project: platform.project,
      pushMember: m.build.member,
      productionMember: m.production.member,
    });
    new Approvers(this, 'approvers', {
      project: platform.project,
      services: props.services,
      principals: props.approverPrincipals,
      exampleFleet: props.exampleFleet,
      platformApprovers: props.platformApprovers,
    });
    if (props.notifier !== false) {
      this.notifier = new BuildNotifier(this, 'notifier', {
        project: platform.project,
        region: platform.region,
        configBucket: deployBucketName,
        kind: props.notifier,
        webhookReaders: [m.build],
      });
    }
    const e = accounts.emails;
    this.refs = {
      deployBucket: deployBucketName,
      registryBucket: this.registry.bucket?.name ?? names.registryBucket,
      auditBucket: this.auditBucket.bucket.name,
      plansTopic: this.deployBucket.topic.id,
      buildServiceAccount: e.build,
      productionServiceAccount: e.production,
      testServiceAccount: e.test,
      schedulerServiceAccount: e.scheduler,
      bundleObject: this.deployBucket.bundleObject.name,
      bundleGeneration: this.deployBucket.bundleGeneration,
      workerPool: this.workerPool.id,
      marathonSecrets: this.marathonCredentials.refs,
      ...(this.notifier ? { notifyWebhook: this.notifier.webhookVersion } : {}),
    };
    this.pipeline = new PlatformPipeline(this, 'platform-pipeline', {
      repo: props.platformRepo,
      platform,
      refs: {
        planServiceAccount: e.platformPlan,
        applyServiceAccount: e.platformApply,
        deployBucket: deployBucketName,
        auditBucket: this.auditBucket.bucket.name,
        plansTopic: this.deployBucket.topic.id,
      },
      connection: props.connection,
      stacks: props.stacks,
    });
    if (this.notifier) {
      this.reminder = new ApprovalReminder(this, 'reminder', {
        project: platform.project,
        region: platform.region,
        repository: this.pipeline.repository.id,
        branch: this.pipeline.branch,
        deployBucket: deployBucketName,
        bundleObject: this.deployBucket.bundleObject.name,
        bundleGeneration: this.deployBucket.bundleGeneration,
        webhookSecretId: this.notifier.webhookSecret.secretId,
        webhookVersion: this.notifier.webhookVersion,
        schedulerEmail: e.scheduler,
        schedulerMember: m.scheduler.member,
        afterMinutes: props.remindAfterMinutes,
        everyMinutes: props.remindEveryMinutes,
      });
    }
  }
}
