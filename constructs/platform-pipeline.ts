import { Construct } from 'constructs';
import { CloudbuildTrigger, CloudbuildTriggerBuild } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { Cloudbuildv2Repository } from '@cdktf/provider-google/lib/cloudbuildv2-repository';
import { ValidationError, Violation } from '../lib/errors';
import { PlatformConfig, platformEnv } from '../lib/platform';
import { bashStep, PipelineStep, STEP_IMAGES, SUBSTITUTION_OPTION, toTriggerStep } from './build-steps';
import { PLATFORM_PLAN_PREFIX, serviceAccountResource } from './naming';
import { repositoryLink, repositoryLinkId } from './repository-link';
import { escapeCloudBuild } from './terraform-escape';

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
   * The GitHub token with read access only (Secret Manager secret id), for pull-request plans.
   * @default 'c2c-github-token-read'
   */
  readonly githubReadTokenSecret?: string;
  /**
   * The environment of the synth step: every setting synth reads, as `NAME=value` (`synthEnv` of constructs/settings),
   * so that the pipeline's synth reproduces the first synth byte for byte.
   * @default - the platform settings and the connection only
   */
  readonly synthEnv?: readonly string[];
  /**
   * The default branch.
   * @default 'main'
   */
  readonly branch?: string;
  /**
   * Terraform image (>= 1.5), pinned by digest.
   * @default STEP_IMAGES.terraform
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
  /** The link's id (a literal; the triggers wait for the link with `depends_on`). */
  readonly repositoryId: string;
  /** The default branch the pipeline builds. */
  readonly branch: string;

  private readonly props: PlatformPipelineProps;
  private readonly env: readonly string[];
  private readonly synth: PipelineStep;
  private readonly stacksBySide: Readonly<Record<StackSide | 'all', readonly string[]>>;

  constructor(scope: Construct, id: string, props: PlatformPipelineProps) {
    super(scope, id);
    checkStacks(props);
    this.props = props;
    this.branch = props.branch ?? 'main';
    this.repository = repositoryLink(this, { platform: props.platform, connection: props.connection, repo: props.repo });
    this.repositoryId = repositoryLinkId(props.platform, props.connection, props.repo);
    this.stacksBySide = {
      staging: props.stacks.filter((s) => s.side === 'staging').map((s) => s.name),
      production: props.stacks.filter((s) => s.side === 'production').map((s) => s.name),
      all: props.stacks.map((s) => s.name),
    };
    // Every setting synth reads (the same values the first synth read; a `$` reaches the step as itself), and the
    // tools' own switches.
    this.env = [
      ...(props.synthEnv ?? [...platformEnv(props.platform), `C2C_CLOUDBUILD_CONNECTION=${props.connection}`]).map(escapeCloudBuild),
      'CHECKPOINT_DISABLE=1',
      'DISABLE_VERSION_CHECK=1',
      'CI=true',
      'TF_IN_AUTOMATION=1',
    ];
    // --ignore-scripts: no dependency's install script runs while GITHUB_TOKEN is in the step's environment (synth
    // needs none: esbuild and swc load their platform packages without them; `npm run pipeline` found node-pty's).
    this.synth = bashStep(
      'synth',
      STEP_IMAGES.node,
      'set -euo pipefail\nnpm ci --no-audit --no-fund --ignore-scripts\nnpm run synth',
      ['-'],
      this.env,
    );
    this.pullRequest = this.pullRequestTrigger();
    this.push = this.pushTrigger();
    this.apply = this.applyTrigger();
  }

  /** The synth step's environment: exactly what the platform pipeline's synth runs with. */
  get synthStepEnv(): readonly string[] {
    return this.env;
  }

  /** A Terraform step; it reads the GitHub token named `token` (`read` for plans, `write` for applies). */
  private tfStep(id: string, script: string, waitFor: readonly string[]): PipelineStep {
    return {
      ...bashStep(id, this.props.terraformImage ?? STEP_IMAGES.terraform, `set -eu\n${script}`, waitFor, this.env),
      entrypoint: 'sh',
    };
  }

  private common(sa: string, tag: string) {
    const { platform } = this.props;
    return {
      project: platform.project,
      location: platform.region,
      serviceAccount: serviceAccountResource(platform.project, sa),
      tags: ['c2c', 'platform', tag],
      dependsOn: [this.repository],
    };
  }

  /**
   * A build whose Terraform steps read one GitHub token: `read` (pull requests: a token that can only read, so
   * nothing a pull request runs reaches a write credential) or `write` (push and approved applies).
   */
  private build(steps: readonly PipelineStep[], token: 'read' | 'write'): CloudbuildTriggerBuild {
    const { platform } = this.props;
    const secret = token === 'read' ? githubTokenSecrets(this.props).read : githubTokenSecrets(this.props).write;
    const reads = (s: PipelineStep) => s.image === (this.props.terraformImage ?? STEP_IMAGES.terraform);
    return {
      step: steps.map((s) => ({ ...toTriggerStep(s), ...(reads(s) ? { secretEnv: ['GITHUB_TOKEN'] } : {}) })),
      timeout: '3600s',
      options: { logging: 'CLOUD_LOGGING_ONLY', substitutionOption: SUBSTITUTION_OPTION },
      availableSecrets: {
        secretManager: [{ env: 'GITHUB_TOKEN', versionName: `projects/${platform.project}/secrets/${secret}/versions/latest` }],
      },
    };
  }

  private branchRe(): string {
    return `^${this.branch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  }

  /**
   * Pull requests: plan every stack without the state lock, as the plan account (reads state, never writes it) with
   * the read-only GitHub token. A collaborator's `/gcbrun` comment starts it, so a stranger's pull request runs
   * nothing.
   */
  private pullRequestTrigger(): CloudbuildTrigger {
    return new CloudbuildTrigger(this, 'pull-request', {
      ...this.common(this.props.refs.planServiceAccount, 'pull-request'),
      name: PLATFORM_TRIGGERS.pullRequest,
      description: 'Platform: plan every stack (no apply)',
      repositoryEventConfig: {
        repository: this.repositoryId,
        pullRequest: { branch: this.branchRe(), commentControl: 'COMMENTS_ENABLED' },
      },
      buildAttribute: this.build(
        [this.synth, this.tfStep('plan-all', loop(this.stacksBySide.all, initPlan('-lock=false')), ['synth'])],
        'read',
      ),
    });
  }

  private pushTrigger(): CloudbuildTrigger {
    const { refs } = this.props;
    const stagingSide = this.stacksBySide.staging;
    return new CloudbuildTrigger(this, 'push', {
      ...this.common(refs.applyServiceAccount, 'push'),
      name: PLATFORM_TRIGGERS.push,
      description: 'Platform: plan every stack; apply staging-side stacks; upload production-side plans for approval',
      repositoryEventConfig: { repository: this.repositoryId, push: { branch: this.branchRe() } },
      buildAttribute: this.build(
        [
          this.synth,
          ...(stagingSide.length > 0 ? [this.tfStep('apply-staging-side', loop(stagingSide, planAndApply()), ['synth'])] : []),
          this.tfStep('plan-production-side', planProductionSide(this.stacksBySide.production), ['synth']),
          uploadProductionPlans(refs.deployBucket),
        ],
        'write',
      ),
    });
  }

  private applyTrigger(): CloudbuildTrigger {
    const { refs } = this.props;
    const stagingSide = this.stacksBySide.staging;
    return new CloudbuildTrigger(this, 'apply', {
      ...this.common(refs.applyServiceAccount, 'apply'),
      name: PLATFORM_TRIGGERS.apply,
      description: 'Platform: apply an approved saved plan of a production-side stack',
      pubsubConfig: { topic: refs.plansTopic },
      substitutions: { _PLAN_OBJECT: '$(body.message.attributes.objectId)' },
      filter: `_PLAN_OBJECT.matches("^${PLATFORM_PLAN_PREFIX}[^/]+/[^/]+[.]tgz$")`,
      sourceToBuild: { repository: this.repositoryId, ref: `refs/heads/${this.branch}`, repoType: 'GITHUB' },
      approvalConfig: { approvalRequired: true },
      buildAttribute: this.build(
        [
          fetchPlan(refs.deployBucket),
          recordApproval(refs.auditBucket),
          this.tfStep(
            'apply',
            [
              'terraform -chdir=/workspace/stack init -input=false -no-color',
              'terraform -chdir=/workspace/stack apply -input=false -no-color tfplan',
            ].join('\n'),
            ['fetch-plan', 'record-approval'],
          ),
          // Staging-side stacks read the platform's outputs from its state: apply them again once it changed, so that
          // triggers move to what was just published (the new deploy bundle, a new account) without waiting for a push.
          { ...this.synth, waitFor: ['-'] },
          ...(stagingSide.length > 0 ? [this.tfStep('reapply-staging-side', loop(stagingSide, planAndApply()), ['apply', 'synth'])] : []),
        ],
        'write',
      ),
    });
  }
}

/** The GitHub token secrets: `write` (org admin, applies) and `read` (plans of pull requests). */
export function githubTokenSecrets(props: Pick<PlatformPipelineProps, 'githubTokenSecret' | 'githubReadTokenSecret'>): {
  write: string;
  read: string;
} {
  return { write: props.githubTokenSecret ?? 'c2c-github-token', read: props.githubReadTokenSecret ?? 'c2c-github-token-read' };
}

/** Stack names are folder names, each listed once, and the platform stack is production-side. */
function checkStacks(props: PlatformPipelineProps): void {
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
}

const PLAN_DIR = '/workspace/platform-plans';

function initPlan(extra: string): string {
  return [
    'terraform -chdir="cdktf.out/stacks/$$s" init -input=false -no-color',
    `terraform -chdir="cdktf.out/stacks/$$s" plan -input=false -no-color -lock-timeout=300s ${extra}`,
  ].join('\n  ');
}

function planAndApply(): string {
  return [initPlan('-out=tfplan'), 'terraform -chdir="cdktf.out/stacks/$$s" apply -input=false -no-color tfplan'].join('\n  ');
}

function loop(stacks: readonly string[], body: string): string {
  return `for s in ${stacks.join(' ')}; do\n  echo "== stack $$s"\n  ${body}\ndone`;
}

/** Each production-side stack with changes: its saved plan, shown as text, and packed with its configuration. */
function planProductionSide(stacks: readonly string[]): string {
  return `mkdir -p ${PLAN_DIR}\n${loop(
    stacks,
    [
      `code=0; ${initPlan('-detailed-exitcode -out=tfplan')} || code=$$?`,
      'if [ "$$code" = 1 ]; then exit 1; fi',
      'if [ "$$code" = 0 ]; then echo "no changes in $$s"; continue; fi',
      `terraform -chdir="cdktf.out/stacks/$$s" show -no-color tfplan > ${PLAN_DIR}/$$s.txt`,
      // The saved plan plus the configuration and lock file it was made from; providers are installed again.
      `tar -czf ${PLAN_DIR}/$$s.tgz --exclude=.terraform -C "cdktf.out/stacks/$$s" .`,
    ].join('\n  '),
  )}`;
}

function uploadProductionPlans(deployBucket: string): PipelineStep {
  return bashStep(
    'upload-production-plans',
    STEP_IMAGES.cloudSdk,
    [
      'set -euo pipefail',
      `for f in ${PLAN_DIR}/*.tgz; do`,
      '  [ -e "$$f" ] || continue',
      '  s=$$(basename "$$f" .tgz)',
      `  gsutil -q cp "${PLAN_DIR}/$$s.txt" "gs://${deployBucket}/${PLATFORM_PLAN_PREFIX}$$s/$COMMIT_SHA-$BUILD_ID.txt"`,
      `  gsutil -q cp "$$f" "gs://${deployBucket}/${PLATFORM_PLAN_PREFIX}$$s/$COMMIT_SHA-$BUILD_ID.tgz"`,
      'done',
    ].join('\n'),
    ['plan-production-side'],
  );
}

function fetchPlan(deployBucket: string): PipelineStep {
  return bashStep(
    'fetch-plan',
    STEP_IMAGES.cloudSdk,
    [
      'set -euo pipefail',
      `gsutil -q cp "gs://${deployBucket}/$_PLAN_OBJECT" /workspace/plan.tgz`,
      'mkdir -p /workspace/stack && tar -xzf /workspace/plan.tgz -C /workspace/stack',
    ].join('\n'),
    ['-'],
  );
}

/** Who approved, when, with which comment: Cloud Build's own record of this build, kept in the audit bucket. */
function recordApproval(auditBucket: string): PipelineStep {
  return bashStep(
    'record-approval',
    STEP_IMAGES.cloudSdk,
    [
      'set -euo pipefail',
      'gcloud builds describe "$BUILD_ID" --region="$LOCATION" --format=json > /workspace/build.json',
      `gsutil -q cp /workspace/build.json "gs://${auditBucket}/events/platform/$$(date -u +%Y%m%dT%H%M%SZ)-approval-$BUILD_ID.json"`,
    ].join('\n'),
    ['-'],
  );
}
