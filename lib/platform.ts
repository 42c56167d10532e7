/**
 * Fleet-wide settings that are not per service: the Google project, the registry, the buckets. main.ts builds the
 * platform from these; every value can be set from the environment so that `cdktf synth` needs no code change.
 */
export interface PlatformConfig {
  /** Google Cloud project that holds the registry bucket, Cloud Build triggers and scheduler jobs. */
  readonly project: string;
  /** Region for Cloud Build, Cloud Scheduler and buckets. */
  readonly region: string;
  /** GitHub organisation or user that owns the service repositories. */
  readonly githubOwner: string;
  /** Host (and port) of the internal Docker registry that the cluster pulls from. */
  readonly registryHost: string;
  /**
   * Host and port of the artifact server (a Marathon app of the platform, reached through marathon-lb) that the
   * cluster's Mesos fetcher downloads artifact services' tarballs from; its port is the app's service port.
   */
  readonly artifactHost: string;
  /** Prefix for bucket names (bucket names are global). */
  readonly bucketPrefix: string;
  /** Bucket holding Terraform state (the GCS backend); created once by hand, see README. */
  readonly stateBucket: string;
  /** Marathon base URLs per environment, as the build steps reach them. */
  readonly marathonUrls: { readonly staging: string; readonly production: string };
}

/** One platform setting: its environment variable, how it is read from a config, and its default. */
interface PlatformSetting {
  readonly env: string;
  readonly get: (p: PlatformConfig) => string;
}

/**
 * The platform settings and their environment variables, in one place: {@link platformFromEnv} reads them, and
 * {@link platformEnv} writes them back for a build step (the deploy steps and the platform pipeline's synth).
 */
export const PLATFORM_SETTINGS = {
  project: { env: 'C2C_GCP_PROJECT', get: (p) => p.project },
  region: { env: 'C2C_GCP_REGION', get: (p) => p.region },
  githubOwner: { env: 'C2C_GITHUB_OWNER', get: (p) => p.githubOwner },
  registryHost: { env: 'C2C_REGISTRY_HOST', get: (p) => p.registryHost },
  artifactHost: { env: 'C2C_ARTIFACT_HOST', get: (p) => p.artifactHost },
  bucketPrefix: { env: 'C2C_BUCKET_PREFIX', get: (p) => p.bucketPrefix },
  stateBucket: { env: 'C2C_STATE_BUCKET', get: (p) => p.stateBucket },
  marathonStaging: { env: 'MARATHON_URL_STAGING', get: (p) => p.marathonUrls.staging },
  marathonProduction: { env: 'MARATHON_URL_PRODUCTION', get: (p) => p.marathonUrls.production },
} as const satisfies Record<string, PlatformSetting>;

/** A platform setting's key. */
export type PlatformSettingKey = keyof typeof PLATFORM_SETTINGS;

/** Reads {@link PlatformConfig} from the environment (the variables of {@link PLATFORM_SETTINGS}), with defaults. */
export function platformFromEnv(env: NodeJS.ProcessEnv): PlatformConfig {
  const read = (key: PlatformSettingKey): string | undefined => env[PLATFORM_SETTINGS[key].env];
  const project = read('project') ?? 'acme-lighting-platform';
  const bucketPrefix = read('bucketPrefix') ?? project;
  return {
    project,
    region: read('region') ?? 'europe-west1',
    githubOwner: read('githubOwner') ?? 'acme-lighting',
    registryHost: read('registryHost') ?? 'registry.marathon.internal:5000',
    artifactHost: read('artifactHost') ?? 'artifacts.marathon.internal:5001',
    bucketPrefix,
    stateBucket: read('stateBucket') ?? `${bucketPrefix}-tfstate`,
    marathonUrls: {
      staging: read('marathonStaging') ?? 'http://marathon.staging.internal:8080',
      production: read('marathonProduction') ?? 'http://marathon.production.internal:8080',
    },
  };
}

/**
 * `NAME=value` for each of `keys` (default: every setting), the environment that makes {@link platformFromEnv} return
 * the same values.
 */
export function platformEnv(platform: PlatformConfig, keys: readonly PlatformSettingKey[] = allPlatformKeys()): string[] {
  return keys.map((k) => `${PLATFORM_SETTINGS[k].env}=${PLATFORM_SETTINGS[k].get(platform)}`);
}

function allPlatformKeys(): PlatformSettingKey[] {
  return Object.keys(PLATFORM_SETTINGS) as PlatformSettingKey[];
}

/** The image reference a build pushes for a service at a commit: `<registry>/<service>:<commit>`. */
export function imageFor(platform: Pick<PlatformConfig, 'registryHost'>, service: string, tag: string): string {
  return `${platform.registryHost}/${service}:${tag}`;
}

/**
 * Where the cluster fetches artifacts from: the artifact server, `http://<artifactHost>`, whose paths are the artifact
 * bucket's object names (`/artifacts/<service>/<commit>/<sha256>/<file>`). Plain HTTP inside the cluster: every
 * artifact app checks the SHA-256 its plan pinned before its command starts.
 */
export function artifactBaseUrl(platform: Pick<PlatformConfig, 'artifactHost'>): string {
  return `http://${platform.artifactHost}`;
}
