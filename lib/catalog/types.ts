/** The two environments every service is deployed to. Environment is data, never a fork in the code path. */
export type EnvironmentName = 'staging' | 'production';
export const ENVIRONMENTS: readonly EnvironmentName[] = ['staging', 'production'];

/** One port the service listens on. */
export interface ServicePort {
  /** A short name, lower-case (`http`, `admin`); Marathon exposes it as `$PORT_<NAME>` and marathon-lb uses it. */
  readonly name: string;
  /**
   * The port inside the container (image services, bridge networking). Required for images; an artifact runs on the
   * agent's network and listens on the port Marathon gives it in `$PORT_<NAME>` (e.g. `$PORT_HTTP`), so it has none.
   * @see https://mesosphere.github.io/marathon/docs/ports.html
   */
  readonly containerPort?: number;
  /**
   * A fixed service port (load-balancer port); 0 lets Marathon pick one from 10000-20000.
   * @default 0
   */
  readonly servicePort?: number;
  /** @default 'tcp' */
  readonly protocol?: 'tcp' | 'udp';
}

/** When the checks run and how many failures kill a task; shared by every kind of health check. */
export interface HealthCheckTiming {
  /** Seconds after start during which failures do not count. @default 30 */
  readonly gracePeriodSeconds?: number;
  /** @default 5 */
  readonly intervalSeconds?: number;
  /** Less than `intervalSeconds`. @default 3 */
  readonly timeoutSeconds?: number;
  /** Consecutive failures before Marathon kills the task (0 = never). @default 3 */
  readonly maxConsecutiveFailures?: number;
}

/**
 * An HTTP(S) GET that must answer 2xx/3xx. `HTTP`/`HTTPS` are run by Marathon, `MESOS_HTTP`/`MESOS_HTTPS` by Mesos on
 * the agent. The protocol may be left out: HTTP is the default kind.
 */
export interface HttpHealthCheck extends HealthCheckTiming {
  /** @default 'HTTP' */
  readonly protocol?: 'HTTP' | 'HTTPS' | 'MESOS_HTTP' | 'MESOS_HTTPS';
  /** @default '/health' */
  readonly path?: string;
  /** Index into `ports`. @default 0 */
  readonly portIndex?: number;
}

/** A TCP connect to a port. `TCP` is run by Marathon, `MESOS_TCP` by Mesos on the agent. */
export interface TcpHealthCheck extends HealthCheckTiming {
  readonly protocol: 'TCP' | 'MESOS_TCP';
  /** Index into `ports`. @default 0 */
  readonly portIndex?: number;
}

/** A shell command run by Mesos next to the task (inside the container for images); exit 0 means healthy. */
export interface CommandHealthCheck extends HealthCheckTiming {
  readonly protocol: 'COMMAND';
  /** e.g. `curl -fsS http://localhost:$PORT_HTTP/health` */
  readonly command: string;
}

/**
 * How Marathon decides a task is healthy: one of three kinds, each with only its own options (as cdk8s-plus
 * `Probe.fromHttpGet/fromTcpSocket/fromCommand`). Plain data; `HealthCheck.http()` and friends write it for you.
 * @see reference/marathon-api/SEMANTICS.md §12
 */
export type ServiceHealthCheck = HttpHealthCheck | TcpHealthCheck | CommandHealthCheck;

/** Factories for the three kinds of health check (they return the plain data a service file may also write). */
export const HealthCheck = {
  /** `HealthCheck.http('/health', { portIndex: 1 })` */
  http(path = '/health', options: Omit<HttpHealthCheck, 'path'> = {}): HttpHealthCheck {
    return { ...options, protocol: options.protocol ?? 'HTTP', path };
  },
  /** `HealthCheck.tcp({ portIndex: 0 })` */
  tcp(options: Omit<TcpHealthCheck, 'protocol'> & { readonly protocol?: TcpHealthCheck['protocol'] } = {}): TcpHealthCheck {
    return { ...options, protocol: options.protocol ?? 'TCP' };
  },
  /** `HealthCheck.command('test -f ready')` */
  command(command: string, options: HealthCheckTiming = {}): CommandHealthCheck {
    return { ...options, protocol: 'COMMAND', command };
  },
} as const;

