/** The two environments every service is deployed to. Environment is data, never a fork in the code path. */
export type EnvironmentName = 'staging' | 'production';
export const ENVIRONMENTS: readonly EnvironmentName[] = ['staging', 'production'];

/** One port the container listens on. */
export interface ServicePort {
  /** A short name, lower-case (`http`, `admin`); Marathon exposes it as `$PORT_<NAME>` and marathon-lb uses it. */
  readonly name: string;
  /** The port inside the container. @see https://mesosphere.github.io/marathon/docs/ports.html */
  readonly containerPort: number;
  /**
   * A fixed service port (load-balancer port); 0 lets Marathon pick one from 10000-20000.
   * @default 0
   */
  readonly servicePort?: number;
  /** @default 'tcp' */
  readonly protocol?: 'tcp' | 'udp';
}

/** How Marathon decides a task is healthy. @see reference/marathon-api/SEMANTICS.md §12 */
export interface ServiceHealthCheck {
  /**
   * `HTTP`/`TCP` are run by Marathon; `MESOS_HTTP`/`MESOS_TCP`/`COMMAND` by Mesos on the agent.
   * @default 'HTTP'
   */
  readonly protocol?: 'HTTP' | 'HTTPS' | 'TCP' | 'MESOS_HTTP' | 'MESOS_HTTPS' | 'MESOS_TCP' | 'COMMAND';
  /** HTTP path. @default '/health' */
  readonly path?: string;
  /** Index into `ports`. @default 0 */
  readonly portIndex?: number;
  /** Shell command, required for `COMMAND`. */
  readonly command?: string;
  /** @default 30 */
  readonly gracePeriodSeconds?: number;
  /** @default 5 */
  readonly intervalSeconds?: number;
  /** @default 3 */
  readonly timeoutSeconds?: number;
  /** @default 3 */
  readonly maxConsecutiveFailures?: number;
}

/** A Marathon placement constraint: `[field, operator]` or `[field, operator, value]`. */
export type ServiceConstraint =
  | readonly [string, 'UNIQUE']
  | readonly [string, 'CLUSTER' | 'GROUP_BY' | 'LIKE' | 'UNLIKE' | 'MAX_PER' | 'IS', string]
  | readonly [string, 'GROUP_BY'];

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
  /** Ports the container listens on (bridge networking). @default [{ name: 'http', containerPort: 8080 }] */
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
  /** Command override for the container (`cmd`). @default - the image's entrypoint */
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
  healthCheck: {
    protocol: 'HTTP',
    path: '/health',
    portIndex: 0,
    gracePeriodSeconds: 30,
    intervalSeconds: 5,
    timeoutSeconds: 3,
    maxConsecutiveFailures: 3,
  } as Required<Omit<ServiceHealthCheck, 'command'>>,
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  fourEyes: true,
  approvalTtlHours: 24,
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
