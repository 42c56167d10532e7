import { Construct } from 'constructs';
import { Lazy } from 'cdktf';
import {
  CloudbuildTrigger,
  CloudbuildTriggerBuild,
  cloudbuildTriggerBuildStepToTerraform,
} from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { Cloudbuildv2Repository } from '@cdktf/provider-google/lib/cloudbuildv2-repository';
import { artifactFile, artifactObjectName } from '../lib/catalog/artifact';
import { buildCommand, buildOf, EnvironmentName, packageOf, ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig, imageFor } from '../lib/platform';
import {
  bashStep,
  DEPLOY_CLI,
  deployCliStep,
  fetchDeployStep,
  PipelineStep,
  STEP_IMAGES,
  stepProblems,
  toTriggerStep,
} from './build-steps';
import { MarathonSecretRefs, PlatformRefs, planPrefix } from './naming';
import { REGISTRY_IMAGE } from './registry';
import { escapeCloudBuild } from './terraform-escape';

/** Props of {@link BuildPipeline}. */
export interface BuildPipelineProps {
  /** The service. */
  readonly service: ServiceDefinition;
  /** Fleet settings (project, region, registry host, Marathon URLs). */
  readonly platform: PlatformConfig;
  /** The platform's buckets, topic, accounts, deploy bundle, pool and secrets (references in the app). */
  readonly refs: PlatformRefs;
  /**
   * Name of the Cloud Build GitHub connection (2nd gen), created once in the console (it needs a browser OAuth flow).
   * @see https://cloud.google.com/build/docs/automating-builds/github/connect-repo-github
   */
  readonly connection: string;
  /** Base URL the smoke tests reach the service at, per environment (`SERVICE_URL`). */
  readonly serviceUrls: Readonly<Record<EnvironmentName, string>>;
  /**
   * The GitHub repository's clone URL, a reference to the `github_repository` this app declares, so the link is
   * created after the repository.
   * @default - `https://github.com/<repo>.git` (a repository this app does not declare)
   */
  readonly remoteUri?: string;
  /**
   * The id of a repository link declared elsewhere (the first service of a monorepo declares it; the others refer to
   * it). When given, no link is declared here.
   * @default - this pipeline declares the link
   */
  readonly repositoryLink?: string;
  /**
   * Image `build.sh` runs in.
   * @default 'node:20'
   */
  readonly builderImage?: string;
  /**
   * Machine type of the builds that run in Cloud Build's default pool (the pull-request build), e.g. `E2_HIGHCPU_8`
   * for a `build.sh` that compiles a lot. Builds in the private pool run on the pool's machine type
   * (`C2C_POOL_MACHINE_TYPE`). A larger machine costs more per build minute (see docs/pipeline.md).
   * @default - Cloud Build's default (e2-standard-2)
   * @see https://cloud.google.com/build/pricing
   */
  readonly machineType?: string;
  /**
   * Build timeout.
   * @default '1800s'
   */
  readonly timeout?: string;
}

/** Trigger names of a service; the pull-request trigger's name is part of the required GitHub status check. */
export function triggerNames(service: string): { push: string; pullRequest: string; production: string; e2e: string } {
  return { push: `${service}-push`, pullRequest: `${service}-pr`, production: `${service}-production`, e2e: `${service}-e2e` };
}

/** The GitHub check a Cloud Build trigger reports: `<trigger name> (<project>)`. */
export function cloudBuildCheckName(triggerName: string, project: string): string {
  return `${triggerName} (${project})`;
}

/**
 * A service's Cloud Build triggers:
 * - push to the default branch: `build.sh` (build + unit tests) and the image build in parallel, push `:$SHORT_SHA` and
 *   `:latest`, deploy to staging, smoke test staging, plan production and upload the plan;
 * - pull requests: `build.sh` only (its check is required by branch protection);
 * - production: started by the uploaded plan, waits for approval (`approval_config`), then applies exactly that plan;
 * - end-to-end: the smoke tests against staging and production, run by Cloud Scheduler.
 */
