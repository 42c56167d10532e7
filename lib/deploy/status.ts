import { EnvironmentName, packageOf, ServiceDefinition } from '../catalog/types';
import { FieldChange } from '../gate/plan';
import { ArtifactRef } from '../catalog/artifact';
import { LABEL_ARTIFACT_SHA256, STAMP_LABELS } from '../marathon/app';
import { MarathonAppInfo, MarathonClient, MarathonDeployment } from '../marathon/client';
import { marathonAppId, renderMarathonApp } from '../marathon/render';
import { diffApp } from './diff';
import { isSettled } from './wait';

/** One service in one environment, as Marathon runs it. */
export interface ServiceStatus {
  readonly service: string;
  readonly environment: EnvironmentName;
  readonly appId: string;
  /** `missing`: not deployed; `deploying`: a deployment touches it; `healthy`/`unhealthy` by the counters (§12). */
  readonly state: 'healthy' | 'unhealthy' | 'deploying' | 'missing';
  readonly image: string | null;
  /** What an artifact service runs: the URI its fetch names and the SHA-256 the deploy pinned; null for images. */
  readonly artifact: ArtifactRef | null;
  readonly version: string | null;
  readonly commit: string | null;
  readonly deployedBy: string | null;
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
  /** Difference between the definition rendered for the image that runs now and what runs (empty = no drift). */
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
  const perEnv = await Promise.all(
    (Object.entries(input.clients) as [EnvironmentName, MarathonClient][]).map(async ([environment, client]) => {
      const [apps, deployments] = await Promise.all([client.listApps({ idPrefix: `/${environment}/` }), client.listDeployments()]);
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
      healthy: 0,
      running: 0,
      wanted: 0,
      healthChecks: false,
      deployment: null,
      drift: [],
    };
  }
  const d = deployments.find((x) => app.deployments.includes(x.id) || x.affectedApps.includes(appId)) ?? null;
  const artifact = artifactOf(app);
  const drift =
    packageOf(def).kind === 'artifact'
      ? artifact
        ? diffApp(renderMarathonApp(def, environment, { artifact }), app.raw)
        : [{ path: 'fetch', kind: 'removed' as const }]
      : app.image
        ? diffApp(renderMarathonApp(def, environment, { image: app.image }), app.raw)
        : [{ path: 'container.docker.image', kind: 'removed' as const }];
  return {
    service: def.name,
    environment,
    appId,
    state: d || app.deployments.length > 0 ? 'deploying' : isSettled(app) ? 'healthy' : 'unhealthy',
    image: app.image,
    artifact,
    version: app.version,
    commit: app.labels[STAMP_LABELS.commit] ?? null,
    deployedBy: app.labels[STAMP_LABELS.deployedBy] ?? null,
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

/** The artifact an app runs: its first fetch URI and the SHA-256 label a deploy put next to it (none for images). */
export function artifactOf(app: MarathonAppInfo): ArtifactRef | null {
  const fetch = Array.isArray(app.raw.fetch) ? (app.raw.fetch as { uri?: unknown }[]) : [];
  const uri = fetch[0]?.uri;
  const sha256 = app.labels[LABEL_ARTIFACT_SHA256];
  return typeof uri === 'string' && sha256 !== undefined ? { uri, sha256 } : null;
}
