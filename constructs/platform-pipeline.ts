import { Construct } from 'constructs';
import { CloudbuildTrigger, CloudbuildTriggerBuild } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { Cloudbuildv2Repository } from '@cdktf/provider-google/lib/cloudbuildv2-repository';
import { ValidationError, Violation } from '../lib/errors';
import { PlatformConfig } from '../lib/platform';
import { bashStep, PipelineStep, STEP_IMAGES, toTriggerStep } from './build-steps';
import { PLATFORM_PLAN_PREFIX } from './naming';

/**
 * Which side of the fleet a stack changes. `staging`-side stacks are applied as soon as they are planned on the
 * default branch; `production`-side stacks only through an approved, saved plan.
 */
export type StackSide = 'staging' | 'production';

/** A stack the platform pipeline plans and applies. */
export interface PipelineStack {
  /** Stack name (its folder under `cdktf.out/stacks/`). */
  readonly name: string;
  /** How its changes are applied. */
  readonly side: StackSide;
}

/** What the platform pipeline uses of the platform stack: references, so Terraform creates them first. */
export interface PlatformPipelineRefs {
  /** E-mail of the account that plans (pull requests). */
  readonly planServiceAccount: string;
  /** E-mail of the account that applies (push, approved plans). */
  readonly applyServiceAccount: string;
  /** Deploy bucket name (saved plans are uploaded there). */
  readonly deployBucket: string;
  /** Audit bucket name (approvals are recorded there). */
  readonly auditBucket: string;
  /** The plans topic's id, `projects/P/topics/NAME`. */
  readonly plansTopic: string;
}

/** Props of {@link PlatformPipeline}. */
export interface PlatformPipelineProps {
  /** The platform's own repository, `owner/name`. */
  readonly repo: string;
  /** Fleet settings (passed to synthesis in the build as the same environment variables). */
  readonly platform: PlatformConfig;
  /** The platform resources the pipeline uses (references into the platform stack). */
  readonly refs: PlatformPipelineRefs;
  /** Name of the Cloud Build GitHub connection (2nd gen). */
  readonly connection: string;
  /** Every stack of the app, with its side. */
  readonly stacks: readonly PipelineStack[];
  /**
   * The connection name of the GitHub token secret in Secret Manager (the GitHub provider needs it to plan).
   * @default 'c2c-github-token'
   */
  readonly githubTokenSecret?: string;
  /**
   * The default branch.
   * @default 'main'
   */
  readonly branch?: string;
  /**
   * Terraform image (>= 1.5).
   * @default 'hashicorp/terraform:1.9.8'
   */
  readonly terraformImage?: string;
}

/** The platform pipeline's trigger names. */
export const PLATFORM_TRIGGERS = { pullRequest: 'platform-pr', push: 'platform-push', apply: 'platform-apply' } as const;

/**
 * The platform repository deploys itself the way services do. On a pull request every stack is planned. On push to
 * the default branch every stack is planned; staging-side stacks are applied at once, and each production-side stack
 * with changes gets a saved plan (`terraform plan -out`) uploaded with its configuration to the deploy bucket. The
 * upload starts the apply trigger, which waits for approval in Cloud Build, records the approval in the audit bucket
 * and applies exactly that saved plan file (Terraform itself refuses a stale one).
 */
export class PlatformPipeline extends Construct {
  /** Plans every stack on pull requests. */
  readonly pullRequest: CloudbuildTrigger;
  /** Plans every stack on push; applies staging-side stacks; uploads production-side plans. */
  readonly push: CloudbuildTrigger;
  /** Applies an approved production-side plan. */
  readonly apply: CloudbuildTrigger;
  /** The platform repository's Cloud Build link (2nd gen). */
  readonly repository: Cloudbuildv2Repository;
  /** The default branch the pipeline builds. */
  readonly branch: string;

