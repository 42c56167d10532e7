import { Construct } from 'constructs';
import { ITerraformDependable, Lazy } from 'cdktf';
import {
  CloudbuildTrigger,
  CloudbuildTriggerBuild,
  cloudbuildTriggerBuildStepToTerraform,
} from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { Cloudbuildv2Repository } from '@cdktf/provider-google/lib/cloudbuildv2-repository';
import { artifactFile, artifactObjectName } from '../lib/catalog/artifact';
import { PLATFORM_SIGNERS_ENV } from '../lib/gate/platform-signers';
import { buildCommand, buildOf, ENVIRONMENTS, EnvironmentName, packageOf, ServiceDefinition } from '../lib/catalog/types';
import { PlatformConfig, artifactBaseUrl, imageFor, platformEnv } from '../lib/platform';
import {
  bashStep,
  DEPLOY_CLI,
  deployCliStep,
  fetchDeployStep,
  PipelineStep,
  STEP_IMAGES,
  stepProblems,
  SUBSTITUTION_OPTION,
  toTriggerStep,
} from './build-steps';
import { MarathonSecretRefs, PlatformRefs, planPrefix, serviceAccountResource, smokePrefix, stagedPrefix } from './naming';
import { repositoryLink, repositoryLinkId } from './repository-link';
import { MIRRORED_REGISTRY_IMAGE } from './registry';
import { behindPoolCheck, poolCheckStep } from './worker-pool';
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
   * What the repository link waits for: the GitHub repository and its seed files (every commit of a new repository
   * is written before a trigger can fire on it).
   * @default []
   */
  readonly dependsOn?: readonly ITerraformDependable[];
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
export function triggerNames(service: string): {
  push: string;
  pullRequest: string;
  production: string;
  e2e: string;
  smokeStaging: string;
  smokeProduction: string;
} {
  return {
    push: `${service}-push`,
    pullRequest: `${service}-pr`,
    production: `${service}-production`,
    e2e: `${service}-e2e`,
    smokeStaging: `${service}-smoke-staging`,
    smokeProduction: `${service}-smoke-production`,
  };
}

/** The GitHub check a Cloud Build trigger reports: `<trigger name> (<project>)`. */
export function cloudBuildCheckName(triggerName: string, project: string): string {
  return `${triggerName} (${project})`;
}

/** The package steps of one package kind: what makes the package available and what the deploy steps deploy. */
interface PackageSteps {
  /** Steps that build, push or upload the package. */
  readonly steps: PipelineStep[];
  /** What `deploy apply`/`deploy plan` get (`--image X` or `--artifact U --sha256 H`). */
  readonly deployArgs: string[];
  /** The steps the staging deploy waits for. */
  readonly ready: string[];
}

/** What every phase of {@link BuildPipeline} reads: the props plus the values derived from them once. */
interface PipelineContext {
  readonly props: BuildPipelineProps;
  readonly service: ServiceDefinition;
  readonly refs: PlatformRefs;
  readonly branch: string;
  readonly deployEnv: readonly string[];
  readonly fetchDeploy: PipelineStep;
  readonly command: string | undefined;
  /** The `build.sh` (or `make`, or custom command) step; none for a service with no build. */
  readonly buildSh?: PipelineStep;
}

/**
 * The platform settings the deploy CLI reads in a build (one list: {@link PLATFORM_SETTINGS}), plus the build's own
 * facts. The build's registry sidecar (same bucket) is how `deploy plan` pins the image to the digest it reports.
 */
const DEPLOY_SETTINGS = ['project', 'region', 'bucketPrefix', 'registryHost', 'marathonStaging', 'marathonProduction'] as const;

function deployEnvOf(platform: PlatformConfig, refs: PlatformRefs): string[] {
  return [
    ...platformEnv(platform, DEPLOY_SETTINGS),
    `C2C_AUDIT_BUCKET=${refs.auditBucket}`,
    // The platform's allowed signers, pinned by hash and generation: `deploy plan --verify-commit` and
    // `deploy apply --approval cloudbuild` verify against this list, never the checkout's security/allowed_signers.
    `${PLATFORM_SIGNERS_ENV}=gs://${refs.deployBucket}/${refs.signersObject}#${refs.signersGeneration}`,
    'C2C_REGISTRY_URL=http://c2c-registry:5000',
    'C2C_BUILD_ID=$BUILD_ID',
    'C2C_BUILD_PROJECT=$PROJECT_ID',
    'C2C_BUILD_LOCATION=$LOCATION',
    'CI=true',
  ];
}

