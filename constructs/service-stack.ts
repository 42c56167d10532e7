import { Construct } from 'constructs';
import { GithubProvider } from '@cdktf/provider-github/lib/provider';
import { ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig } from '../lib/platform';
import { cloudBuildCheckName, triggerNames } from './build-pipeline';
import { C2CStack, googleProvider } from './c2c-stack';
import { Microservice } from './microservice';
import { PlatformRefs } from './naming';
import { checkApis } from './project-apis';
import { platformRefsIn } from './platform-stack';

/** Props of {@link ServiceStack}. */
export interface ServiceStackProps {
  /** The service of this stack. */
  readonly service: ServiceDefinition;
  /** Fleet settings. */
  readonly platform: PlatformConfig;
  /**
   * What the service uses of the platform: `PlatformStack.refs`. Given as references into the platform stack, cdktf
   * makes them outputs of the platform stack read through its remote state, and this stack depends on it.
   */
  readonly refs: PlatformRefs;
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
  /**
   * The repository link id declared by the stack of the service that owns a shared repository (a reference into that
   * stack). Required when this service does not own its repository.
   * @default - none
   */
  readonly repositoryLink?: string;
  /**
   * Where the platform stack's state is (the GCS backend's bucket and prefix): the deploy bundle's generation is read
   * from it. Without it, `refs` are used as given (one stack synthesized on its own, in tests).
   * @default - none
   */
  readonly platformState?: { readonly bucket: string; readonly prefix: string };
  /**
   * Machine type of the service's default-pool builds.
   * @default - Cloud Build's default
   */
  readonly machineType?: string;
}

/** Who declares a repository shared by several services, and which checks its branch protection requires. */
export function repositoryOwnership(
  service: ServiceDefinition,
  fleet: readonly ServiceDefinition[],
  project: string,
): { manage: boolean; owner: string; requiredChecks: string[] } {
  const sharing = fleet.filter((s) => String(s.repo).toLowerCase() === String(service.repo).toLowerCase()).map((s) => s.name);
  if (!sharing.includes(service.name)) sharing.push(service.name);
  sharing.sort();
  return {
    manage: sharing[0] === service.name,
    owner: sharing[0],
    requiredChecks: sharing.map((n) => cloudBuildCheckName(triggerNames(n).pullRequest, project)),
  };
}

/**
 * One service in its own stack (`service-<name>`), so that a change to one service plans only that service. Uses the
 * platform's buckets, accounts, bundle, pool and secrets through references into the platform stack, so `cdktf
 * deploy` applies the platform stack first and a trigger only ever names what the platform state holds.
 */
export class ServiceStack extends C2CStack {
  /** The service's pipeline. */
  readonly microservice: Microservice;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id);
    const { platform, service } = props;
    googleProvider(this, platform);
    new GithubProvider(this, 'github', { owner: platform.githubOwner });
    // The APIs are declared by the platform stack, which this stack is applied after.
    checkApis(this);
    const ownership = repositoryOwnership(service, props.fleet ?? [service], platform.project);
    this.microservice = new Microservice(this, 'service', {
      service,
      platform,
      refs: props.platformState ? platformRefsIn(this, props.refs, props.platformState) : props.refs,
      connection: props.connection,
      seedFiles: props.seedFiles,
      manageRepository: ownership.manage,
      requiredChecks: ownership.requiredChecks,
      repositoryLink: ownership.manage ? undefined : props.repositoryLink,
      machineType: props.machineType,
    });
  }
}
