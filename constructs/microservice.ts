import { Construct, IConstruct } from 'constructs';
import { templateArtifact } from '../lib/catalog/artifact';
import { ENVIRONMENTS, EnvironmentName, packageOf, ServiceDefinition, virtualHostFor } from '../lib/catalog/types';
import { validateService } from '../lib/catalog/validate';
import { ValidationError, Violation } from '../lib/errors';
import { PlatformConfig, artifactBaseUrl, imageFor } from '../lib/platform';
import { BuildPipeline, cloudBuildCheckName, triggerNames } from './build-pipeline';
import { E2eSchedule } from './e2e-schedule';
import { GithubRepository } from './github-repository';
import { MarathonApp } from './marathon-app';
import { PlatformRefs } from './naming';

/** Props of {@link Microservice}. */
export interface MicroserviceProps {
  /** The service, as its owner wrote it in `services/<name>.ts`. */
  readonly service: ServiceDefinition;
  /** Fleet settings. */
  readonly platform: PlatformConfig;
  /** The platform's shared resources: references into the platform stack in the app (`PlatformStack.refs`). */
  readonly refs: PlatformRefs;
  /** Name of the Cloud Build GitHub connection (2nd gen), created once in the console. */
  readonly connection: string;
  /**
   * Files a new repository is seeded with (path -> content): `build.sh`, `Dockerfile`, ...
   * @default {}
   */
  readonly seedFiles?: Readonly<Record<string, string>>;
  /**
   * Cron schedule of the end-to-end tests.
   * @default - every 30 minutes, at a minute derived from the service's name (`M,M+30 * * * *`), so that the fleet's
   * jobs do not all fire at once
   */
  readonly e2eSchedule?: string;
  /**
   * `SERVICE_URL` of the smoke tests per environment.
   * @default - `http://<virtualHost>` when the service has one, else `http://<name>.<env>.marathon.internal`
   */
  readonly serviceUrls?: Partial<Readonly<Record<EnvironmentName, string>>>;
  /**
   * Declare the GitHub repository and its link to Cloud Build. In a monorepo, only the first service (by name) of
   * the repository does; the others only declare their triggers, given `repositoryLink`.
   * @default true
   */
  readonly manageRepository?: boolean;
  /**
   * The id of the Cloud Build repository link declared by the service that manages the repository (a reference).
   * Required when `manageRepository` is false.
   * @default - none
   */
  readonly repositoryLink?: string;
  /**
   * Machine type of the service's builds in the default pool (`E2_HIGHCPU_8`, `E2_HIGHCPU_32`).
   * @default - Cloud Build's default
   */
  readonly machineType?: string;
  /**
   * Status checks required on the default branch.
   * @default - this service's pull-request check
   */
  readonly requiredChecks?: readonly string[];
}

/** Longest service name whose derived names (`<name>-production` trigger, 64 characters) stay valid. */
export { MAX_SERVICE_NAME } from '../lib/catalog/validate';

/** Every 30 minutes at a minute (0-29, and 30 later) derived from `name`: the same name, the same minute. */
export function spreadSchedule(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const m = h % 30;
  return `${m},${m + 30} * * * *`;
}

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
    if (!manage && props.repositoryLink === undefined) {
      throw new ValidationError([
        {
          subject,
          field: 'repositoryLink',
          value: undefined,
          message: 'is required when manageRepository is false; pass the link id of the service that declares the repository',
        },
      ]);
    }
    this.pipeline = new BuildPipeline(this, 'pipeline', {
      service: def,
      platform: props.platform,
      refs: props.refs,
      connection: props.connection,
      serviceUrls: urls,
      machineType: props.machineType,
      // The link waits for the repository and every seed commit: no trigger is live on a half-written tree.
      dependsOn: this.repository ? [this.repository.repository, ...this.repository.files] : [],
      repositoryLink: manage ? undefined : props.repositoryLink,
    });
    this.e2e = new E2eSchedule(this, 'e2e-schedule', {
      name: `${def.name}-e2e`,
      project: props.platform.project,
      region: props.platform.region,
      trigger: this.pipeline.e2e,
      serviceAccountEmail: props.refs.schedulerServiceAccount,
      schedule: props.e2eSchedule ?? spreadSchedule(def.name),
    });
    this.apps = ENVIRONMENTS.map(
      (env) =>
        new MarathonApp(this, `marathon-${env}`, {
          service: def,
          environment: env,
          image: imageFor(props.platform, def.name, 'latest'),
          // The template shows where the cluster fetches artifacts: the artifact server (a template is text, not a reference).
          ...(packageOf(def).kind === 'artifact' ? { artifact: templateArtifact(def, artifactBaseUrl(props.platform)) } : {}),
          templateBucket: props.refs.deployBucket,
        }),
    );
  }
}