export class BuildPipeline extends Construct {
  /** The push trigger. */
  readonly push: CloudbuildTrigger;
  /** The pull-request trigger. */
  readonly pullRequest: CloudbuildTrigger;
  /** The production trigger (approval required). */
  readonly production: CloudbuildTrigger;
  /** The end-to-end trigger (run by the scheduler). */
  readonly e2e: CloudbuildTrigger;
  /** The connected repository's id (`projects/.../connections/.../repositories/NAME`), a reference. */
  readonly repositoryName: string;
  /** The repository link, when this pipeline declares it. */
  readonly repositoryLink?: Cloudbuildv2Repository;
  /** The trigger names. */
  readonly triggerNames: ReturnType<typeof triggerNames>;
  private readonly pushSteps: PipelineStep[];

  constructor(scope: Construct, id: string, props: BuildPipelineProps) {
    super(scope, id);
    const { service, platform, refs } = props;
    const s = service.name;
    const branch = service.defaultBranch ?? 'main';
    const repoName = service.repo.split('/')[1];
    const connection = `projects/${platform.project}/locations/${platform.region}/connections/${props.connection}`;
    if (props.repositoryLink !== undefined) {
      this.repositoryName = props.repositoryLink;
    } else {
      this.repositoryLink = new Cloudbuildv2Repository(this, 'repository', {
        project: platform.project,
        location: platform.region,
        parentConnection: connection,
        name: repoName,
        remoteUri: props.remoteUri ?? `https://github.com/${service.repo}.git`,
      });
      this.repositoryName = this.repositoryLink.id;
    }
    this.triggerNames = triggerNames(s);
    const image = imageFor(platform, s, '$SHORT_SHA');
    const local = `localhost:5000/${s}`;
    const deployEnv = [
      `C2C_GCP_PROJECT=${platform.project}`,
      `C2C_GCP_REGION=${platform.region}`,
      `C2C_BUCKET_PREFIX=${platform.bucketPrefix}`,
      `C2C_REGISTRY_HOST=${platform.registryHost}`,
      `MARATHON_URL_STAGING=${platform.marathonUrls.staging}`,
      `MARATHON_URL_PRODUCTION=${platform.marathonUrls.production}`,
      `C2C_AUDIT_BUCKET=${refs.auditBucket}`,
      // The build's registry sidecar (same bucket): `deploy plan` pins the image to the digest it reports.
      'C2C_REGISTRY_URL=http://c2c-registry:5000',
      'C2C_BUILD_ID=$BUILD_ID',
      'C2C_BUILD_PROJECT=$PROJECT_ID',
      'C2C_BUILD_LOCATION=$LOCATION',
      'CI=true',
    ];
    const smoke = (env: EnvironmentName, waitFor: readonly string[]) =>
      bashStep(
        `smoke-${env}`,
        STEP_IMAGES.deploy,
        // Files seeded through the GitHub API are not executable; the smoke command usually runs ./e2e.sh.
        `chmod +x ./*.sh 2>/dev/null || true\n${escapeCloudBuild(service.smokeTest)}`,
        waitFor,
        [`SERVICE_URL=${props.serviceUrls[env]}`, `DEPLOY_ENV=${env}`],
      );
    const fetchDeploy = fetchDeployStep(refs.deployBucket);
    const pkg = packageOf(service);
    const command = buildCommand(buildOf(service));
    // build.sh keeps its documented form (`bash build.sh`: seeded files are not executable); make or a custom command
    // runs as written. A service with no build (an upstream image) gets no build or unit-test step.
    const buildSh: PipelineStep | undefined =
      command === undefined
        ? undefined
        : {
            id: 'build',
            image: props.builderImage ?? STEP_IMAGES.node,
            entrypoint: 'bash',
            args: command === './build.sh' ? ['build.sh'] : ['-c', escapeCloudBuild(command)],
            waitFor: ['-'],
          };
    const built = buildSh ? ['build'] : [];
    /** The steps that make the package available, what the deploy steps deploy, and the step they wait for. */
    let packageSteps: PipelineStep[];
    let deployArgs: string[];
    let ready: string[];
    if (pkg.kind === 'upstream-image') {
      packageSteps = [];
      deployArgs = ['--image', pkg.image];
      ready = [];
    } else if (pkg.kind === 'artifact') {
      // The tarball goes to the registry bucket (the cluster's machines read it) under its commit and SHA-256, created
      // once and never replaced; the deploy steps get its URI and checksum as image services get their image.
      const file = artifactFile(service);
      const name = artifactObjectName(service, '$COMMIT_SHA', '{sha256}');
      packageSteps = [
        bashStep(
          'upload-artifact',
          STEP_IMAGES.deploy,
          [
            'set -euo pipefail',
            `sha="$$(sha256sum '${file}' | cut -d' ' -f1)"`,
            `node ${DEPLOY_CLI} object put '${file}' "gs://${refs.registryBucket}/${name}"`,
            'echo "$$sha" > /workspace/artifact.sha256',
            `echo "https://storage.googleapis.com/${refs.registryBucket}/${name.replace('{sha256}', () => '$$sha')}" > /workspace/artifact.uri`,
          ].join('\n'),
          [...built, 'fetch-deploy'],
        ),
      ];
      deployArgs = ['--artifact', '$$(cat /workspace/artifact.uri)', '--sha256', '$$(cat /workspace/artifact.sha256)'];
      ready = ['upload-artifact'];
    } else {
      deployArgs = ['--image', image];
      ready = ['push'];
      packageSteps = [
        {
          // A registry running with this build's credentials: the only writer of the registry bucket.
          id: 'registry-sidecar',
          image: STEP_IMAGES.docker,
          waitFor: ['-'],
          args: [
            'run',
            '-d',
            '--name',
            'c2c-registry',
            '--network',
            'cloudbuild',
            '-p',
            '5000:5000',
            '-e',
            'REGISTRY_STORAGE=gcs',
            '-e',
            `REGISTRY_STORAGE_GCS_BUCKET=${refs.registryBucket}`,
            '-e',
            'REGISTRY_STORAGE_GCS_ROOTDIRECTORY=/registry',
            REGISTRY_IMAGE,
          ],
        },
        // BuildKit with an inline cache: the previous image's cache metadata is read from the registry and only the
        // layers a step reuses are fetched, instead of pulling the whole previous image first.
        bashStep(
          'docker-build',
          STEP_IMAGES.docker,
          [
            'for i in $$(seq 1 30); do (exec 3<>/dev/tcp/c2c-registry/5000) 2>/dev/null && break; sleep 1; done',
            [
              'docker build --build-arg BUILDKIT_INLINE_CACHE=1',
              `--cache-from ${local}:latest`,
              `-t ${local}:$SHORT_SHA -t ${local}:latest .`,
            ].join(' '),
          ].join('\n'),
          ['registry-sidecar'],
          ['DOCKER_BUILDKIT=1'],
        ),
        bashStep('push', STEP_IMAGES.docker, `docker push ${local}:$SHORT_SHA && docker push ${local}:latest`, [...built, 'docker-build']),
      ];
    }

    this.pushSteps = [
      ...(buildSh ? [buildSh] : []),
      fetchDeploy,
      ...packageSteps,
      deployStep(
        'deploy-staging',
        ['apply', '--service', s, '--env', 'staging', ...deployArgs],
        [...ready, 'fetch-deploy'],
        deployEnv,
        refs.marathonSecrets && 'staging',
      ),
      smoke('staging', ['deploy-staging']),
      // The plan's author is the commit's author, so the four-eyes rule keeps them from approving their own change.
      withSecretEnv(
        deployStep(
          'plan-production',
          [
            'plan',
            '--service',
            s,
            '--env',
            'production',
            ...deployArgs,
            '--out',
            '/workspace/production.plan.json',
            ...(refs.notifyWebhook ? ['--notify'] : []),
          ],
          ['smoke-staging'],
          deployEnv,
          refs.marathonSecrets && 'productionRead',
        ),
        refs.notifyWebhook ? [NOTIFY_ENV] : [],
      ),
      // The new object starts the production trigger (bucket notification -> Pub/Sub), which waits for approval. It
      // is named by the plan id, so the approved build's _PLAN_OBJECT names exactly the plan the reviewer approves.
      deployCliStep(
        'upload-plan',
        ['object', 'put', '/workspace/production.plan.json', `gs://${refs.deployBucket}/${planPrefix(s)}{id}.json`],
        ['plan-production'],
      ),
    ];

    const common = (serviceAccount: string, tags: string[]) => ({
      project: platform.project,
      location: platform.region,
      serviceAccount: `projects/${platform.project}/serviceAccounts/${serviceAccount}`,
      tags: ['c2c', s, ...tags],
    });
    // The bundle to run: name (holding its SHA-256) and generation, both references to what the platform published.
    const bundleSubstitutions = { _C2C_BUNDLE: refs.bundleObject, _C2C_BUNDLE_GENERATION: refs.bundleGeneration };
    const available = (opts: { secrets?: readonly (keyof MarathonSecretRefs)[]; notify?: boolean }) => [
      ...(refs.marathonSecrets
        ? (opts.secrets ?? []).map((use) => ({ env: SECRET_ENV[use], versionName: refs.marathonSecrets![use] }))
        : []),
      ...(opts.notify && refs.notifyWebhook ? [{ env: NOTIFY_ENV, versionName: refs.notifyWebhook }] : []),
    ];
    /**
     * A build; `private` ones talk to Marathon or to a service and run in the private pool. `secrets` are the Marathon
     * credentials its steps may read (each step names the one it uses in `secretEnv`).
     */
    const build = (
      steps: readonly PipelineStep[],
      opts: { private?: boolean; secrets?: readonly (keyof MarathonSecretRefs)[]; notify?: boolean } = {},
    ): CloudbuildTriggerBuild => ({
      step: steps.map(toTriggerStep),
      timeout: props.timeout ?? '1800s',
      options: {
        logging: 'CLOUD_LOGGING_ONLY',
        ...(opts.private && refs.workerPool !== undefined
          ? { workerPool: refs.workerPool }
          : props.machineType !== undefined
            ? { machineType: props.machineType }
            : {}),
      },
      ...(available(opts).length > 0 ? { availableSecrets: { secretManager: available(opts) } } : {}),
    });

    this.push = new CloudbuildTrigger(this, 'push', {
      ...common(refs.buildServiceAccount, ['push']),
      name: this.triggerNames.push,
      description: `${s}: build, unit tests, image, deploy to staging, smoke test, production plan`,
      repositoryEventConfig: { repository: this.repositoryName, push: { branch: `^${escapeRegExp(branch)}$` } },
      ...(service.paths ? { includedFiles: [...service.paths] } : {}),
      substitutions: bundleSubstitutions,
      buildAttribute: {
        ...build([], { private: true, secrets: ['staging', 'productionRead'], notify: true }),
        // Lazy, so that steps added after construction (addPushStep) are synthesized and validated.
        step: Lazy.anyValue({ produce: () => this.pushSteps.map((x) => cloudbuildTriggerBuildStepToTerraform(toTriggerStep(x))) }),
      },
    });

    // No included_files: the check is required by branch protection, so it must report on every pull request.
    this.pullRequest = new CloudbuildTrigger(this, 'pull-request', {
      ...common(refs.testServiceAccount, ['pull-request']),
      name: this.triggerNames.pullRequest,
      description: `${s}: ${command === './build.sh' ? 'build.sh' : (command ?? 'no build')} (build + unit tests) on every pull request`,
      repositoryEventConfig: {
        repository: this.repositoryName,
        pullRequest: { branch: `^${escapeRegExp(branch)}$`, commentControl: 'COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY' },
      },
      buildAttribute: build([
        buildSh ??
          bashStep('no-build', STEP_IMAGES.deploy, `echo "${s} has no build (its package is ${pkg.kind}); nothing to build or test"`, [
            '-',
          ]),
      ]),
    });

    this.production = new CloudbuildTrigger(this, 'production', {
      ...common(refs.productionServiceAccount, ['production']),
      name: this.triggerNames.production,
      description: `${s}: apply the approved production plan`,
      pubsubConfig: { topic: refs.plansTopic },
      substitutions: { _PLAN_OBJECT: '$(body.message.attributes.objectId)', ...bundleSubstitutions },
      filter: `_PLAN_OBJECT.matches("^${planPrefix(s)}[^/]+[.]json$")`,
      sourceToBuild: { repository: this.repositoryName, ref: `refs/heads/${branch}`, repoType: 'GITHUB' },
      approvalConfig: { approvalRequired: true },
      buildAttribute: build(
        [
          fetchDeploy,
          deployCliStep(
            'fetch-plan',
            ['object', 'get', `gs://${refs.deployBucket}/$_PLAN_OBJECT`, '/workspace/production.plan.json'],
            ['fetch-deploy'],
          ),
          {
            ...bashStep(
              'apply-production',
              STEP_IMAGES.deploy,
              [
                'set -euo pipefail',
                ...(refs.marathonSecrets ? [marathonAuth('production')] : []),
                `exec node ${DEPLOY_CLI} apply --plan /workspace/production.plan.json --approval cloudbuild`,
              ].join('\n'),
              ['fetch-plan'],
              deployEnv,
            ),
            ...(refs.marathonSecrets ? { secretEnv: [SECRET_ENV.production] } : {}),
          },
          smoke('production', ['apply-production']),
        ],
        { private: true, secrets: ['production'] },
      ),
    });

    this.e2e = new CloudbuildTrigger(this, 'e2e', {
      ...common(refs.testServiceAccount, ['e2e']),
      name: this.triggerNames.e2e,
      description: `${s}: smoke tests against staging and production (scheduled)`,
      sourceToBuild: { repository: this.repositoryName, ref: `refs/heads/${branch}`, repoType: 'GITHUB' },
      buildAttribute: build([smoke('staging', ['-']), smoke('production', ['-'])], { private: true }),
    });

    this.node.addValidation({ validate: () => stepProblems(this.pushSteps).map((p) => `BuildPipeline(${s}): push trigger: ${p}`) });
  }

