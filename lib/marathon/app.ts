/**
 * The subset of Marathon's App type (raml/v2/types/app.raml) that commit-to-cloud writes. Field names and shapes
 * are Marathon's own, 1.5+ networking API (`networks` + `container.portMappings`), never the old `ports`/`ipAddress`.
 * @see reference/marathon-api/SEMANTICS.md §6
 */
export interface MarathonPortMapping {
  readonly containerPort: number;
  readonly hostPort: number;
  readonly servicePort: number;
  readonly protocol: 'tcp' | 'udp';
  readonly name: string;
}

export interface MarathonHealthCheck {
  readonly protocol: 'HTTP' | 'HTTPS' | 'TCP' | 'MESOS_HTTP' | 'MESOS_HTTPS' | 'MESOS_TCP' | 'COMMAND';
  readonly path?: string;
  readonly portIndex?: number;
  readonly command?: { readonly value: string };
  readonly gracePeriodSeconds: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly maxConsecutiveFailures: number;
}

export type MarathonEnvValue = string | { readonly secret: string };

export interface MarathonAppDefinition {
  readonly id: string;
  readonly cmd?: string;
  readonly instances: number;
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
  readonly args?: readonly string[];
  readonly container?: {
    readonly type: 'DOCKER' | 'MESOS';
    readonly docker: { readonly image: string; readonly forcePullImage: boolean };
    readonly portMappings?: readonly MarathonPortMapping[];
    readonly volumes?: readonly { readonly containerPath: string; readonly hostPath: string; readonly mode: 'RO' | 'RW' }[];
  };
  readonly networks: readonly { readonly mode: 'host' | 'container/bridge' | 'container'; readonly name?: string }[];
  /** Host networking only. */
  readonly portDefinitions?: readonly { readonly port: number; readonly protocol: 'tcp' | 'udp'; readonly name: string }[];
  readonly env?: Readonly<Record<string, MarathonEnvValue>>;
  readonly secrets?: Readonly<Record<string, { readonly source: string }>>;
  readonly healthChecks?: readonly MarathonHealthCheck[];
  readonly upgradeStrategy: { readonly minimumHealthCapacity: number; readonly maximumOverCapacity: number };
  readonly labels: Readonly<Record<string, string>>;
  readonly constraints?: readonly (readonly string[])[];
}

/** Labels commit-to-cloud puts on every app. */
export const LABEL_SERVICE = 'c2c.service';
export const LABEL_ENV = 'c2c.environment';
/**
 * Labels that say what runs and who put it there. They change on every deploy, so the deploy script compares
 * definitions without them: a change of stamp alone is not a reason to restart tasks.
 */
export const STAMP_LABELS = {
  commit: 'c2c.commit',
  image: 'c2c.image',
  deployedBy: 'c2c.deployed-by',
  planId: 'c2c.plan-id',
  approvedBy: 'c2c.approved-by',
} as const;
export const STAMP_LABEL_KEYS: readonly string[] = Object.values(STAMP_LABELS);
