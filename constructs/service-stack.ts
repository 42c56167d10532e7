import { Construct } from 'constructs';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { GithubProvider } from '@cdktf/provider-github/lib/provider';
import { ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig } from '../lib/platform';
import { cloudBuildCheckName, triggerNames } from './build-pipeline';
import { C2CStack } from './c2c-stack';
import { DeployBundle } from './deploy-bucket';
import { Microservice } from './microservice';
import { platformNames } from './naming';

/** Props of {@link ServiceStack}. */
export interface ServiceStackProps {
  /** The service of this stack. */
  readonly service: ServiceDefinition;
  /** Fleet settings. */
  readonly platform: PlatformConfig;
  /** The deploy CLI bundle (only its hash and object name are used here). */
  readonly bundle: Pick<DeployBundle, 'sha256' | 'objectName'>;
  /** Name of the Cloud Build GitHub connection (2nd gen). */
  readonly connection: string;
  /**
   * Files a new repository is seeded with.
   * @default {}
   */
  readonly seedFiles?: Readonly<Record<string, string>>;
  /**
   * Every service of the fleet: services that share a repository (a monorepo) share one repository declaration,
   * owned by the first of them by name, whose branch protection requires every one of their checks.
   * @default - only this service
   */
  readonly fleet?: readonly ServiceDefinition[];
}

/** Who declares a repository shared by several services, and which checks its branch protection requires. */
export function repositoryOwnership(
  service: ServiceDefinition,
  fleet: readonly ServiceDefinition[],
  project: string,
): { manage: boolean; requiredChecks: string[] } {
  const sharing = fleet.filter((s) => String(s.repo).toLowerCase() === String(service.repo).toLowerCase()).map((s) => s.name);
  if (!sharing.includes(service.name)) sharing.push(service.name);
  sharing.sort();
  return {
    manage: sharing[0] === service.name,
    requiredChecks: sharing.map((n) => cloudBuildCheckName(triggerNames(n).pullRequest, project)),
  };
}

/**
 * One service in its own stack (`service-<name>`), so that a change to one service plans only that service. Refers to
 * the platform's buckets and accounts by name, never by cross-stack reference.
 */
export class ServiceStack extends C2CStack {
  /** The service's pipeline. */
  readonly microservice: Microservice;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id);
    const { platform, service } = props;
    new GoogleProvider(this, 'google', {
      project: platform.project,
      region: platform.region,
      defaultLabels: { 'managed-by': 'commit-to-cloud' },
    });
    new GithubProvider(this, 'github', { owner: platform.githubOwner });
    const ownership = repositoryOwnership(service, props.fleet ?? [service], platform.project);
    this.microservice = new Microservice(this, 'service', {
      service,
      platform,
      names: platformNames(platform),
      bundle: props.bundle,
      connection: props.connection,
      seedFiles: props.seedFiles,
      manageRepository: ownership.manage,
      requiredChecks: ownership.requiredChecks,
    });
  }
}