/**
 * `build.sh` keeps its documented form (`bash build.sh`: seeded files are not executable); make or a custom command
 * runs as written. A service with no build (an upstream image) gets no build or unit-test step.
 */
function buildStepOf(command: string | undefined, builderImage: string | undefined): PipelineStep | undefined {
  if (command === undefined) return undefined;
  return {
    id: 'build',
    image: builderImage ?? STEP_IMAGES.node,
    entrypoint: 'bash',
    args: command === './build.sh' ? ['build.sh'] : ['-c', escapeCloudBuild(command)],
    waitFor: ['-'],
  };
}

/** An upstream image: nothing to build; the deploy steps deploy the image as named. */
function upstreamImageSteps(image: string): PackageSteps {
  return { steps: [], deployArgs: ['--image', image], ready: [] };
}

/**
 * An artifact: the tarball goes to the registry bucket (the cluster's machines read it) under its commit and SHA-256,
 * created once and never replaced; the deploy steps get its URI and checksum as image services get their image.
 */
function artifactSteps(c: PipelineContext): PackageSteps {
  const file = artifactFile(c.service);
  const name = artifactObjectName(c.service, '$COMMIT_SHA', '{sha256}');
  const upload = bashStep(
    'upload-artifact',
    STEP_IMAGES.deploy,
    [
      'set -euo pipefail',
      `sha="$$(sha256sum '${file}' | cut -d' ' -f1)"`,
      `node ${DEPLOY_CLI} object put '${file}' "gs://${c.refs.registryBucket}/${name}"`,
      'echo "$$sha" > /workspace/artifact.sha256',
      // What the cluster fetches: the artifact server, which reads this object for the agents (lib/platform.ts).
      `echo "${artifactBaseUrl(c.props.platform)}/${name.replace('{sha256}', () => '$$sha')}" > /workspace/artifact.uri`,
    ].join('\n'),
    [...(c.buildSh ? ['build'] : []), 'fetch-deploy'],
  );
  return {
    steps: [upload],
    deployArgs: ['--artifact', '$$(cat /workspace/artifact.uri)', '--sha256', '$$(cat /workspace/artifact.sha256)'],
    ready: ['upload-artifact'],
  };
}

/**
 * An image: a registry sidecar running with this build's credentials (the only writer of the registry bucket), a
 * BuildKit build with an inline cache (only the layers a step reuses are fetched), and the push.
 */
function imageSteps(c: PipelineContext): PackageSteps {
  const s = c.service.name;
  const local = `localhost:5000/${s}`;
  const sidecar: PipelineStep = {
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
      `REGISTRY_STORAGE_GCS_BUCKET=${c.refs.registryBucket}`,
      '-e',
      'REGISTRY_STORAGE_GCS_ROOTDIRECTORY=/registry',
      MIRRORED_REGISTRY_IMAGE,
    ],
  };
  const build = bashStep(
    'docker-build',
    STEP_IMAGES.docker,
    [
      'for i in $$(seq 1 30); do (exec 3<>/dev/tcp/c2c-registry/5000) 2>/dev/null && break; sleep 1; done',
      ...mirroredBaseImages(),
      [
        'docker build --build-arg BUILDKIT_INLINE_CACHE=1',
        `--cache-from ${local}:latest`,
        `-t ${local}:$SHORT_SHA -t ${local}:latest .`,
      ].join(' '),
    ].join('\n'),
    ['registry-sidecar'],
    ['DOCKER_BUILDKIT=1'],
  );
  const push = bashStep('push', STEP_IMAGES.docker, `docker push ${local}:$SHORT_SHA && docker push ${local}:latest`, [
    ...(c.buildSh ? ['build'] : []),
    'docker-build',
  ]);
  return { steps: [sidecar, build, push], deployArgs: ['--image', imageFor(c.props.platform, s, '$SHORT_SHA')], ready: ['push'] };
}