/** How an image is run. */
export interface ImageRunOptions {
  /**
   * Which Mesos containerizer runs the image: the Docker engine (`DOCKER`), or Mesos's own (`MESOS`, the "universal
   * container runtime", which runs Docker images without a Docker daemon on the agent).
   * @default 'DOCKER'
   * @see reference/marathon-api/raml/v2/types/appContainer.raml (EngineType)
   */
  readonly containerizer?: 'DOCKER' | 'MESOS';
}

/** The Docker image the service's build produces and pushes to the registry under the commit (the default). */
export interface BuiltImagePackage extends ImageRunOptions {
  readonly kind: 'image';
}

/**
 * An image someone else builds (a database, a proxy, the registry itself), deployed as is. It must be pinned by
 * digest, `name@sha256:<64 hex>`, so that what is reviewed is what runs. Usually goes with `build: 'none'`.
 */
export interface UpstreamImagePackage extends ImageRunOptions {
  readonly kind: 'upstream-image';
  /** e.g. `docker.io/library/nginx@sha256:…` */
  readonly image: string;
}

/** The fetch options of an artifact: how Marathon's fetcher puts it in the task's sandbox. @see raml/v2/types/artifact.raml */
export interface ArtifactFetchOptions {
  /** Unpack the archive into the sandbox (`.tar.gz`, `.tgz`, `.tar.xz`, `.tar.bz2`, `.zip`). @default true */
  readonly extract?: boolean;
  /** Set the executable bit on the fetched file (for a single binary, with `extract: false`). @default false */
  readonly executable?: boolean;
  /**
   * Let the agent's fetcher cache keep the file. Safe here: an artifact's URI names its commit and SHA-256, so the
   * content behind a URI never changes. @default true
   */
  readonly cache?: boolean;
  /** File name in the sandbox. @default - the last segment of the URI */
  readonly destPath?: string;
}

interface ArtifactBase extends ArtifactFetchOptions {
  readonly kind: 'artifact';
  /**
   * Where the build leaves the tarball, relative to the repository root; the pipeline uploads it under its commit and
   * SHA-256. @default 'dist/app.tar.gz' (what the `templates/artifact-repo` Makefile writes)
   */
  readonly file?: string;
}

/**
 * A tarball (or a single binary) that the build produces, fetched into the task's sandbox by Marathon's fetcher and
 * started there with `cmd` (run by a shell) or `args` (run directly); no Docker. The sandbox is the working
 * directory and `$MESOS_SANDBOX`; the service listens on `$PORT_<NAME>` (host networking).
 */
export type ArtifactPackage = ArtifactBase &
  (
    | {
        /** Shell command that starts the artifact, e.g. `node server.js` or `./bin/lamp-sync`. */ readonly cmd: string;
        readonly args?: never;
      }
    | {
        /** The program and its arguments, run without a shell, e.g. `['./lamp-sync', '--serve']`. */ readonly args: readonly string[];
        readonly cmd?: never;
      }
  );

/** What a service deploys: the image its build produces (default), an upstream image, or an artifact. */
export type ServicePackage = BuiltImagePackage | UpstreamImagePackage | ArtifactPackage;

/**
 * How the repository is built and unit-tested in the push trigger, with one contract whatever the tool: exit non-zero
 * when the build or a unit test fails, and run no end-to-end tests (those are `smokeTest`). `'none'`: no build and no
 * unit-test steps (only deploy, smoke test and the gate), for an upstream image.
 */
export type ServiceBuild = 'build.sh' | 'make' | 'none' | { readonly command: string };

/** A Marathon placement constraint: `[field, operator]` or `[field, operator, value]`. */
export type ServiceConstraint =
  | readonly [string, 'UNIQUE']
  | readonly [string, 'CLUSTER' | 'GROUP_BY' | 'LIKE' | 'UNLIKE' | 'MAX_PER' | 'IS', string]
  | readonly [string, 'GROUP_BY'];

/** Today's release: Marathon's rolling restart of the one app `/<env>/<name>` (its `upgradeStrategy`). */
export interface RollingStrategy {
  readonly kind: 'rolling';
}

/**
 * The fields blue/green and canary share: both run two apps, `/<env>/<name>-blue` and `/<env>/<name>-green`, behind
 * one marathon-lb virtual host, with marathon-lb's `HAPROXY_DEPLOYMENT_*` labels (as its `zdd.py` does).
 * @see reference/marathon-api/SEMANTICS.md §15
 */
