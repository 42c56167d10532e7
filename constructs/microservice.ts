import { Construct, IConstruct } from 'constructs';
import { templateArtifact } from '../lib/catalog/artifact';
import { ENVIRONMENTS, EnvironmentName, packageOf, ServiceDefinition, virtualHostFor } from '../lib/catalog/types';
import { validateService } from '../lib/catalog/validate';
import { ValidationError, Violation } from '../lib/errors';
import { PlatformConfig, imageFor } from '../lib/platform';
import { BuildPipeline, cloudBuildCheckName, triggerNames } from './build-pipeline';
import { DeployBundle } from './deploy-bucket';
import { E2eSchedule } from './e2e-schedule';
import { GithubRepository } from './github-repository';
import { MarathonApp } from './marathon-app';
import { PlatformNames } from './naming';

/** Props of {@link Microservice}. */
export interface MicroserviceProps {
  /** The service, as its owner wrote it in `services/<name>.ts`. */
  readonly service: ServiceDefinition;
  /** Fleet settings. */
  readonly platform: PlatformConfig;
  /** Names of the platform's shared resources. */
  readonly names: PlatformNames;
  /** The deploy CLI bundle, pinned by its SHA-256. */
  readonly bundle: Pick<DeployBundle, 'sha256' | 'objectName'>;
  /** Name of the Cloud Build GitHub connection (2nd gen), created once in the console. */
  readonly connection: string;
  /**
   * Files a new repository is seeded with (path -> content): `build.sh`, `Dockerfile`, ...
   * @default {}
   */
  readonly seedFiles?: Readonly<Record<string, string>>;
  /**
   * Cron schedule of the end-to-end tests.
   * @default '*\/30 * * * *'
   */
  readonly e2eSchedule?: string;
  /**
   * `SERVICE_URL` of the smoke tests per environment.
   * @default - `http://<virtualHost>` when the service has one, else `http://<name>.<env>.marathon.internal`
   */
  readonly serviceUrls?: Partial<Readonly<Record<EnvironmentName, string>>>;
  /**
   * Declare the GitHub repository and its link to Cloud Build. In a monorepo, only the first service (by name) of
   * the repository does; the others only declare their triggers.
   * @default true
   */
  readonly manageRepository?: boolean;
  /**
   * Status checks required on the default branch.
   * @default - this service's pull-request check
   */
  readonly requiredChecks?: readonly string[];
}

/** Longest service name whose derived names (`<name>-production` trigger, 64 characters) stay valid. */
export { MAX_SERVICE_NAME } from '../lib/catalog/validate';

const declared = new WeakMap<IConstruct, Map<string, string>>();

/**
 * The whole commit-to-production pipeline of one service: its GitHub repository (protected default branch, production
 * environment, seeded build.sh), its Cloud Build triggers, the scheduled end-to-end tests, and its Marathon app per
 * environment (rendered and validated, published as templates). Throws a ValidationError naming the service, the
 * field, the value and the fix for every invalid definition.
 */
export class Microservice extends Construct {
  /** The service definition. */
  readonly service: ServiceDefinition;
  /** The repository, when this service manages it. */
  readonly repository?: GithubRepository;
  /** The triggers. */
  readonly pipeline: BuildPipeline;
  /** The scheduled end-to-end tests. */
  readonly e2e: E2eSchedule;
  /** The Marathon apps, staging then production. */
  readonly apps: readonly MarathonApp[];

  constructor(scope: Construct, id: string, props: MicroserviceProps) {
    super(scope, id);
    const def = props.service;
    const violations: Violation[] = [...validateService(def, { githubOwner: props.platform.githubOwner })];
    const subject = `Microservice(${def.name})`;
    const names = declared.get(this.node.root) ?? new Map<string, string>();
    declared.set(this.node.root, names);
    const first = names.get(def.name);
    if (first !== undefined) {
      violations.push({
        subject,
        field: 'name',
        value: def.name,
        message: `is already declared at ${first}; service names must be unique, rename one`,
      });
    }
    if (violations.length > 0) throw new ValidationError(violations);
    names.set(def.name, this.node.path);
    this.service = def;

    const urls = {} as Record<EnvironmentName, string>;
    for (const env of ENVIRONMENTS) {
      const vhost = virtualHostFor(def, env);
      urls[env] = props.serviceUrls?.[env] ?? (vhost ? `http://${vhost}` : `http://${def.name}.${env}.marathon.internal`);
    }
    const manage = props.manageRepository ?? true;
    const triggers = triggerNames(def.name);
    if (manage) {
      this.repository = new GithubRepository(this, 'github', {
        name: def.repo.split('/')[1],
        description: def.description ?? def.name,
        existing: def.existingRepo ?? false,
        defaultBranch: def.defaultBranch,
        requiredChecks: props.requiredChecks ?? [cloudBuildCheckName(triggers.pullRequest, props.platform.project)],
        seedFiles: props.seedFiles,
      });
    }
    this.pipeline = new BuildPipeline(this, 'pipeline', {
      service: def,
      platform: props.platform,
      names: props.names,
      bundle: props.bundle,
      connection: props.connection,
      serviceUrls: urls,
      linkRepository: manage,
    });
    this.e2e = new E2eSchedule(this, 'e2e-schedule', {
      name: `${def.name}-e2e`,
      project: props.platform.project,
      region: props.platform.region,
      trigger: this.pipeline.e2e,
      serviceAccountEmail: props.names.schedulerServiceAccount,
      schedule: props.e2eSchedule,
    });
    this.apps = ENVIRONMENTS.map(
      (env) =>
        new MarathonApp(this, `marathon-${env}`, {
          service: def,
          environment: env,
          image: imageFor(props.platform, def.name, 'latest'),
          ...(packageOf(def).kind === 'artifact' ? { artifact: templateArtifact(def, props.names.deployBucket) } : {}),
          templateBucket: props.names.deployBucket,
        }),
    );
  }
}
