import { EnvironmentName, packageOf, ServiceDefinition } from '../catalog/types';
import { FieldChange } from './diff';
import { ArtifactRef } from '../catalog/artifact';
import { artifactOfApp, STAMP_LABELS } from '../marathon/app';
import { MarathonAppInfo, MarathonClient, MarathonDeployment } from '../marathon/client';
import { livePackageRef, marathonAppId, renderMarathonApp } from '../marathon/render';
import { diffApp } from './diff';
import { isSettled } from './wait';
import { settleAll } from './pool';

/** One service in one environment, as Marathon runs it. */
export interface ServiceStatus {
  readonly service: string;
  readonly environment: EnvironmentName;
  readonly appId: string;
  /** `missing`: not deployed; `deploying`: a deployment touches it; `healthy`/`unhealthy` by the counters (§12). */
  readonly state: 'healthy' | 'unhealthy' | 'deploying' | 'missing';
  readonly image: string | null;
  /** What an artifact service runs (where an image service shows its image): the fetch URI and its SHA-256. */
  readonly artifact: { readonly uri: string; readonly sha256: string | null } | null;
  readonly version: string | null;
  readonly commit: string | null;
  readonly deployedBy: string | null;
  /** Who approved the production plan that runs (`c2c.approved-by`); null for staging and unapproved changes. */
  readonly approvedBy: string | null;
  readonly healthy: number;
  readonly running: number;
  readonly wanted: number;
  readonly healthChecks: boolean;
  readonly deployment: {
    readonly id: string;
    readonly currentStep: number;
    readonly totalSteps: number;
    readonly actions: readonly string[];
  } | null;
  /**
   * Difference between the definition rendered for the image that runs now and what runs (empty = no drift). A missing
   * app is one change: the whole app (`id`) is to be added.
   */
  readonly drift: readonly FieldChange[];
}

/**
 * Status of every service in each environment: one `GET /v2/apps?id=/<env>/` and one `GET /v2/deployments` per
 * environment, whatever the fleet size.
 */
export async function fleetStatus(input: {
  readonly services: readonly ServiceDefinition[];
  readonly clients: Partial<Record<EnvironmentName, MarathonClient>>;
}): Promise<ServiceStatus[]> {
  const perEnv = await settleAll(
    (Object.entries(input.clients) as [EnvironmentName, MarathonClient][]).map(async ([environment, client]) => {
      const [apps, deployments] = await settleAll([client.listApps({ idPrefix: `/${environment}/` }), client.listDeployments()]);
      const byId = new Map(apps.map((a) => [a.id, a]));
      return input.services.map((def) => statusOf(def, environment, byId.get(marathonAppId(def.name, environment)) ?? null, deployments));
    }),
  );
  return perEnv.flat();
}

function statusOf(
  def: ServiceDefinition,
  environment: EnvironmentName,
  app: MarathonAppInfo | null,
  deployments: readonly MarathonDeployment[],
): ServiceStatus {
  const appId = marathonAppId(def.name, environment);
  if (!app) {
    return {
      service: def.name,
      environment,
      appId,
      state: 'missing',
      image: null,
      artifact: null,
      version: null,
      commit: null,
      deployedBy: null,
      approvedBy: null,
      healthy: 0,
      running: 0,
      wanted: 0,
      healthChecks: false,
      deployment: null,
      drift: [{ path: 'id', kind: 'added', to: appId }],
    };
  }
  const d = deployments.find((x) => app.deployments.includes(x.id) || x.affectedApps.includes(appId)) ?? null;
  const ref = livePackageRef(def, app.raw);
  const drift = ref
    ? diffApp(renderMarathonApp(def, environment, ref), app.raw)
    : [{ path: packageOf(def).kind === 'artifact' ? 'fetch' : 'container.docker.image', kind: 'removed' as const }];
  return {
    service: def.name,
    environment,
    appId,
    state: d || app.deployments.length > 0 ? 'deploying' : isSettled(app) ? 'healthy' : 'unhealthy',
    image: app.image,
    artifact: artifactOfApp(app.raw),
    version: app.version,
    commit: app.labels[STAMP_LABELS.commit] ?? null,
    deployedBy: app.labels[STAMP_LABELS.deployedBy] ?? null,
    approvedBy: app.labels[STAMP_LABELS.approvedBy] ?? null,
    healthy: app.tasksHealthy,
    running: app.tasksRunning,
    wanted: app.instances,
    healthChecks: app.hasHealthChecks,
    deployment: d
      ? { id: d.id, currentStep: d.currentStep, totalSteps: d.totalSteps, actions: d.currentActions.map((a) => a.action) }
      : null,
    drift,
  };
}

/** The artifact an app runs, when a deploy pinned its SHA-256 next to the fetch URI (none for images). */
export function artifactOf(app: MarathonAppInfo): ArtifactRef | null {
  const a = artifactOfApp(app.raw);
  return a && a.sha256 !== null ? { uri: a.uri, sha256: a.sha256 } : null;
}
