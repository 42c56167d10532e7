import { Construct } from 'constructs';
import { DataTerraformRemoteStateGcs, TerraformOutput } from 'cdktf';
import { ENVIRONMENTS, packageOf, ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig, platformEnv } from '../lib/platform';
import { Approvers, ApproverPrincipals } from './approvers';
import { ApprovalReminder } from './approval-reminder';
import { AuditBucket } from './audit-bucket';
import { ValidationError, Violation } from '../lib/errors';
import { ProjectApis } from './project-apis';
import { GithubPlan } from './settings';
import { C2CStack, googleProvider } from './c2c-stack';
import { TeamPage } from './team-page';
import { DeployBucket, DeployBundle, PlatformSignersFile, platformSignersFile } from './deploy-bucket';
import { BuildNotifier, NotifierKind } from './build-notifier';
import { MarathonCredentials } from './marathon-credentials';
import { platformNames, PlatformNames, PlatformRefs } from './naming';
import { PipelineStack, PlatformPipeline } from './platform-pipeline';
import { Registry, RegistryBackend } from './registry';
import { ArtifactServer } from './artifact-server';
import { PlatformServiceAccounts } from './service-accounts';
import { PrivateWorkerPool } from './worker-pool';

/** Props of {@link PlatformStack}. */
export interface PlatformStackProps {
  /** Fleet settings. */
  readonly platform: PlatformConfig;
  /** The deploy CLI bundle to publish. */
  readonly bundle: DeployBundle;
  /**
   * The platform's allowed-signers list (`security/allowed_signers` of the platform repository, `loadPlatformSigners`),
   * published in the deploy bucket: the cloud path's plan step and production gate read it, never a service's checkout.
   * @default - a list that names nobody (no cloud approval can then rest on a signature)
   */
  readonly allowedSigners?: PlatformSignersFile;
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
   * Ranges of the network's existing private services access connection, kept in the peering.
   * @default []
   */
  readonly poolExistingRanges?: readonly string[];
  /**
   * The GitHub organisation's plan; required unless `exampleFleet`, and `free` is refused.
   * @default - none (example fleet only)
   */
  readonly githubPlan?: GithubPlan;
  /**
   * The environment of the platform pipeline's synth step (`synthEnv` of constructs/settings).
   * @default - the platform settings and the connection
   */
  readonly synthEnv?: readonly string[];
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

/** The platform stack's outputs naming the published deploy bundle, read by service stacks from its state. */
export const BUNDLE_OUTPUTS = { object: 'bundle-object', generation: 'bundle-generation' } as const;

/** The platform stack's outputs naming the published allowed-signers list, read by service stacks from its state. */
export const SIGNERS_OUTPUTS = { object: 'signers-object', generation: 'signers-generation' } as const;

/**
 * The platform refs for a stack applied after the platform stack: the literals as they are, and the deploy bundle
 * (object name and generation) read from the platform's state (`terraform_remote_state`): the bundle a service's
 * builds fetch is the one the platform has published, even when the service stack is applied before an approved
 * platform change that publishes a new one. Read explicitly, so that no cdktf cross-stack reference exists (C2CStack).
 */
export function platformRefsIn(scope: Construct, refs: PlatformRefs, state: { bucket: string; prefix: string }): PlatformRefs {
  const remote = new DataTerraformRemoteStateGcs(scope, 'platform-state', {
    bucket: state.bucket,
    prefix: state.prefix,
    workspace: '${terraform.workspace}',
  });
  return {
    ...refs,
    bundleObject: remote.getString(BUNDLE_OUTPUTS.object),
    bundleGeneration: remote.getString(BUNDLE_OUTPUTS.generation),
    signersObject: remote.getString(SIGNERS_OUTPUTS.object),
    signersGeneration: remote.getString(SIGNERS_OUTPUTS.generation),
  };
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
  /** The artifact server the cluster's fetcher downloads artifacts from (GCS backend: artifacts live in its bucket). */
  readonly artifactServer?: ArtifactServer;
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
  /** The scheduled job that writes the team's page into the audit bucket. */
  readonly page: TeamPage;
  /** What service stacks refer to: every field a Terraform reference into this stack. */
  readonly refs: PlatformRefs;

  /** The project's Google APIs. */
  readonly apis: ProjectApis;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id);
    const { platform } = props;
    checkPlatformProps(props);
    this.names = platformNames(platform);
    googleProvider(this, platform);
    this.apis = new ProjectApis(this, 'apis', { project: platform.project });
    this.serviceAccounts = new PlatformServiceAccounts(this, 'service-accounts', {
      project: platform.project,
      stateBucket: platform.stateBucket,
    });
    const m = this.serviceAccounts.members;
    this.deployBucket = new DeployBucket(this, 'deploy', {
      name: this.names.deployBucket,
      location: platform.region,
      bundle: props.bundle,
      allowedSigners:
        props.allowedSigners ?? platformSignersFile('# the platform stack was given no allowed-signers list: nobody is listed\n'),
      topicName: this.names.plansTopic,
      // The smoke account reads the bundle and the staged plan and hands the plan on (plans/); the production account
      // asks for the production smoke test (smoke/). Creators never replace an object.
      readers: [m.build, m.production, m.platformApply, m.smoke],
      creators: [m.build, m.platformApply, m.smoke, m.production],
    });
    this.registry = new Registry(this, 'registry', {
      name: this.names.registryBucket,
      location: platform.region,
      host: platform.registryHost,
      backend: props.registryBackend,
      readers: [...(props.clusterMembers ?? []), ...(props.imageReaders ?? [])],
      writers: [m.build],
      templateBucket: this.deployBucket.bucket.name,
    });
    // Runs with the cluster machines' account, as the registry app: its only grant is the registry's objectViewer.
    if (this.registry.bucket) {
      this.artifactServer = new ArtifactServer(this, 'artifact-server', {
        bucket: this.names.registryBucket,
        host: platform.artifactHost,
        templateBucket: this.deployBucket.bucket.name,
      });
    }
    this.auditBucket = new AuditBucket(this, 'audit', {
      name: this.names.auditBucket,
      location: platform.region,
      writers: [m.build, m.production, m.platformApply],
      readers: props.auditReaders,
    });
    this.workerPool = new PrivateWorkerPool(this, 'worker-pool', {
      project: platform.project,
      region: platform.region,
      network: props.poolNetwork ?? `projects/${platform.project}/global/networks/marathon`,
      dnsSuffixes: props.poolDnsSuffixes ?? defaultDnsSuffixes(platform),
      machineType: props.poolMachineType,
      existingRanges: props.poolExistingRanges,
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
    this.notifier = this.notifierOf(props);
    this.refs = this.serviceRefs(platform.project);
    this.pipeline = this.pipelineOf(props);
    this.reminder = this.reminderOf(props);
    this.page = this.pageOf(props);
    new TerraformOutput(this, BUNDLE_OUTPUTS.object, { value: this.deployBucket.bundleObject.name });
    new TerraformOutput(this, BUNDLE_OUTPUTS.generation, { value: this.deployBucket.bundleGeneration });
    new TerraformOutput(this, SIGNERS_OUTPUTS.object, { value: this.deployBucket.signersObject.name });
    new TerraformOutput(this, SIGNERS_OUTPUTS.generation, { value: this.deployBucket.signersGeneration });
  }

  /** The notifier (unless turned off). */
  private notifierOf(props: PlatformStackProps): BuildNotifier | undefined {
    if (props.notifier === false) return undefined;
    return new BuildNotifier(this, 'notifier', {
      project: props.platform.project,
      region: props.platform.region,
      configBucket: this.deployBucket.bucket.name,
      kind: props.notifier,
      webhookReaders: [this.serviceAccounts.members.build],
    });
  }

  /**
   * What service stacks use: names, e-mails and ids as literals (the service stacks depend on this stack, which orders
   * them after it as a reference would, without a cross-stack output per use), except the bundle's generation, which
   * only exists once the object is written.
   */
  private serviceRefs(project: string): PlatformRefs {
    const n = this.names;
    return {
      deployBucket: n.deployBucket,
      registryBucket: n.registryBucket,
      auditBucket: n.auditBucket,
      plansTopic: `projects/${project}/topics/${n.plansTopic}`,
      buildServiceAccount: n.buildServiceAccount,
      productionServiceAccount: n.productionServiceAccount,
      testServiceAccount: n.testServiceAccount,
      smokeServiceAccount: n.smokeServiceAccount,
      schedulerServiceAccount: n.schedulerServiceAccount,
      // Both replaced by the values read from this stack's state in the stacks that use these refs (platformRefsIn).
      bundleObject: this.deployBucket.bundleObject.name,
      bundleGeneration: this.deployBucket.bundleGeneration,
      signersObject: this.deployBucket.signersObject.name,
      signersGeneration: this.deployBucket.signersGeneration,
      workerPool: this.workerPool.poolId,
      marathonSecrets: this.marathonCredentials.versionNames,
      ...(this.notifier ? { notifyWebhook: this.notifier.webhookVersionName } : {}),
    };
  }

  private pipelineOf(props: PlatformStackProps): PlatformPipeline {
    const e = this.serviceAccounts.emails;
    return new PlatformPipeline(this, 'platform-pipeline', {
      repo: props.platformRepo,
      platform: props.platform,
      refs: {
        planServiceAccount: e.platformPlan,
        applyServiceAccount: e.platformApply,
        deployBucket: this.deployBucket.bucket.name,
        auditBucket: this.auditBucket.bucket.name,
        plansTopic: this.deployBucket.topic.id,
      },
      connection: props.connection,
      stacks: props.stacks,
      synthEnv: props.synthEnv,
    });
  }

  /** The scheduled job that writes the team's page into the audit bucket. */
  private pageOf(props: PlatformStackProps): TeamPage {
    const { platform } = props;
    return new TeamPage(this, 'page', {
      project: platform.project,
      region: platform.region,
      repository: this.pipeline.repositoryId,
      branch: this.pipeline.branch,
      auditBucket: this.auditBucket.bucket.name,
      deployBucket: this.deployBucket.bucket.name,
      bundleObject: this.deployBucket.bundleObject.name,
      bundleGeneration: this.deployBucket.bundleGeneration,
      schedulerEmail: this.serviceAccounts.emails.scheduler,
      schedulerMember: this.serviceAccounts.members.scheduler.member,
      // The pool by its literal id (as every private build names it), so the trigger waits for the pool explicitly.
      dependsOn: [this.pipeline.repository, this.workerPool.pool],
      fleet: {
        marathonEnv: platformEnv(platform, ['marathonStaging', 'marathonProduction']),
        pool: { id: this.workerPool.poolId, reach: ENVIRONMENTS.map((e) => platform.marathonUrls[e]) },
      },
    });
  }

  /** The scheduled reminder of production builds waiting for approval (with the notifier only). */
  private reminderOf(props: PlatformStackProps): ApprovalReminder | undefined {
    if (!this.notifier) return undefined;
    const { platform } = props;
    return new ApprovalReminder(this, 'reminder', {
      project: platform.project,
      region: platform.region,
      repository: this.pipeline.repositoryId,
      branch: this.pipeline.branch,
      deployBucket: this.deployBucket.bucket.name,
      bundleObject: this.deployBucket.bundleObject.name,
      bundleGeneration: this.deployBucket.bundleGeneration,
      webhookSecretId: this.notifier.webhookSecret.secretId,
      webhookVersion: this.notifier.webhookVersion,
      schedulerEmail: this.serviceAccounts.emails.scheduler,
      schedulerMember: this.serviceAccounts.members.scheduler.member,
      afterMinutes: props.remindAfterMinutes,
      everyMinutes: props.remindEveryMinutes,
      dependsOn: [this.pipeline.repository, this.notifier.webhookValue],
    });
  }
}

/** What synth refuses before declaring anything: a real project without a pool network or a GitHub plan that fits. */
function checkPlatformProps(props: PlatformStackProps): void {
  const problems: Violation[] = [];
  if (props.poolNetwork === undefined && !props.exampleFleet) {
    problems.push({
      subject: 'PlatformStack',
      field: 'poolNetwork',
      value: undefined,
      message:
        "is required: builds that reach Marathon run in a private pool peered to the cluster's network; set C2C_POOL_NETWORK to 'projects/PROJECT/global/networks/NAME'",
    });
  }
  if (props.githubPlan === undefined && !props.exampleFleet) {
    problems.push({
      subject: 'PlatformStack',
      field: 'githubPlan',
      value: undefined,
      message:
        "is required: branch protection and environments of private repositories need GitHub Team or Enterprise; set C2C_GITHUB_PLAN to 'team' or 'enterprise' (docs/first-deploy.md)",
    });
  }
  if (props.githubPlan === 'free') {
    problems.push({
      subject: 'PlatformStack',
      field: 'githubPlan',
      value: 'free',
      message:
        'cannot protect branches or add environments to private repositories (GitHub answers 403 for every service stack); upgrade the organisation to Team or Enterprise, then set C2C_GITHUB_PLAN',
    });
  }
  const artifacts = props.services.filter((d) => packageOf(d).kind === 'artifact').map((d) => d.name);
  if (props.registryBackend === 'artifact-registry' && artifacts.length > 0) {
    problems.push({
      subject: 'PlatformStack',
      field: 'registryBackend',
      value: 'artifact-registry',
      message: `has no bucket for artifacts and no artifact server for the cluster's fetcher, which ${artifacts.join(', ')} need; use the 'gcs' backend`,
    });
  }
  if (problems.length > 0) throw new ValidationError(problems);
}