/**
 * Shell lines that pull each Docker Hub base image of the Dockerfile (`FROM name[:tag]`, no registry host) through
 * Google's Docker Hub mirror, `mirror.gcr.io`, and tag it with its Docker Hub name, so that the build uses it and
 * Docker Hub's anonymous pull limits never fail a deploy. Stage names, build args and images of other registries are left;
 * an image the mirror does not hold is pulled by the build as before.
 * @see https://cloud.google.com/artifact-registry/docs/pull-cached-dockerhub-images
 */
export function mirroredBaseImages(): string[] {
  return [
    `stages=" $$(awk 'toupper($$1)=="FROM" && toupper($$(NF-1))=="AS" { print $$NF }' Dockerfile | tr '\\n' ' ') "`,
    'for ref in $$(awk \'toupper($$1)=="FROM" { for (i = 2; i <= NF; i++) if ($$i !~ /^--/) { print $$i; break } }\' Dockerfile); do',
    '  first="$${ref%%/*}"',
    `  case "$$ref" in scratch|*'$$'*) continue ;; esac`,
    '  case "$$stages" in *" $$ref "*) continue ;; esac',
    '  if [ "$$first" != "$$ref" ] && { [[ "$$first" == *.* ]] || [[ "$$first" == *:* ]] || [ "$$first" = localhost ]; }; then continue; fi',
    '  path="$$ref"; [[ "$$ref" == */* ]] || path="library/$$ref"',
    '  docker pull -q "mirror.gcr.io/$$path" >/dev/null 2>&1 && docker tag "mirror.gcr.io/$$path" "$$ref" || echo "note: $$ref is not in mirror.gcr.io"',
    'done',
  ];
}

/** Each package kind's steps. */
function packageStepsOf(c: PipelineContext): PackageSteps {
  const pkg = packageOf(c.service);
  if (pkg.kind === 'upstream-image') return upstreamImageSteps(pkg.image);
  if (pkg.kind === 'artifact') return artifactSteps(c);
  return imageSteps(c);
}

/**
 * A smoke-test step against one environment. `requestedBy` is the substitution naming the object that started the
 * build (its log says which request it answers; the builds ask for MUST_MATCH, so a substitution the trigger defines
 * for its filter must also be used by a step).
 */
function smokeStep(c: PipelineContext, env: EnvironmentName, waitFor: readonly string[], requestedBy?: string): PipelineStep {
  const request = requestedBy === undefined ? '' : `echo "smoke test of ${env}, requested by gs://${c.refs.deployBucket}/${requestedBy}"\n`;
  return bashStep(
    `smoke-${env}`,
    STEP_IMAGES.deploy,
    // Files seeded through the GitHub API are not executable; the smoke command usually runs ./e2e.sh.
    `${request}chmod +x ./*.sh 2>/dev/null || true\n${escapeCloudBuild(c.service.smokeTest)}`,
    waitFor,
    [`SERVICE_URL=${c.props.serviceUrls[env]}`, `DEPLOY_ENV=${env}`],
  );
}

/**
 * The push build: build and package, deploy to staging, plan production, stage the plan (which starts the
 * smoke-staging build; the plan reaches the production trigger only when the smoke test passes) and tell the reviewers.
 */
function pushStepsOf(c: PipelineContext): PipelineStep[] {
  const s = c.service.name;
  const pkg = packageStepsOf(c);
  const notify = c.refs.notifyWebhook !== undefined;
  return [
    ...(c.buildSh ? [c.buildSh] : []),
    c.fetchDeploy,
    ...pkg.steps,
    deployStep(
      'deploy-staging',
      ['apply', '--service', s, '--env', 'staging', ...pkg.deployArgs],
      [...pkg.ready, 'fetch-deploy'],
      c.deployEnv,
      c.refs.marathonSecrets ? 'staging' : undefined,
      'time',
    ),
    // The plan's commit author is the person whose listed key signed the commit (verified by the deploy CLI against
    // the platform's allowed signers, C2C_PLATFORM_SIGNERS), so the four-eyes rule keeps them from approving their own
    // change; an unverified commit leaves the plan without an author, and the gate refuses its approval under four-eyes.
    deployStep(
      'plan-production',
      ['plan', '--service', s, '--env', 'production', ...pkg.deployArgs, '--out', PLAN_FILE],
      ['deploy-staging'],
      c.deployEnv,
      c.refs.marathonSecrets ? 'productionRead' : undefined,
      'verify',
    ),
    // The smoke test (the repository's e2e.sh) never runs in a build whose account reads a Marathon secret: the plan
    // goes to staged/, which starts the smoke-staging build (the smoke account, no secrets); only when the smoke test
    // passes does that build put the plan under plans/, which starts the production trigger.
    deployCliStep(
      'stage-plan',
      ['object', 'put', PLAN_FILE, `gs://${c.refs.deployBucket}/${stagedPrefix(s)}{id}.json`],
      ['plan-production'],
    ),
    // The notice goes out once the plan is uploaded, so the approval it announces can be given.
    ...(notify
      ? [{ ...deployCliStep('notify-plan', ['notify', '--plan', PLAN_FILE], ['stage-plan'], c.deployEnv), secretEnv: [NOTIFY_ENV] }]
      : []),
  ];
}

