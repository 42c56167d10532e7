import { ArtifactRef, artifactRefProblem } from '../catalog/artifact';
import {
  ArtifactPackage,
  EnvironmentName,
  HttpHealthCheck,
  instancesFor,
  packageOf,
  portsOf,
  SERVICE_DEFAULTS,
  ServiceDefinition,
  ServiceHealthCheck,
  virtualHostFor,
} from '../catalog/types';
import { C2CError } from '../errors';
import {
  artifactOfApp,
  LABEL_ARTIFACT_SHA256,
  LABEL_ENV,
  LABEL_SERVICE,
  MarathonAppDefinition,
  MarathonEnvValue,
  MarathonFetch,
  MarathonHealthCheck,
} from './app';

export type { ArtifactRef } from '../catalog/artifact';

/**
 * What varies per deploy: the package reference (the image, or the artifact's URI and SHA-256) and the stamp labels
 * (commit, deployer, plan id...). Give the one the service's kind needs: `image` for a built image (an upstream
 * image defaults to the one pinned in its service file), `artifact` for an artifact.
 */
export interface RenderOptions {
  /** Full image reference, e.g. `registry.internal:5000/bulb-api:3f2a9c1` or `…@sha256:…`. */
  readonly image?: string;
  /** The artifact to fetch and its checksum, e.g. from `artifactUri(…)` and the build's `sha256sum`. */
  readonly artifact?: ArtifactRef;
  /** Extra labels, normally the stamp labels from `STAMP_LABELS`. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The Marathon app id of a service in an environment: `/<env>/<name>`. */
export function marathonAppId(service: string, env: EnvironmentName): string {
  return `/${env}/${service}`;
}

/**
 * The one renderer: service definition + environment + package reference -> Marathon app JSON. Pure and
 * deterministic (same input, same output, key order included), so the constructs' templates, `deploy render`,
 * `deploy plan` and the plan id all agree byte for byte. An image runs in a Docker container on a bridge network; an
 * artifact has no container: Marathon's fetcher puts it in the sandbox, `cmd` (or `args`) starts it on the host
 * network, and the same ports, health checks, env, labels and upgrade strategy apply.
 * @throws C2CError PACKAGE_REF when the options lack (or give a bad) reference for the service's kind.
 */
export function renderMarathonApp(def: ServiceDefinition, env: EnvironmentName, options: RenderOptions): MarathonAppDefinition {
  const pkg = packageOf(def);
  const ports = portsOf(def);
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
  const artifact = pkg.kind === 'artifact' ? artifactRef(def, options) : undefined;
  if (artifact) labels[LABEL_ARTIFACT_SHA256] = artifact.sha256;
  Object.assign(labels, options.labels ?? {});

  const common = {
    instances: instancesFor(def, env),
    cpus: def.cpus,
    mem: def.mem,
    disk: def.disk ?? SERVICE_DEFAULTS.disk,
  };
  const rest = {
    env: sortKeys(envVars),
    ...(Object.keys(secrets).length > 0 ? { secrets: sortKeys(secrets) } : {}),
    ...(def.healthCheck === false ? {} : { healthChecks: [renderHealthCheck(def.healthCheck)] }),
    upgradeStrategy: { ...(def.upgradeStrategy ?? SERVICE_DEFAULTS.upgradeStrategy) },
    labels: sortKeys(labels),
    ...(def.constraints && def.constraints.length > 0 ? { constraints: def.constraints.map((c) => [...c]) } : {}),
  };

  if (pkg.kind === 'artifact' && artifact) {
    return {
      id: marathonAppId(def.name, env),
      cmd: verifiedCommand(pkg, artifact),
      ...common,
      fetch: [renderFetch(pkg, artifact)],
      networks: [{ mode: 'host' }],
      portDefinitions: ports.map((p) => ({ port: p.servicePort ?? 0, protocol: p.protocol ?? 'tcp', name: p.name })),
      ...rest,
    };
  }

  const image = options.image ?? (pkg.kind === 'upstream-image' ? pkg.image : undefined);
  if (image === undefined) {
    throw new C2CError('PACKAGE_REF', `${def.name} deploys an image: render it with the image reference`, {
      hint: "pass the image built for the commit, e.g. '--image <registry>/<name>:<commit>'",
    });
  }
  return {
    id: marathonAppId(def.name, env),
    ...(def.cmd !== undefined ? { cmd: def.cmd } : {}),
    ...common,
    container: {
      type: (pkg.kind === 'artifact' ? undefined : pkg.containerizer) ?? 'DOCKER',
      docker: { image, forcePullImage: false },
      portMappings: ports.map((p) => ({
        containerPort: p.containerPort ?? 0,
        hostPort: 0,
        servicePort: p.servicePort ?? 0,
        protocol: p.protocol ?? 'tcp',
        name: p.name,
      })),
    },
    networks: [{ mode: 'container/bridge' }],
    ...rest,
  };
}

/**
 * The package reference a live app holds, in the form `renderMarathonApp` takes for this service's kind: its image
 * (container.docker.image), or its artifact (first fetch URI and the checksum label). Null when the live app holds
 * no package of that kind (e.g. a service that moved from an image to an artifact): then there is nothing to
 * re-render it with, and the package itself is the drift.
 */
export function livePackageRef(
  def: ServiceDefinition,
  raw: Readonly<Record<string, unknown>>,
): Pick<RenderOptions, 'image' | 'artifact'> | null {
  if (packageOf(def).kind === 'artifact') {
    const artifact = artifactOfApp(raw);
    return artifact && artifact.sha256 !== null ? { artifact: { uri: artifact.uri, sha256: artifact.sha256 } } : null;
  }
  const container = raw.container as { docker?: { image?: unknown } } | undefined;
  const image = container?.docker?.image;
  return typeof image === 'string' ? { image } : null;
}

function artifactRef(def: ServiceDefinition, options: RenderOptions): ArtifactRef {
  if (options.artifact === undefined) {
    throw new C2CError('PACKAGE_REF', `${def.name} deploys an artifact: render it with the artifact's URI and SHA-256, not an image`, {
      hint: "pass '--artifact <uri> --sha256 <hex>' (the URI the build uploaded and the checksum of the file)",
    });
  }
  const problem = artifactRefProblem(options.artifact);
  if (problem) {
    throw new C2CError(
      'PACKAGE_REF',
      `artifact of ${def.name}: ${problem.field} (${JSON.stringify(options.artifact[problem.field])}) ${problem.message}`,
    );
  }
  return options.artifact;
}

/**
 * The fetch of an artifact. Never extracted by the fetcher: Marathon's `fetch` has no checksum, and a tarball the
 * fetcher extracts (from its cache) never reaches the sandbox as a file, so nothing could check it. The task's command
 * checks the file and then extracts it ({@link verifiedCommand}).
 */
function renderFetch(pkg: ArtifactPackage, ref: ArtifactRef): MarathonFetch {
  const d = SERVICE_DEFAULTS.artifactFetch;
  return {
    uri: ref.uri,
    extract: false,
    executable: pkg.executable ?? d.executable,
    cache: pkg.cache ?? d.cache,
    ...(pkg.destPath !== undefined ? { destPath: pkg.destPath } : {}),
  };
}

/** A word for `sh`, single-quoted. */
function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The artifact's command, run by the task's shell in the sandbox: first `sha256sum -c` of the fetched file against
 * the SHA-256 the plan pinned (different bytes at the same URI stop the task with exit 1 and a line on stderr, before
 * anything of the artifact runs), then the extraction the fetcher would have done (`extract`, default true), then the
 * package's `cmd` (or its `args`, each quoted, with `exec`). Needs `sha256sum` and `tar` on the agents (coreutils, tar;
 * `unzip` and `gunzip` for those kinds of archive).
 */