interface TwoColourStrategy {
  /**
   * marathon-lb's `HAPROXY_DEPLOYMENT_ALT_PORT`: the service port the colours alternate with the service's first
   * `servicePort`, so the two apps never hold the same service port. Must differ from every port of the service.
   */
  readonly altPort: number;
  /**
   * How long the old colour keeps running (scaled, drained, not serving) after a release reaches 100 %, so that going
   * back is a switch (`deploy abort`), not a deploy. 0 removes it at once. @default 30
   */
  readonly keepOldMinutes?: number;
}

/** The new colour beside the old at full size; traffic moves once it is healthy and its smoke test passes. */
export interface BlueGreenStrategy extends TwoColourStrategy {
  readonly kind: 'blueGreen';
}

/** One canary step: the share of instances on the new colour, then what lets the release go on. */
export interface CanaryStep {
  /** Percent of the instances (and so of the requests) on the new colour, 1-100; the last step is 100. */
  readonly percent: number;
  /**
   * After the step's analysis passes: wait this many minutes (the analysis runs again at the end), or wait for
   * `deploy promote`. The last step has none. @default 'promote'
   */
  readonly pause?: { readonly minutes: number } | 'promote';
}

/** Instances moved to the new colour in steps (e.g. 10 %, 50 %, 100 %), with a pause or a promote between steps. */
export interface CanaryStrategy extends TwoColourStrategy {
  readonly kind: 'canary';
  readonly steps: readonly CanaryStep[];
}

/** How a release reaches traffic. Staging releases the same way as production. @default { kind: 'rolling' } */
export type ReleaseStrategy = RollingStrategy | BlueGreenStrategy | CanaryStrategy;

/** What a service owner writes in `services/<name>.ts`. Everything else has a default. */
export interface ServiceDefinition {
  /** Service name: lower-case letters, digits and `-` (it becomes the Marathon id `/<env>/<name>`). */
  readonly name: string;
  /** The GitHub repository, `owner/name`. */
  readonly repo: string;
  /** One line for humans (repository description, status output). @default - the name */
  readonly description?: string;
  /**
   * Adopt an existing repository instead of creating one (import it into Terraform state first; see README).
   * @default false
   */
  readonly existingRepo?: boolean;
  /** @default 'main' */
  readonly defaultBranch?: string;
  /**
   * Monorepo: only pushes touching these globs trigger the build (`included_files`).
   * @default - every push
   */
  readonly paths?: readonly string[];
  /** CPU shares per task. */
  readonly cpus: number;
  /** Memory per task, MiB. */
  readonly mem: number;
  /** @default 0 */
  readonly disk?: number;
  /** Tasks per environment. A single number means the same in both. */
  readonly instances: number | { readonly staging: number; readonly production: number };
  /**
   * Set when production is meant to run fewer tasks than staging (normally a mistake).
   * @default false
   */
  readonly allowFewerInProduction?: boolean;
  /**
   * What is deployed: the image the build produces, an upstream image pinned by digest, or an artifact (a tarball
   * and the command that starts it). @default { kind: 'image' }
   */
  readonly package?: ServicePackage;
  /**
   * How the repository is built and unit-tested. @default - 'none' for an upstream image, otherwise 'build.sh'
   */
  readonly build?: ServiceBuild;
  /**
   * Ports the service listens on. @default - [{ name: 'http', containerPort: 8080 }] for images (bridge networking),
   * [{ name: 'http' }] for artifacts (host networking: listen on `$PORT_HTTP`)
   */
  readonly ports?: readonly ServicePort[];
  /** `false` for no health check (then a deploy only waits for tasks to run). @default { path: '/health' } */
  readonly healthCheck?: ServiceHealthCheck | false;
  /** Plain environment variables (string values only, as Marathon requires). @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Environment variables read from the secret store: `{ ENV_NAME: 'store/path' }`. Needs Marathon's
   * `secrets` feature (DC/OS Enterprise or a secrets plugin). @default {}
   */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Placement constraints. @default [] */
  readonly constraints?: readonly ServiceConstraint[];
  /** Extra Marathon labels (string values). @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** marathon-lb virtual host for port 0; adds `HAPROXY_GROUP` and `HAPROXY_0_VHOST`. @default - not exposed */
  readonly virtualHost?: string | { readonly staging: string; readonly production: string };
  /**
   * Rolling-upgrade policy. @default { minimumHealthCapacity: 1, maximumOverCapacity: 1 } (start new tasks beside the
   * old ones, stop old ones once new ones are healthy: no downtime)
   * @see reference/marathon-api/SEMANTICS.md §9
   */
  readonly upgradeStrategy?: { readonly minimumHealthCapacity: number; readonly maximumOverCapacity: number };
  /**
   * How a release reaches traffic: `rolling` (Marathon's rolling restart), `blueGreen` or `canary` (two colours
   * behind marathon-lb; need `virtualHost` and a fixed `servicePort` on the first port). @default { kind: 'rolling' }
   */
  readonly strategy?: ReleaseStrategy;
  /** Command override for an image (`cmd`); an artifact names its command in `package`. @default - the image's entrypoint */
  readonly cmd?: string;
  /**
   * Smoke/end-to-end test command, run against an environment with `SERVICE_URL` set (after every staging deploy,
   * and on a schedule against staging and production).
   */
  readonly smokeTest: string;
  /** Who may approve production deploys: IAM members (`user:ana@example.com`, `group:sre@example.com`). */
  readonly approvers: readonly string[];
  /** The approver may not be the plan's author. @default true */
  readonly fourEyes?: boolean;
  /** How long an approval stays valid, hours. @default 24 */
  readonly approvalTtlHours?: number;
}

