import { App, GcsBackend } from 'cdktf';
import { ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig } from '../lib/platform';
import { DeployBundle, PlatformSignersFile } from './deploy-bucket';
import { PlatformStack } from './platform-stack';
import { repositoryOwnership, ServiceStack } from './service-stack';
import { PipelineSettings, synthEnv } from './settings';

/** Props of {@link addFleet}. */
export interface FleetProps {
  /** Fleet settings. */
  readonly platform: PlatformConfig;
  /** Pipeline settings (connection, platform repository, extra IAM members). */
  readonly settings: PipelineSettings;
  /** Every service (a validated catalog's services). */
  readonly services: readonly ServiceDefinition[];
  /** The deploy CLI bundle. */
  readonly bundle: DeployBundle;
  /**
   * The platform's allowed-signers list, published for the cloud path (`loadPlatformSigners`).
   * @default - a list that names nobody
   */
  readonly allowedSigners?: PlatformSignersFile;
  /**
   * Files a new service repository is seeded with.
   * @default {}
   */
  readonly seedFiles?: Readonly<Record<string, string>>;
}

/** The stacks of the app. */
export interface Fleet {
  /** `platform`. */
  readonly platform: PlatformStack;
  /** `service-<name>`, one per service, in the order of the catalog. */
  readonly services: readonly ServiceStack[];
  /** Stack names in the order they are applied: every stack after the stacks it depends on. */
  readonly order: readonly string[];
}

/**
 * The platform stack plus one stack per service, each with a GCS state backend (`stacks/<stack>` in the state
 * bucket). The platform stack is production-side for the platform pipeline; service stacks are staging-side (they
 * change a service's pipeline, never a running production app, which only changes through an approved plan).
 *
 * Order: every service stack depends on the platform stack (`addDependency`; its references into the platform are
 * read from the platform's state), and a service sharing a repository on the stack of the service that declares it.
 * `cdktf deploy` applies a stack only after the stacks it depends on; the platform pipeline walks the stacks in
 * {@link Fleet.order}.
 */
export function addFleet(app: App, props: FleetProps): Fleet {
  const { platform, settings } = props;
  const sorted = [...props.services].sort((a, b) => a.name.localeCompare(b.name));
  const order = ['platform', ...sorted.map((s) => `service-${s.name}`)];
  const platformStack = new PlatformStack(app, 'platform', {
    platform,
    bundle: props.bundle,
    ...(props.allowedSigners ? { allowedSigners: props.allowedSigners } : {}),
    services: props.services,
    connection: settings.connection,
    platformRepo: settings.platformRepo,
    clusterMembers: settings.clusterMembers,
    imageReaders: settings.imageReaders,
    auditReaders: settings.auditReaders,
    platformApprovers: settings.platformApprovers,
    approverPrincipals: settings.approverPrincipals,
    exampleFleet: settings.exampleFleet,
    poolNetwork: settings.poolNetwork,
    poolDnsSuffixes: settings.poolDnsSuffixes,
    poolMachineType: settings.poolMachineType,
    poolExistingRanges: settings.poolExistingRanges,
    githubPlan: settings.githubPlan,
    synthEnv: synthEnv(platform, settings),
    notifier: settings.notifier,
    remindAfterMinutes: settings.remindAfterMinutes,
    remindEveryMinutes: settings.remindEveryMinutes,
    stacks: order.map((name) => ({ name, side: name === 'platform' ? ('production' as const) : ('staging' as const) })),
  });
  const byName = new Map<string, ServiceStack>();
  for (const service of sorted) {
    const ownership = repositoryOwnership(service, props.services, platform.project);
    const owner = ownership.manage ? undefined : byName.get(ownership.owner);
    const stack = new ServiceStack(app, `service-${service.name}`, {
      service,
      platform,
      refs: platformStack.refs,
      connection: settings.connection,
      seedFiles: props.seedFiles,
      fleet: props.services,
      repositoryLink: owner?.microservice.pipeline.repositoryName,
      machineType: settings.buildMachineType,
      platformState: { bucket: platform.stateBucket, prefix: statePrefix('platform') },
    });
    stack.addDependency(platformStack);
    if (owner) stack.addDependency(owner);
    byName.set(service.name, stack);
  }
  const services = props.services.map((s) => byName.get(s.name)!);
  for (const stack of [platformStack, ...services]) {
    new GcsBackend(stack, { bucket: platform.stateBucket, prefix: statePrefix(stack.node.id) });
  }
  return { platform: platformStack, services, order };
}

/** The state prefix of a stack in the state bucket. */
export function statePrefix(stack: string): string {
  return `stacks/${stack}`;
}