  /** Adds a step to the push build (e.g. a security scan after `docker-build`); checked at synth. */
  addPushStep(step: PipelineStep): void {
    this.pushSteps.push(step);
  }

  /** The push build's steps, in order. */
  get pushStepIds(): readonly string[] {
    return this.pushSteps.map((x) => x.id);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A step that runs the deploy CLI as the commit's author, with the commit and its time (for the DORA lead time) read
 * from the checkout. Written without braces so neither Terraform nor Cloud Build substitutes anything: `$$` reaches
 * bash as `$`.
 */
function deployStep(
  id: string,
  args: readonly string[],
  waitFor: readonly string[],
  env: readonly string[],
  secret?: keyof MarathonSecretRefs,
): PipelineStep {
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) && !a.includes('$$') ? a : `"${a}"`)).join(' ');
  const step = bashStep(
    id,
    STEP_IMAGES.deploy,
    [
      'set -euo pipefail',
      ...(secret ? [marathonAuth(secret)] : []),
      'export DEPLOY_ACTOR="$$(git log -1 --format=%ae 2>/dev/null || echo unknown-author)"',
      'set -- --commit "$COMMIT_SHA"',
      'commit_time="$$(git log -1 --format=%cI 2>/dev/null || true)"',
      'if [ -n "$$commit_time" ]; then set -- "$$@" --commit-time "$$commit_time"; fi',
      `exec node ${DEPLOY_CLI} ${quoted} "$$@"`,
    ].join('\n'),
    waitFor,
    env,
  );
  return secret ? { ...step, secretEnv: [SECRET_ENV[secret]] } : step;
}

