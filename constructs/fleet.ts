import { App, GcsBackend } from 'cdktf';
import { ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig } from '../lib/platform';
import { DeployBundle } from './deploy-bucket';
import { PlatformStack } from './platform-stack';
import { ServiceStack } from './service-stack';
import { PipelineSettings } from './settings';

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
   * Files a new service repository is seeded with.
   * @default {}
   */
  readonly seedFiles?: Readonly<Record<string, string>>;
}

/** The stacks of the app. */
export interface Fleet {
  /** `platform`. */
  readonly platform: PlatformStack;
  /** `service-<name>`, one per service. */
  readonly services: readonly ServiceStack[];
}

/**
 * The platform stack plus one stack per service, each with a GCS state backend (`stacks/<stack>` in the state
 * bucket). The platform stack is production-side for the platform pipeline; service stacks are staging-side (they
 * change a service's pipeline, never a running production app, which only changes through an approved plan).
 */
export function addFleet(app: App, props: FleetProps): Fleet {
  const { platform, settings } = props;
  const services = props.services.map(
    (service) =>
      new ServiceStack(app, `service-${service.name}`, {
        service,
        platform,
        bundle: props.bundle,
        connection: settings.connection,
        seedFiles: props.seedFiles,
        fleet: props.services,
      }),
  );
  const platformStack = new PlatformStack(app, 'platform', {
    platform,
    bundle: props.bundle,
    services: props.services,
    connection: settings.connection,
    platformRepo: settings.platformRepo,
    clusterMembers: settings.clusterMembers,
    imageReaders: settings.imageReaders,
    auditReaders: settings.auditReaders,
    platformApprovers: settings.platformApprovers,
    stacks: [{ name: 'platform', side: 'production' }, ...services.map((s) => ({ name: s.node.id, side: 'staging' as const }))],
  });
  for (const stack of [platformStack, ...services]) {
    new GcsBackend(stack, { bucket: platform.stateBucket, prefix: `stacks/${stack.node.id}` });
  }
  return { platform: platformStack, services };
}
