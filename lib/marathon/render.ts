import { EnvironmentName, instancesFor, SERVICE_DEFAULTS, ServiceDefinition, virtualHostFor } from '../catalog/types';
import { LABEL_ENV, LABEL_SERVICE, MarathonAppDefinition, MarathonEnvValue, MarathonHealthCheck } from './app';

/** What varies per deploy: the image, and the stamp labels (commit, deployer, plan id...). */
export interface RenderOptions {
  /** Full image reference, e.g. `registry.internal:5000/bulb-api:3f2a9c1`. */
  readonly image: string;
  /** Extra labels, normally the stamp labels from `STAMP_LABELS`. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The Marathon app id of a service in an environment: `/<env>/<name>`. */
export function marathonAppId(service: string, env: EnvironmentName): string {
  return `/${env}/${service}`;
}

/**
 * The one renderer: service definition + environment + image -> Marathon app JSON. Pure and deterministic (same
 * input, same output, key order included), so the constructs' templates, `deploy render`, `deploy plan` and the
 * plan id all agree byte for byte.
 */
export function renderMarathonApp(def: ServiceDefinition, env: EnvironmentName, options: RenderOptions): MarathonAppDefinition {
  const ports = def.ports ?? SERVICE_DEFAULTS.ports;
  const envVars: Record<string, MarathonEnvValue> = { DEPLOY_ENV: env, ...(def.env ?? {}) };
  const secrets: Record<string, { source: string }> = {};
  for (const [name, source] of Object.entries(def.secrets ?? {})) {
    // Marathon references a secret by a name declared in `secrets`; the env var reads it as { secret: name }.
    const secretName = name.toLowerCase().replace(/_/g, '-');
    secrets[secretName] = { source };
    envVars[name] = { secret: secretName };
  }
  const labels: Record<string, string> = { ...(def.labels ?? {}), [LABEL_SERVICE]: def.name, [LABEL_ENV]: env };
  const vhost = virtualHostFor(def, env);
  if (vhost !== undefined) {
    labels.HAPROXY_GROUP = 'external';
    labels.HAPROXY_0_VHOST = vhost;
  }
  Object.assign(labels, options.labels ?? {});

  const app: MarathonAppDefinition = {
    id: marathonAppId(def.name, env),
    ...(def.cmd !== undefined ? { cmd: def.cmd } : {}),
    instances: instancesFor(def, env),
    cpus: def.cpus,
    mem: def.mem,
    disk: def.disk ?? SERVICE_DEFAULTS.disk,
    container: {
      type: 'DOCKER',
      docker: { image: options.image, forcePullImage: false },
      portMappings: ports.map((p) => ({
        containerPort: p.containerPort,
        hostPort: 0,
        servicePort: p.servicePort ?? 0,
        protocol: p.protocol ?? 'tcp',
        name: p.name,
      })),
    },
    networks: [{ mode: 'container/bridge' }],
    env: sortKeys(envVars),
    ...(Object.keys(secrets).length > 0 ? { secrets: sortKeys(secrets) } : {}),
    ...(def.healthCheck === false ? {} : { healthChecks: [renderHealthCheck(def)] }),
    upgradeStrategy: { ...(def.upgradeStrategy ?? SERVICE_DEFAULTS.upgradeStrategy) },
    labels: sortKeys(labels),
    ...(def.constraints && def.constraints.length > 0 ? { constraints: def.constraints.map((c) => [...c]) } : {}),
  };
  return app;
}

function renderHealthCheck(def: ServiceDefinition): MarathonHealthCheck {
  const hc = def.healthCheck === false || def.healthCheck === undefined ? {} : def.healthCheck;
  const d = SERVICE_DEFAULTS.healthCheck;
  const protocol = hc.protocol ?? d.protocol;
  const timing = {
    gracePeriodSeconds: hc.gracePeriodSeconds ?? d.gracePeriodSeconds,
    intervalSeconds: hc.intervalSeconds ?? d.intervalSeconds,
    timeoutSeconds: hc.timeoutSeconds ?? d.timeoutSeconds,
    maxConsecutiveFailures: hc.maxConsecutiveFailures ?? d.maxConsecutiveFailures,
  };
  if (protocol === 'COMMAND') return { protocol, command: { value: hc.command ?? '' }, ...timing };
  const portIndex = hc.portIndex ?? d.portIndex;
  if (protocol === 'TCP' || protocol === 'MESOS_TCP') return { protocol, portIndex, ...timing };
  return { protocol, path: hc.path ?? d.path, portIndex, ...timing };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