/** The env name the chat webhook URL is made available as (the deploy CLI's `--notify` reads it). */
export const NOTIFY_ENV = 'C2C_NOTIFY_WEBHOOK';

/** The step with more `secretEnv` names. */
function withSecretEnv(step: PipelineStep, names: readonly string[]): PipelineStep {
  return names.length === 0 ? step : { ...step, secretEnv: [...(step.secretEnv ?? []), ...names] };
}

/** The build-wide env names the Marathon secrets are made available as; a step lists the one it uses. */
export const SECRET_ENV: Readonly<Record<keyof MarathonSecretRefs, string>> = {
  staging: 'C2C_MARATHON_SECRET_STAGING',
  productionRead: 'C2C_MARATHON_SECRET_PRODUCTION_READ',
  production: 'C2C_MARATHON_SECRET_PRODUCTION',
};

/**
 * Shell that turns a Marathon secret into what the deploy CLI reads: `token=...` becomes MARATHON_TOKEN, `none` (a
 * Marathon without authentication) nothing, anything else MARATHON_CREDENTIALS (`user:password`). Never echoed.
 */
function marathonAuth(use: keyof MarathonSecretRefs): string {
  const v = SECRET_ENV[use];
  // `$$` is a literal `$` for Cloud Build: bash sees "$V", "${V#token=}".
  const strip = '$${' + v + '#token=}';
  return `case "$$${v}" in token=*) export MARATHON_TOKEN="${strip}" ;; none) ;; *) export MARATHON_CREDENTIALS="$$${v}" ;; esac; unset ${v}`;
}