/** Where the push build writes the production plan. */
const PLAN_FILE = '/workspace/production.plan.json';

/**
 * A service's Cloud Build triggers:
 * - push to the default branch: `build.sh` (build + unit tests) and the image build in parallel, push `:$SHORT_SHA` and
 *   `:latest`, deploy to staging, plan production, stage the plan, notify the reviewers;
 * - smoke-staging (smoke account, no Marathon secret): started by the staged plan, smoke tests staging, then uploads the
 *   plan under plans/;
 * - pull requests: `build.sh` only (its check is required by branch protection);
 * - production: started by the uploaded plan, waits for approval (`approval_config`), then applies exactly that plan
 *   and asks for the production smoke test, which smoke-production (smoke account) runs;
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
  /** The staging smoke test between the push build and the production trigger (smoke account). */
  readonly smokeStaging: CloudbuildTrigger;
  /** The production smoke test after an apply (smoke account). */
  readonly smokeProduction: CloudbuildTrigger;
  /** The connected repository's id (`projects/.../connections/.../repositories/NAME`). */
  readonly repositoryName: string;
  /** The repository link, when this pipeline declares it. */
  readonly repositoryLink?: Cloudbuildv2Repository;
  /** The trigger names. */
  readonly triggerNames: ReturnType<typeof triggerNames>;
  private readonly pushSteps: PipelineStep[];
  private readonly context: PipelineContext;

  constructor(scope: Construct, id: string, props: BuildPipelineProps) {
    super(scope, id);
    const { service, platform, refs } = props;
    this.triggerNames = triggerNames(service.name);
    if (props.repositoryLink !== undefined) {
      this.repositoryName = props.repositoryLink;
    } else {
      this.repositoryLink = repositoryLink(this, {
        platform,
        connection: props.connection,
        repo: service.repo,
        dependsOn: props.dependsOn,
      });
      this.repositoryName = repositoryLinkId(platform, props.connection, service.repo);
    }
    const command = buildCommand(buildOf(service));
    this.context = {
      props,
      service,
      refs,
      branch: service.defaultBranch ?? 'main',
      deployEnv: deployEnvOf(platform, refs),
      fetchDeploy: fetchDeployStep(refs.deployBucket),
      command,
      buildSh: buildStepOf(command, props.builderImage),
    };
    this.pushSteps = pushStepsOf(this.context);
    this.push = this.pushTrigger();
    this.pullRequest = this.pullRequestTrigger();
    this.production = this.productionTrigger();
    this.e2e = this.e2eTrigger();
    this.smokeStaging = this.smokeStagingTrigger();
    this.smokeProduction = this.smokeProductionTrigger();
    this.node.addValidation({
      validate: () => stepProblems(this.pushSteps).map((p) => `BuildPipeline(${service.name}): push trigger: ${p}`),
    });
  }

  /** Adds a step to the push build (e.g. a security scan after `docker-build`); checked at synth. */
  addPushStep(step: PipelineStep): void {
    this.pushSteps.push(step);
  }

  /** The push build's steps, in order. */
  get pushStepIds(): readonly string[] {
    return this.pushSteps.map((x) => x.id);
  }

  /** What every trigger shares: project, region, the account it runs as, tags; waits for the repository link. */
  private common(serviceAccount: string, tag: string) {
    const { platform } = this.context.props;
    return {
      project: platform.project,
      location: platform.region,
      serviceAccount: serviceAccountResource(platform.project, serviceAccount),
      tags: ['c2c', this.context.service.name, tag],
      ...(this.repositoryLink ? { dependsOn: [this.repositoryLink] } : {}),
    };
  }

  /**
   * A build; `private` ones talk to Marathon or to a service and run in the private pool. `secrets` are the Marathon
   * credentials its steps may read (each step names the one it uses in `secretEnv`).
   */
  private build(steps: readonly PipelineStep[], opts: BuildOptions = {}): CloudbuildTriggerBuild {
    const { props, refs } = this.context;
    const available = availableSecretsOf(refs, opts);
    return {
      step: this.inPool(steps, opts).map(toTriggerStep),
      timeout: props.timeout ?? '1800s',
      options: {
        logging: 'CLOUD_LOGGING_ONLY',
        substitutionOption: SUBSTITUTION_OPTION,
        ...(opts.private && refs.workerPool !== undefined
          ? { workerPool: refs.workerPool }
          : props.machineType !== undefined
            ? { machineType: props.machineType }
            : {}),
      },
      ...(available.length > 0 ? { availableSecrets: { secretManager: available } } : {}),
    };
  }

  /** A private build's steps behind the check that it runs in the pool (constructs/worker-pool.ts). */
  private inPool(steps: readonly PipelineStep[], opts: BuildOptions): readonly PipelineStep[] {
    const { props, refs } = this.context;
    if (!opts.private || refs.workerPool === undefined) return steps;
    const reach = opts.reach ?? ENVIRONMENTS;
    return behindPoolCheck(
      steps,
      poolCheckStep(
        refs.workerPool,
        reach.map((env) => props.platform.marathonUrls[env]),
      ),
    );
  }

  private pushTrigger(): CloudbuildTrigger {
    const { service, branch, refs } = this.context;
    return new CloudbuildTrigger(this, 'push', {
      ...this.common(refs.buildServiceAccount, 'push'),
      name: this.triggerNames.push,
      description: `${service.name}: build, unit tests, image, deploy to staging, smoke test, production plan`,
      repositoryEventConfig: { repository: this.repositoryName, push: { branch: `^${escapeRegExp(branch)}$` } },
      ...(service.paths ? { includedFiles: [...service.paths] } : {}),
      substitutions: this.bundleSubstitutions(),
      buildAttribute: {
        ...this.build([], { private: true, secrets: ['staging', 'productionRead'], notify: true }),
        // Lazy, so that steps added after construction (addPushStep) are synthesized and validated.
        step: Lazy.anyValue({
          produce: () => this.inPool(this.pushSteps, { private: true }).map((x) => cloudbuildTriggerBuildStepToTerraform(toTriggerStep(x))),
        }),
      },
    });
  }

  /** No included_files: the check is required by branch protection, so it must report on every pull request. */
  private pullRequestTrigger(): CloudbuildTrigger {
    const { service, branch, refs, command, buildSh } = this.context;
    const s = service.name;
    return new CloudbuildTrigger(this, 'pull-request', {
      ...this.common(refs.testServiceAccount, 'pull-request'),
      name: this.triggerNames.pullRequest,
      description: `${s}: ${command === './build.sh' ? 'build.sh' : (command ?? 'no build')} (build + unit tests) on every pull request`,
      repositoryEventConfig: {
        repository: this.repositoryName,
        pullRequest: { branch: `^${escapeRegExp(branch)}$`, commentControl: 'COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY' },
      },
      buildAttribute: this.build([
        buildSh ??
          bashStep(
            'no-build',
            STEP_IMAGES.deploy,
            `echo "${s} has no build (its package is ${packageOf(service).kind}); nothing to build or test"`,
            ['-'],
          ),
      ]),
    });
  }

  private productionTrigger(): CloudbuildTrigger {
    const { service, branch, refs, fetchDeploy, deployEnv } = this.context;
    const apply = bashStep(
      'apply-production',
      STEP_IMAGES.deploy,
      [
        'set -euo pipefail',
        ...(refs.marathonSecrets ? [marathonAuth('production')] : []),
        `exec node ${DEPLOY_CLI} apply --plan ${PLAN_FILE} --approval cloudbuild`,
      ].join('\n'),
      ['fetch-plan'],
      deployEnv,
    );
    return new CloudbuildTrigger(this, 'production', {
      ...this.common(refs.productionServiceAccount, 'production'),
      name: this.triggerNames.production,
      description: `${service.name}: apply the approved production plan`,
      pubsubConfig: { topic: refs.plansTopic },
      substitutions: { _PLAN_OBJECT: '$(body.message.attributes.objectId)', ...this.bundleSubstitutions() },
      filter: `_PLAN_OBJECT.matches("^${planPrefix(service.name)}[^/]+[.]json$")`,
      sourceToBuild: { repository: this.repositoryName, ref: `refs/heads/${branch}`, repoType: 'GITHUB' },
      approvalConfig: { approvalRequired: true },
      buildAttribute: this.build(
        [
          fetchDeploy,
          deployCliStep('fetch-plan', ['object', 'get', `gs://${refs.deployBucket}/$_PLAN_OBJECT`, PLAN_FILE], ['fetch-deploy']),
          refs.marathonSecrets ? { ...apply, secretEnv: [SECRET_ENV.production] } : apply,
          // The smoke test runs in its own build, as the smoke account (no Marathon secret): this object starts it.
          bashStep(
            'request-smoke',
            STEP_IMAGES.deploy,
            [
              'set -euo pipefail',
              `printf '{"service":"%s","build":"%s","plan":"%s"}\\n' '${service.name}' "$BUILD_ID" "$_PLAN_OBJECT" > /workspace/smoke.json`,
              `exec node ${DEPLOY_CLI} object put /workspace/smoke.json gs://${refs.deployBucket}/${smokePrefix(service.name)}$BUILD_ID.json`,
            ].join('\n'),
            ['apply-production'],
          ),
        ],
        { private: true, secrets: ['production'], reach: ['production'] },
      ),
    });
  }

  /**
   * The staging smoke test, started by the plan the push build staged: runs the repository's smoke command as the smoke
   * account (no Marathon secret, so e2e.sh cannot read one: all steps of a build share its account), then fetches the
   * deploy CLI and the staged plan (after the smoke command exited, so it cannot have replaced either) and puts the
   * plan under plans/, which starts the production trigger.
   */
  private smokeStagingTrigger(): CloudbuildTrigger {
    const { service, branch, refs } = this.context;
    const s = service.name;
    return new CloudbuildTrigger(this, 'smoke-staging', {
      ...this.common(refs.smokeServiceAccount, 'smoke-staging'),
      name: this.triggerNames.smokeStaging,
      description: `${s}: smoke test staging (smoke account, no Marathon secret), then hand the production plan to the production trigger`,
      pubsubConfig: { topic: refs.plansTopic },
      substitutions: { _STAGED_OBJECT: '$(body.message.attributes.objectId)', ...this.bundleSubstitutions() },
      filter: `_STAGED_OBJECT.matches("^${stagedPrefix(s)}[^/]+[.]json$")`,
      sourceToBuild: { repository: this.repositoryName, ref: `refs/heads/${branch}`, repoType: 'GITHUB' },
      buildAttribute: this.build(
        [
          smokeStep(this.context, 'staging', ['-']),
          fetchDeployStep(refs.deployBucket, ['smoke-staging']),
          deployCliStep('fetch-plan', ['object', 'get', `gs://${refs.deployBucket}/$_STAGED_OBJECT`, PLAN_FILE], ['fetch-deploy']),
          deployCliStep('upload-plan', ['object', 'put', PLAN_FILE, `gs://${refs.deployBucket}/${planPrefix(s)}{id}.json`], ['fetch-plan']),
        ],
        { private: true, reach: ['staging'] },
      ),
    });
  }

  /** The production smoke test, started by the object an applied production build writes; as the smoke account. */
  private smokeProductionTrigger(): CloudbuildTrigger {
    const { service, branch, refs } = this.context;
    return new CloudbuildTrigger(this, 'smoke-production', {
      ...this.common(refs.smokeServiceAccount, 'smoke-production'),
      name: this.triggerNames.smokeProduction,
      description: `${service.name}: smoke test production after an apply (smoke account, no Marathon secret)`,
      pubsubConfig: { topic: refs.plansTopic },
      substitutions: { _SMOKE_OBJECT: '$(body.message.attributes.objectId)' },
      filter: `_SMOKE_OBJECT.matches("^${smokePrefix(service.name)}[^/]+[.]json$")`,
      sourceToBuild: { repository: this.repositoryName, ref: `refs/heads/${branch}`, repoType: 'GITHUB' },
      buildAttribute: this.build([smokeStep(this.context, 'production', ['-'], '$_SMOKE_OBJECT')], {
        private: true,
        reach: ['production'],
      }),
    });
  }

  private e2eTrigger(): CloudbuildTrigger {
    const { service, branch, refs } = this.context;
    return new CloudbuildTrigger(this, 'e2e', {
      ...this.common(refs.testServiceAccount, 'e2e'),
      name: this.triggerNames.e2e,
      description: `${service.name}: smoke tests against staging and production (scheduled)`,
      sourceToBuild: { repository: this.repositoryName, ref: `refs/heads/${branch}`, repoType: 'GITHUB' },
      buildAttribute: this.build([smokeStep(this.context, 'staging', ['-']), smokeStep(this.context, 'production', ['-'])], {
        private: true,
      }),
    });
  }

  /** The bundle to run: name (holding its SHA-256) and generation, both what the platform published. */
  private bundleSubstitutions(): Record<string, string> {
    return { _C2C_BUNDLE: this.context.refs.bundleObject, _C2C_BUNDLE_GENERATION: this.context.refs.bundleGeneration };
  }
}