/** Defaults the renderer and the constructs share. */
export const SERVICE_DEFAULTS = {
  defaultBranch: 'main',
  disk: 0,
  ports: [{ name: 'http', containerPort: 8080 }] as readonly ServicePort[],
  artifactPorts: [{ name: 'http' }] as readonly ServicePort[],
  artifactFile: 'dist/app.tar.gz',
  package: { kind: 'image' } as ServicePackage,
  healthCheck: {
    protocol: 'HTTP',
    path: '/health',
    portIndex: 0,
    gracePeriodSeconds: 30,
    intervalSeconds: 5,
    timeoutSeconds: 3,
    maxConsecutiveFailures: 3,
  } as Required<HttpHealthCheck>,
  artifactFetch: { extract: true, executable: false, cache: true } as Required<Omit<ArtifactFetchOptions, 'destPath'>>,
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  fourEyes: true,
  approvalTtlHours: 24,
  strategy: { kind: 'rolling' } as ReleaseStrategy,
  keepOldMinutes: 30,
} as const;

/** Identity function that gives a service file its type checking and editor hints. */
export function defineService(definition: ServiceDefinition): ServiceDefinition {
  return definition;
}

/** Instances for one environment. */
export function instancesFor(def: ServiceDefinition, env: EnvironmentName): number {
  return typeof def.instances === 'number' ? def.instances : def.instances[env];
}

/** marathon-lb virtual host for one environment, if any. */
export function virtualHostFor(def: ServiceDefinition, env: EnvironmentName): string | undefined {
  if (def.virtualHost === undefined) return undefined;
  return typeof def.virtualHost === 'string' ? def.virtualHost : def.virtualHost[env];
}

/** What a service deploys (its `package`, or the built image). */
export function packageOf(def: ServiceDefinition): ServicePackage {
  return def.package ?? SERVICE_DEFAULTS.package;
}

/** How a service is built: its `build`, or `'none'` for an upstream image and `'build.sh'` otherwise. */
export function buildOf(def: ServiceDefinition): ServiceBuild {
  return def.build ?? (packageOf(def).kind === 'upstream-image' ? 'none' : 'build.sh');
}

/** The command the build step runs (`./build.sh`, `make`, or the given one); undefined for `'none'`. */
export function buildCommand(build: ServiceBuild): string | undefined {
  if (build === 'none') return undefined;
  if (build === 'build.sh') return './build.sh';
  if (build === 'make') return 'make';
  return build.command;
}

/** The ports of a service, defaulted by the kind of package. */
export function portsOf(def: ServiceDefinition): readonly ServicePort[] {
  return def.ports ?? (packageOf(def).kind === 'artifact' ? SERVICE_DEFAULTS.artifactPorts : SERVICE_DEFAULTS.ports);
}

/** How a service is released: its `strategy`, or a rolling restart. */
export function strategyOf(def: ServiceDefinition): ReleaseStrategy {
  return def.strategy ?? SERVICE_DEFAULTS.strategy;
}
