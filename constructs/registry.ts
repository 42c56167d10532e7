import { Construct } from 'constructs';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository';
import { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member';
import { ENVIRONMENTS, EnvironmentName, ServiceDefinition } from '../lib/catalog/types';
import { ValidationError, Violation } from '../lib/errors';
import { MarathonApp } from './marathon-app';
import { IamMember, uniqueMembers } from './iam-id';

/** Where images are stored. */
export type RegistryBackend = 'gcs' | 'artifact-registry';

/** The Docker distribution image the registry app (and the builds' push sidecar) runs. */
export const REGISTRY_IMAGE = 'registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373';

/** {@link REGISTRY_IMAGE} through Google's Docker Hub mirror: what a build step pulls (no Docker Hub rate limit). */
export const MIRRORED_REGISTRY_IMAGE = `mirror.gcr.io/library/${REGISTRY_IMAGE}`;

/** Props of {@link Registry}. */
export interface RegistryProps {
  /** Bucket name (GCS backend) or repository id (Artifact Registry backend). */
  readonly name: string;
  /** Bucket / repository location, e.g. `europe-west1`. */
  readonly location: string;
  /**
   * Host and port the cluster pulls from, e.g. `registry.marathon.internal:5000`; its port becomes the registry app's
   * fixed service port (marathon-lb).
   */
  readonly host: string;
  /**
   * IAM members that may read images: the cluster machines' service account (the registry app reads the bucket with
   * their credentials) and the people who test images. Everyone else pulls through the registry app.
   * @default []
   */
  readonly readers?: readonly IamMember[];
  /**
   * IAM members that may write images: only the build's service account.
   * @default []
   */
  readonly writers?: readonly IamMember[];
  /**
   * `gcs`: a bucket plus Docker distribution (`registry:2`, GCS storage driver) as a Marathon app per environment.
   * `artifact-registry`: a Docker repository in Artifact Registry instead (no app to run; images are then
   * `LOCATION-docker.pkg.dev/PROJECT/NAME/<service>`, set `C2C_REGISTRY_HOST` accordingly).
   * @default 'gcs'
   * @see https://distribution.github.io/distribution/storage-drivers/gcs/
   */
  readonly backend?: RegistryBackend;
  /**
   * Days after which overwritten (noncurrent) objects are deleted, and, for Artifact Registry, untagged images.
   * @default 30
   */
  readonly noncurrentRetentionDays?: number;
  /**
   * Tasks of the registry app per environment.
   * @default 2
   */
  readonly instances?: number;
  /**
   * Environments that run a registry app (each cluster reads the same bucket).
   * @default ['staging', 'production']
   */
  readonly environments?: readonly EnvironmentName[];
  /**
   * Deploy bucket to publish the registry apps' templates to.
   * @default - not published
   */
  readonly templateBucket?: string;
}

/**
 * The internal Docker registry: a GCS bucket (uniform access, public access prevented, versioned, old noncurrent
 * objects deleted), read access for the cluster machines and the testers, write access only for the build, and the
 * registry itself as a read-only Marathon app per environment. Builds push through a short-lived registry sidecar
 * that runs with the build's own credentials, so no machine of the cluster can write images.
 */
export class Registry extends Construct {
  /** The bucket (GCS backend). */
  readonly bucket?: StorageBucket;
  /** The repository (Artifact Registry backend). */
  readonly repository?: ArtifactRegistryRepository;
  /** The registry apps per environment (GCS backend). */
  readonly apps: readonly MarathonApp[];
  /** The definition the registry app is rendered from. */
  readonly definition?: ServiceDefinition;

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    const days = props.noncurrentRetentionDays ?? 30;
    const problems: Violation[] = [];
    if (!(Number.isInteger(days) && days > 0)) {
      problems.push({
        subject: `Registry(${props.name})`,
        field: 'noncurrentRetentionDays',
        value: days,
        message: 'must be a whole number of days > 0, e.g. 30',
      });
    }
    const port = Number(props.host.split(':')[1] ?? '5000');
    if (!(Number.isInteger(port) && port > 0 && port <= 65535)) {
      problems.push({
        subject: `Registry(${props.name})`,
        field: 'host',
        value: props.host,
        message: "must be 'host' or 'host:port' with a port from 1 to 65535, e.g. 'registry.marathon.internal:5000'",
      });
    }
    if (problems.length > 0) throw new ValidationError(problems);
    const readers = uniqueMembers(props.readers);
    const writers = uniqueMembers(props.writers);

    if ((props.backend ?? 'gcs') === 'artifact-registry') {
      const repository = new ArtifactRegistryRepository(this, 'repository', {
        repositoryId: props.name,
        location: props.location,
        format: 'DOCKER',
        description: 'commit-to-cloud images',
        cleanupPolicies: [
          {
            id: 'delete-old-untagged',
            action: 'DELETE',
            condition: { tagState: 'UNTAGGED', olderThan: `${days * 86400}s` },
          },
        ],
      });
      const grant = (kind: string, role: string, { id: mid, member }: { id: string; member: string }) =>
        new ArtifactRegistryRepositoryIamMember(this, `${kind}-${mid}`, {
          repository: repository.name,
          location: props.location,
          role,
          member,
        });
      this.repository = repository;
      readers.forEach((m) => grant('reader', 'roles/artifactregistry.reader', m));
      writers.forEach((m) => grant('writer', 'roles/artifactregistry.writer', m));
      this.apps = [];
      return;
    }

    this.bucket = new StorageBucket(this, 'bucket', {
      name: props.name,
      location: props.location,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      versioning: { enabled: true },
      lifecycleRule: [
        { action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: days, withState: 'ARCHIVED' } },
        { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: 1 } },
      ],
      labels: { 'managed-by': 'commit-to-cloud', purpose: 'docker-registry' },
    });
    const bucketName = this.bucket.name;
    readers.forEach(
      (m) =>
        new StorageBucketIamMember(this, `reader-${m.id}`, { bucket: bucketName, role: 'roles/storage.objectViewer', member: m.member }),
    );
    writers.forEach(
      (m) =>
        new StorageBucketIamMember(this, `writer-${m.id}`, { bucket: bucketName, role: 'roles/storage.objectAdmin', member: m.member }),
    );

    this.definition = registryServiceDefinition(props.name, port, props.instances ?? 2);
    const def = this.definition;
    this.apps = (props.environments ?? ENVIRONMENTS).map(
      (env) =>
        new MarathonApp(this, `app-${env}`, {
          service: def,
          environment: env,
          image: REGISTRY_IMAGE,
          templateBucket: props.templateBucket,
        }),
    );
  }
}

/**
 * The registry as a service definition, so that it is rendered by the same renderer as every service: Docker
 * distribution with the GCS storage driver (credentials from the machine's service account), read-only.
 */
export function registryServiceDefinition(bucket: string, servicePort: number, instances: number): ServiceDefinition {
  return {
    name: 'registry',
    repo: 'distribution/distribution',
    description: 'Docker registry (read-only) backed by GCS',
    cpus: 0.5,
    mem: 512,
    instances,
    ports: [{ name: 'registry', containerPort: 5000, servicePort }],
    healthCheck: { path: '/', portIndex: 0 },
    env: {
      REGISTRY_STORAGE: 'gcs',
      REGISTRY_STORAGE_GCS_BUCKET: bucket,
      REGISTRY_STORAGE_GCS_ROOTDIRECTORY: '/registry',
      REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":true}',
      REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'false',
    },
    constraints: [['hostname', 'UNIQUE']],
    labels: { HAPROXY_GROUP: 'internal' },
    smokeTest: 'curl -fsS "$SERVICE_URL/v2/"',
    approvers: [],
  };
}
