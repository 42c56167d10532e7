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

/** One entry for Marathon's (Mesos's) fetcher: downloaded into the task's sandbox before the command starts. */
export interface MarathonFetch {
  readonly uri: string;
  readonly extract: boolean;
  readonly executable: boolean;
  readonly cache: boolean;
  readonly destPath?: string;
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
  /** Artifacts (no container): what the fetcher puts in the sandbox. @see raml/v2/types/artifact.raml */
  readonly fetch?: readonly MarathonFetch[];
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
 * An artifact's SHA-256 (hex). Part of the content, not a stamp: with the fetch URI (which names it too) it is what a
 * plan pins for an artifact, as the image digest is for an image, so a changed checksum is a change to review.
 */
export const LABEL_ARTIFACT_SHA256 = 'c2c.artifact-sha256';
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
  /** SHA-256 of the audit record that authorized this version (the log's head then): an anchor outside the log. */
  auditHead: 'c2c.audit-head',
} as const;
export const STAMP_LABEL_KEYS: readonly string[] = Object.values(STAMP_LABELS);

/**
 * Fields Marathon writes in GET output and a definition never sets (reference/marathon-api/SEMANTICS.md §6
 * "Read-only fields"), plus `taskStats`, the spelling some versions use for `tasksStats`. The one list the client side
 * uses (the diff, the rollback's content key); the local Marathon keeps its own, as the server it stands in for.
 */
export const READ_ONLY_FIELDS: readonly string[] = [
  'version',
  'versionInfo',
  'tasksStaged',
  'tasksRunning',
  'tasksHealthy',
  'tasksUnhealthy',
  'deployments',
  'tasks',
  'lastTaskFailure',
  'readinessCheckResults',
  'tasksStats',
  'taskStats',
];

/** The artifact an app runs: its first fetch URI and the checksum label; null for an image (or no fetch). */
export function artifactOfApp(app: {
  readonly fetch?: readonly { readonly uri?: unknown }[] | unknown;
  readonly labels?: Readonly<Record<string, unknown>> | unknown;
}): { readonly uri: string; readonly sha256: string | null } | null {
  const fetch = Array.isArray(app.fetch) ? (app.fetch as { uri?: unknown }[]) : [];
  const uri = fetch.length > 0 && typeof fetch[0]?.uri === 'string' ? fetch[0].uri : undefined;
  if (uri === undefined) return null;
  const labels = app.labels && typeof app.labels === 'object' ? (app.labels as Record<string, unknown>) : {};
  const sha = labels[LABEL_ARTIFACT_SHA256];
  return { uri, sha256: typeof sha === 'string' ? sha : null };
}
