import { Construct } from 'constructs';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig } from '../lib/platform';
import { Approvers } from './approvers';
import { AuditBucket } from './audit-bucket';
import { C2CStack } from './c2c-stack';
import { DeployBucket, DeployBundle } from './deploy-bucket';
import { platformNames, PlatformNames } from './naming';
import { PipelineStack, PlatformPipeline } from './platform-pipeline';
import { Registry, RegistryBackend } from './registry';
import { PlatformServiceAccounts } from './service-accounts';

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
}

/**
 * The shared platform: service accounts, the registry (bucket + IAM + registry app), the deploy bucket with the deploy
 * bundle, the audit bucket, the Cloud Build approver bindings, and the platform's own pipeline.
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

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id);
    const { platform } = props;
    const names = platformNames(platform);
    this.names = names;
    const sa = (email: string) => `serviceAccount:${email}`;
    new GoogleProvider(this, 'google', {
      project: platform.project,
      region: platform.region,
      defaultLabels: { 'managed-by': 'commit-to-cloud' },
    });
    new PlatformServiceAccounts(this, 'service-accounts', { project: platform.project, stateBucket: platform.stateBucket });
    this.deployBucket = new DeployBucket(this, 'deploy', {
      name: names.deployBucket,
      location: platform.region,
      bundle: props.bundle,
      topicName: names.plansTopic,
      readers: [names.buildServiceAccount, names.productionServiceAccount, names.platformApplyServiceAccount].map(sa),
      creators: [names.buildServiceAccount, names.platformApplyServiceAccount].map(sa),
    });
    this.registry = new Registry(this, 'registry', {
      name: names.registryBucket,
      location: platform.region,
      host: platform.registryHost,
      backend: props.registryBackend,
      readers: [...(props.clusterMembers ?? []), ...(props.imageReaders ?? [])],
      writers: [sa(names.buildServiceAccount)],
      templateBucket: names.deployBucket,
    });
    this.auditBucket = new AuditBucket(this, 'audit', {
      name: names.auditBucket,
      location: platform.region,
      writers: [names.buildServiceAccount, names.productionServiceAccount, names.platformApplyServiceAccount].map(sa),
      readers: props.auditReaders,
    });
    new Approvers(this, 'approvers', { project: platform.project, services: props.services, platformApprovers: props.platformApprovers });
    this.pipeline = new PlatformPipeline(this, 'platform-pipeline', {
      repo: props.platformRepo,
      platform,
      names,
      connection: props.connection,
      stacks: props.stacks,
    });
  }
}