/** Options of one build. */
interface BuildOptions {
  readonly private?: boolean;
  /** The Marathons a private build must reach (its pool check); @default both */
  readonly reach?: readonly EnvironmentName[];
  readonly secrets?: readonly (keyof MarathonSecretRefs)[];
  readonly notify?: boolean;
}

/** The build's `availableSecrets`: the Marathon credentials it may read and the chat webhook. */
function availableSecretsOf(refs: PlatformRefs, opts: BuildOptions): { env: string; versionName: string }[] {
  const marathon = refs.marathonSecrets;
  return [
    ...(marathon ? (opts.secrets ?? []).map((use) => ({ env: SECRET_ENV[use], versionName: marathon[use] })) : []),
    ...(opts.notify && refs.notifyWebhook ? [{ env: NOTIFY_ENV, versionName: refs.notifyWebhook }] : []),
  ];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A step that runs the deploy CLI for the built commit, in the full Node image (it has git): the actor is the build
 * itself (`cloudbuild:BUILD_ID`), never an e-mail the commit declares. `commit: 'time'` passes the commit's time (for
 * the DORA lead time); `commit: 'verify'` has the CLI verify the commit's SSH signature against the platform's
 * allowed signers (`C2C_PLATFORM_SIGNERS` in the deploy env) and record the verified signer as the commit's author
 * (`deploy plan --verify-commit`).
 * Written without braces so neither Terraform nor Cloud Build substitutes anything: `$$` reaches bash as `$`.
 */
