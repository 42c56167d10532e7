import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Construct } from 'constructs';
import { ENVIRONMENTS, EnvironmentName, ServiceDefinition } from '../lib/catalog/types';
import { ValidationError } from '../lib/errors';
import { STEP_IMAGES } from './build-steps';
import { MarathonApp } from './marathon-app';

/** The artifact server program (Node built-ins only, one file), relative to the checkout's root. */
const PROGRAM = join('scripts', 'artifact-server.js');

/**
 * Where the program is: one level above this file in the sources (`constructs/`) and in the built app
 * (`dist/main.js`) alike; else under the working directory (an app bundled elsewhere, run from the checkout).
 */
export const ARTIFACT_SERVER_PROGRAM =
  [join(__dirname, '..', PROGRAM), resolve(PROGRAM)].find((p) => existsSync(p)) ?? join(__dirname, '..', PROGRAM);

/** The image the artifact server runs in: the slim Node image the deploy steps use, pinned by digest. */
export const ARTIFACT_SERVER_IMAGE = STEP_IMAGES.deploy;

/** The folder of the artifact bucket that is served: what the push builds upload to (`artifactObjectName`). */
export const ARTIFACT_PREFIX = 'artifacts/';

/** The port the program listens on inside its container (bridge networking; marathon-lb routes the service port to it). */
const CONTAINER_PORT = 8080;

/** Props of {@link ArtifactServer}. */
export interface ArtifactServerProps {
  /**
   * The bucket artifacts are stored in (the registry bucket). The server reads it with the credentials of the machine
   * it runs on: the cluster's machines hold `roles/storage.objectViewer` on it (the registry's readers), nothing more.
   */
  readonly bucket: string;
  /** Host and port the cluster's fetcher reaches the server at (`C2C_ARTIFACT_HOST`); the port is its service port. */
  readonly host: string;
  /**
   * Tasks per environment.
   * @default 2
   */
  readonly instances?: number;
  /**
   * Environments that run the server (each cluster reads the same bucket).
   * @default ['staging', 'production']
   */
  readonly environments?: readonly EnvironmentName[];
  /**
   * Deploy bucket to publish the apps' templates to.
   * @default - not published
   */
  readonly templateBucket?: string;
}

/**
 * The artifact server: a read-only HTTP server on Marathon in each environment, backed by the artifact bucket, that the
 * Mesos fetcher downloads artifacts from. The fetcher sends no credentials, and the bucket is private; the server
 * reads objects under `artifacts/` with a token of the machine's account (metadata server) and streams them, as the
 * registry app does for images. Nothing can be written through it.
 */
export class ArtifactServer extends Construct {
  /** The apps per environment. */
  readonly apps: readonly MarathonApp[];
  /** The definition the apps are rendered from. */
  readonly definition: ServiceDefinition;

  constructor(scope: Construct, id: string, props: ArtifactServerProps) {
    super(scope, id);
    const port = Number(props.host.split(':')[1] ?? '80');
    if (!/^[a-z0-9.-]+(:\d+)?$/i.test(props.host) || !(Number.isInteger(port) && port > 0 && port <= 65535)) {
      throw new ValidationError([
        {
          subject: 'ArtifactServer',
          field: 'host',
          value: props.host,
          message: "must be 'host' or 'host:port' with a port from 1 to 65535, e.g. 'artifacts.marathon.internal:5001' (C2C_ARTIFACT_HOST)",
        },
      ]);
    }
    const def = artifactServerDefinition(props.bucket, port, props.instances ?? 2, readFileSync(ARTIFACT_SERVER_PROGRAM, 'utf8'));
    this.definition = def;
    this.apps = (props.environments ?? ENVIRONMENTS).map(
      (env) =>
        new MarathonApp(this, `app-${env}`, {
          service: def,
          environment: env,
          image: ARTIFACT_SERVER_IMAGE,
          templateBucket: props.templateBucket,
        }),
    );
  }
}

/** A word for `sh`, single-quoted. */
function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The artifact server as a service definition, rendered by the same renderer as every service: the program's text is
 * the command (`node -e`, so the app needs nothing but its image), its settings are the environment.
 */
export function artifactServerDefinition(bucket: string, servicePort: number, instances: number, program: string): ServiceDefinition {
  return {
    name: 'artifacts',
    repo: 'commit-to-cloud/artifact-server',
    description: 'Artifact server (read-only) backed by GCS: what the Mesos fetcher downloads artifacts from',
    cpus: 0.25,
    mem: 128,
    instances,
    cmd: `exec node -e ${shellWord(program)}`,
    ports: [{ name: 'http', containerPort: CONTAINER_PORT, servicePort }],
    healthCheck: { path: '/health', portIndex: 0 },
    env: {
      C2C_ARTIFACT_BUCKET: bucket,
      C2C_ARTIFACT_PREFIX: ARTIFACT_PREFIX,
      C2C_ARTIFACT_PORT: String(CONTAINER_PORT),
    },
    constraints: [['hostname', 'UNIQUE']],
    labels: { HAPROXY_GROUP: 'internal' },
    smokeTest: 'curl -fsS "$SERVICE_URL/health"',
    approvers: [],
  };
}