function verifiedCommand(pkg: ArtifactPackage, ref: ArtifactRef): string {
  const d = SERVICE_DEFAULTS.artifactFetch;
  const file = pkg.destPath ?? decodeURIComponent(new URL(ref.uri).pathname.split('/').pop() ?? '');
  const extract = (pkg.extract ?? d.extract) && !(pkg.executable ?? d.executable);
  const start = pkg.args !== undefined ? `exec ${pkg.args.map(shellWord).join(' ')}` : pkg.cmd;
  return [
    `echo ${shellWord(`${ref.sha256}  ${file}`)} | sha256sum -c --status - || { echo ${shellWord(
      `c2c: ${file} does not have the SHA-256 the plan pinned (${ref.sha256}); not starting`,
    )} >&2; exit 1; }`,
    ...(extract ? extraction(file) : []),
    start,
  ].join(' && ');
}

/**
 * What Mesos' fetcher would have done with `extract`, by the file's name: tarballs with `tar`, `.zip` with `unzip`, a
 * single `.gz` file gunzipped into the sandbox root; any other file is left as it is (the fetcher copies what is not an archive).
 */
function extraction(file: string): string[] {
  const q = shellWord(file);
  if (/\.(tar|tgz|tar\.gz|tbz2|tar\.bz2|txz|tar\.xz)$/.test(file)) return [`tar -xf ${q}`];
  if (file.endsWith('.zip')) return [`unzip -o -q ${q}`];
  if (file.endsWith('.gz')) return [`gunzip -c ${q} > ${shellWord(file.slice(0, -3).split('/').pop() ?? '')}`];
  return [];
}

function renderHealthCheck(hc: ServiceHealthCheck = {}): MarathonHealthCheck {
  const d = SERVICE_DEFAULTS.healthCheck;
  const timing = {
    gracePeriodSeconds: hc.gracePeriodSeconds ?? d.gracePeriodSeconds,
    intervalSeconds: hc.intervalSeconds ?? d.intervalSeconds,
    timeoutSeconds: hc.timeoutSeconds ?? d.timeoutSeconds,
    maxConsecutiveFailures: hc.maxConsecutiveFailures ?? d.maxConsecutiveFailures,
  };
  if (hc.protocol === 'COMMAND') return { protocol: hc.protocol, command: { value: hc.command }, ...timing };
  const portIndex = hc.portIndex ?? d.portIndex;
  if (hc.protocol === 'TCP' || hc.protocol === 'MESOS_TCP') return { protocol: hc.protocol, portIndex, ...timing };
  const http = hc as HttpHealthCheck; // the union's remaining kind (its protocol may be left out)
  return { protocol: http.protocol ?? d.protocol, path: http.path ?? d.path, portIndex, ...timing };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