function deployStep(
  id: string,
  args: readonly string[],
  waitFor: readonly string[],
  env: readonly string[],
  secret: keyof MarathonSecretRefs | undefined,
  commit: 'time' | 'verify',
): PipelineStep {
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) && !a.includes('$$') ? a : `"${a}"`)).join(' ');
  const commitArgs =
    commit === 'verify'
      ? ['set -- --commit "$COMMIT_SHA" --verify-commit /workspace']
      : [
          'set -- --commit "$COMMIT_SHA"',
          'commit_time="$$(git -c safe.directory=/workspace log -1 --format=%cI "$COMMIT_SHA" 2>/dev/null || true)"',
          'if [ -n "$$commit_time" ]; then set -- "$$@" --commit-time "$$commit_time"; fi',
        ];
  const step = bashStep(
    id,
    STEP_IMAGES.node,
    [
      'set -euo pipefail',
      ...(secret ? [marathonAuth(secret)] : []),
      'export DEPLOY_ACTOR="cloudbuild:$BUILD_ID"',
      ...commitArgs,
      `exec node ${DEPLOY_CLI} ${quoted} "$$@"`,
    ].join('\n'),
    waitFor,
    env,
  );
  return secret ? { ...step, secretEnv: [SECRET_ENV[secret]] } : step;
}

/** The env name the chat webhook URL is made available as (the deploy CLI's `--notify` reads it). */
export const NOTIFY_ENV = 'C2C_NOTIFY_WEBHOOK';

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