  constructor(scope: Construct, id: string, props: PlatformPipelineProps) {
    super(scope, id);
    const { platform, refs } = props;
    const problems: Violation[] = [];
    const subject = `PlatformPipeline(${props.repo})`;
    const seen = new Set<string>();
    props.stacks.forEach((s, i) => {
      if (!/^[A-Za-z0-9_-]+$/.test(s.name))
        problems.push({
          subject,
          field: `stacks[${i}].name`,
          value: s.name,
          message: "must be a stack folder name (letters, digits, '-', '_')",
        });
      if (seen.has(s.name))
        problems.push({ subject, field: `stacks[${i}].name`, value: s.name, message: 'is listed twice; list every stack once' });
      seen.add(s.name);
    });
    if (!props.stacks.some((s) => s.side === 'production')) {
      problems.push({
        subject,
        field: 'stacks',
        value: props.stacks.map((s) => s.name),
        message: "has no production-side stack; the platform stack must be 'production' so that its changes need approval",
      });
    }
    if (problems.length > 0) throw new ValidationError(problems);

    const branch = props.branch ?? 'main';
    this.branch = branch;
    const tf = props.terraformImage ?? 'hashicorp/terraform:1.9.8';
    const secret = props.githubTokenSecret ?? 'c2c-github-token';
    const [owner, repoName] = props.repo.split('/');
    const connection = `projects/${platform.project}/locations/${platform.region}/connections/${props.connection}`;
    const repository = new Cloudbuildv2Repository(this, 'repository', {
      project: platform.project,
      location: platform.region,
      parentConnection: connection,
      name: repoName,
      remoteUri: `https://github.com/${owner}/${repoName}.git`,
    });
    this.repository = repository;
    const stagingSide = props.stacks.filter((s) => s.side === 'staging').map((s) => s.name);
    const productionSide = props.stacks.filter((s) => s.side === 'production').map((s) => s.name);
    const all = props.stacks.map((s) => s.name);
    const env = [
      `C2C_GCP_PROJECT=${platform.project}`,
      `C2C_GCP_REGION=${platform.region}`,
      `C2C_GITHUB_OWNER=${platform.githubOwner}`,
      `C2C_REGISTRY_HOST=${platform.registryHost}`,
      `C2C_BUCKET_PREFIX=${platform.bucketPrefix}`,
      `C2C_STATE_BUCKET=${platform.stateBucket}`,
      `MARATHON_URL_STAGING=${platform.marathonUrls.staging}`,
      `MARATHON_URL_PRODUCTION=${platform.marathonUrls.production}`,
      `C2C_CLOUDBUILD_CONNECTION=${props.connection}`,
      'CHECKPOINT_DISABLE=1',
      'DISABLE_VERSION_CHECK=1',
      'CI=true',
      'TF_IN_AUTOMATION=1',
    ];
    const synth = bashStep('synth', STEP_IMAGES.node, 'set -euo pipefail\nnpm ci --no-audit --no-fund\nnpm run synth', ['-'], env);
    const tfStep = (id: string, script: string, waitFor: readonly string[]): PipelineStep => ({
      ...bashStep(id, tf, `set -eu\n${script}`, waitFor, env),
      entrypoint: 'sh',
    });
    const initPlan = (extra: string) =>
      [
        'terraform -chdir="cdktf.out/stacks/$$s" init -input=false -no-color',
        `terraform -chdir="cdktf.out/stacks/$$s" plan -input=false -no-color -lock-timeout=300s ${extra}`,
      ].join('\n  ');
    const loop = (stacks: readonly string[], body: string) => `for s in ${stacks.join(' ')}; do\n  echo "== stack $$s"\n  ${body}\ndone`;

    const common = (sa: string, tag: string) => ({
      project: platform.project,
      location: platform.region,
      serviceAccount: `projects/${platform.project}/serviceAccounts/${sa}`,
      tags: ['c2c', 'platform', tag],
    });
    const build = (steps: readonly PipelineStep[], withToken: boolean): CloudbuildTriggerBuild => ({
      step: steps.map((s) => ({
        ...toTriggerStep(s),
        ...(withToken && s.image !== STEP_IMAGES.cloudSdk ? { secretEnv: ['GITHUB_TOKEN'] } : {}),
      })),
      timeout: '3600s',
      options: { logging: 'CLOUD_LOGGING_ONLY' },
      ...(withToken
        ? {
            availableSecrets: {
              secretManager: [{ env: 'GITHUB_TOKEN', versionName: `projects/${platform.project}/secrets/${secret}/versions/latest` }],
            },
          }
        : {}),
    });
    const branchRe = `^${branch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

    this.pullRequest = new CloudbuildTrigger(this, 'pull-request', {
      ...common(refs.planServiceAccount, 'pull-request'),
      name: PLATFORM_TRIGGERS.pullRequest,
      description: 'Platform: plan every stack (no apply)',
      repositoryEventConfig: {
        repository: repository.id,
        pullRequest: { branch: branchRe, commentControl: 'COMMENTS_ENABLED_FOR_EXTERNAL_CONTRIBUTORS_ONLY' },
      },
      buildAttribute: build([synth, tfStep('plan-all', loop(all, initPlan('-lock=false')), ['synth'])], true),
    });

    const planDir = '/workspace/platform-plans';
    this.push = new CloudbuildTrigger(this, 'push', {
      ...common(refs.applyServiceAccount, 'push'),
      name: PLATFORM_TRIGGERS.push,
      description: 'Platform: plan every stack; apply staging-side stacks; upload production-side plans for approval',
      repositoryEventConfig: { repository: repository.id, push: { branch: branchRe } },
      buildAttribute: build(
        [
          synth,
          ...(stagingSide.length > 0
            ? [
                tfStep(
                  'apply-staging-side',
                  loop(
                    stagingSide,
                    [initPlan('-out=tfplan'), 'terraform -chdir="cdktf.out/stacks/$$s" apply -input=false -no-color tfplan'].join('\n  '),
                  ),
                  ['synth'],
                ),
              ]
            : []),
          tfStep(
            'plan-production-side',
            `mkdir -p ${planDir}\n${loop(
              productionSide,
              [
                `code=0; ${initPlan('-detailed-exitcode -out=tfplan')} || code=$$?`,
                'if [ "$$code" = 1 ]; then exit 1; fi',
                'if [ "$$code" = 0 ]; then echo "no changes in $$s"; continue; fi',
                `terraform -chdir="cdktf.out/stacks/$$s" show -no-color tfplan > ${planDir}/$$s.txt`,
                // The saved plan plus the configuration and lock file it was made from; providers are installed again.
                `tar -czf ${planDir}/$$s.tgz --exclude=.terraform -C "cdktf.out/stacks/$$s" .`,
              ].join('\n  '),
            )}`,
            ['synth'],
          ),
          bashStep(
            'upload-production-plans',
            STEP_IMAGES.cloudSdk,
            [
              'set -euo pipefail',
              `for f in ${planDir}/*.tgz; do`,
              '  [ -e "$$f" ] || continue',
              '  s=$$(basename "$$f" .tgz)',
              `  gsutil -q cp "${planDir}/$$s.txt" "gs://${refs.deployBucket}/${PLATFORM_PLAN_PREFIX}$$s/$COMMIT_SHA-$BUILD_ID.txt"`,
              `  gsutil -q cp "$$f" "gs://${refs.deployBucket}/${PLATFORM_PLAN_PREFIX}$$s/$COMMIT_SHA-$BUILD_ID.tgz"`,
              'done',
            ].join('\n'),
            ['plan-production-side'],
          ),
        ],
        true,
      ),
    });

    this.apply = new CloudbuildTrigger(this, 'apply', {
      ...common(refs.applyServiceAccount, 'apply'),
      name: PLATFORM_TRIGGERS.apply,
      description: 'Platform: apply an approved saved plan of a production-side stack',
      pubsubConfig: { topic: refs.plansTopic },
      substitutions: { _PLAN_OBJECT: '$(body.message.attributes.objectId)' },
      filter: `_PLAN_OBJECT.matches("^${PLATFORM_PLAN_PREFIX}[^/]+/[^/]+[.]tgz$")`,
      sourceToBuild: { repository: repository.id, ref: `refs/heads/${branch}`, repoType: 'GITHUB' },
      approvalConfig: { approvalRequired: true },
      buildAttribute: build(
        [
          bashStep(
            'fetch-plan',
            STEP_IMAGES.cloudSdk,
            [
              'set -euo pipefail',
              `gsutil -q cp "gs://${refs.deployBucket}/$_PLAN_OBJECT" /workspace/plan.tgz`,
              'mkdir -p /workspace/stack && tar -xzf /workspace/plan.tgz -C /workspace/stack',
            ].join('\n'),
            ['-'],
          ),
          // Who approved, when, with which comment: Cloud Build's own record of this build, kept in the audit bucket.
          bashStep(
            'record-approval',
            STEP_IMAGES.cloudSdk,
            [
              'set -euo pipefail',
              'gcloud builds describe "$BUILD_ID" --region="$LOCATION" --format=json > /workspace/build.json',
              `gsutil -q cp /workspace/build.json "gs://${refs.auditBucket}/events/platform/$$(date -u +%Y%m%dT%H%M%SZ)-approval-$BUILD_ID.json"`,
            ].join('\n'),
            ['-'],
          ),
          tfStep(
            'apply',
            [
              'terraform -chdir=/workspace/stack init -input=false -no-color',
              'terraform -chdir=/workspace/stack apply -input=false -no-color tfplan',
            ].join('\n'),
            ['fetch-plan', 'record-approval'],
          ),
          // Staging-side stacks read the platform's outputs from its state: apply them again once it changed, so that
          // triggers move to what was just published (the new deploy bundle, a new account) without waiting for a push.
          { ...synth, id: 'synth', waitFor: ['-'] },
          ...(stagingSide.length > 0
            ? [
                tfStep(
                  'reapply-staging-side',
                  loop(
                    stagingSide,
                    [initPlan('-out=tfplan'), 'terraform -chdir="cdktf.out/stacks/$$s" apply -input=false -no-color tfplan'].join('\n  '),
                  ),
                  ['apply', 'synth'],
                ),
              ]
            : []),
        ],
        true,
      ),
    });
  }
}
