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
  /** Prefix for bucket names (bucket names are global). */
  readonly bucketPrefix: string;
  /** Bucket holding Terraform state (the GCS backend); created once by hand, see README. */
  readonly stateBucket: string;
  /** Marathon base URLs per environment, as the build steps reach them. */
  readonly marathonUrls: { readonly staging: string; readonly production: string };
}

export function platformFromEnv(env: NodeJS.ProcessEnv): PlatformConfig {
  const project = env.C2C_GCP_PROJECT ?? 'acme-lighting-platform';
  const bucketPrefix = env.C2C_BUCKET_PREFIX ?? project;
  return {
    project,
    region: env.C2C_GCP_REGION ?? 'europe-west1',
    githubOwner: env.C2C_GITHUB_OWNER ?? 'acme-lighting',
    registryHost: env.C2C_REGISTRY_HOST ?? 'registry.marathon.internal:5000',
    bucketPrefix,
    stateBucket: env.C2C_STATE_BUCKET ?? `${bucketPrefix}-tfstate`,
    marathonUrls: {
      staging: env.MARATHON_URL_STAGING ?? 'http://marathon.staging.internal:8080',
      production: env.MARATHON_URL_PRODUCTION ?? 'http://marathon.production.internal:8080',
    },
  };
}

/** The image reference a build pushes for a service at a commit: `<registry>/<service>:<commit>`. */
export function imageFor(platform: Pick<PlatformConfig, 'registryHost'>, service: string, tag: string): string {
  return `${platform.registryHost}/${service}:${tag}`;
}
