import { CloudbuildTriggerBuildStep } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { escapeTerraform } from './terraform-escape';

/** Images the build steps run in. */
export const STEP_IMAGES = {
  node: 'node:20',
  cloudSdk: 'gcr.io/google.com/cloudsdktool/cloud-sdk:slim',
  docker: 'gcr.io/cloud-builders/docker',
} as const;

/** Where the fetched deploy CLI lives inside a build's workspace. */
export const DEPLOY_CLI = '/workspace/.c2c/deploy.cjs';

/** One Cloud Build step, as the constructs write it. */
export interface PipelineStep {
  /** Step id; other steps name it in `waitFor`. */
  readonly id: string;
  /** Image the step runs in. */
  readonly image: string;
  /** @default - the image's entrypoint */
  readonly entrypoint?: string;
  /** Arguments, already escaped for Cloud Build (`$$` for a literal `$`). */
  readonly args: readonly string[];
  /** `NAME=value` pairs. @default [] */
  readonly env?: readonly string[];
  /** Names of the build's `availableSecrets` this step reads. @default [] */
  readonly secretEnv?: readonly string[];
  /**
   * Ids of the steps this one waits for; `['-']` starts it at once. Steps without `waitFor` wait for every step
   * before them (Cloud Build's rule), so every step here says what it depends on.
   * @default ['-']
   */
  readonly waitFor?: readonly string[];
}

/** The provider's shape of a step, with every string escaped for Terraform. */
export function toTriggerStep(step: PipelineStep): CloudbuildTriggerBuildStep {
  return {
    id: step.id,
    name: step.image,
    ...(step.entrypoint !== undefined ? { entrypoint: step.entrypoint } : {}),
    args: step.args.map(escapeTerraform),
    ...(step.env && step.env.length > 0 ? { env: step.env.map(escapeTerraform) } : {}),
    ...(step.secretEnv && step.secretEnv.length > 0 ? { secretEnv: [...step.secretEnv] } : {}),
    waitFor: [...(step.waitFor ?? ['-'])],
  };
}

/** A step that runs a bash script (already escaped for Cloud Build). */
export function bashStep(id: string, image: string, script: string, waitFor: readonly string[], env?: readonly string[]): PipelineStep {
  return { id, image, entrypoint: 'bash', args: ['-c', script], waitFor, env };
}

/**
 * Downloads the deploy CLI bundle named by the trigger's `_C2C_BUNDLE` (its object name, which holds its SHA-256) at
 * generation `_C2C_BUNDLE_GENERATION` from `bucket`, and refuses to go on unless the bytes hash to the name's SHA-256.
 */
export function fetchDeployStep(bucket: string, waitFor: readonly string[] = ['-']): PipelineStep {
  return bashStep(
    'fetch-deploy',
    STEP_IMAGES.cloudSdk,
    [
      'set -euo pipefail',
      'mkdir -p /workspace/.c2c',
      `gsutil -q cp "gs://${bucket}/$_C2C_BUNDLE#$_C2C_BUNDLE_GENERATION" ${DEPLOY_CLI}`,
      'name="$_C2C_BUNDLE"; sha="$${name##*deploy-bundle-}"; sha="$${sha%.cjs}"',
      `echo "$$sha  ${DEPLOY_CLI}" | sha256sum -c -`,
    ].join('\n'),
    waitFor,
  );
}

/**
 * Problems with a list of steps: duplicate ids, and `waitFor` naming a step that is not before it (Cloud Build would
 * reject the build when it is started, long after synthesis).
 */
export function stepProblems(steps: readonly PipelineStep[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const step of steps) {
    if (seen.has(step.id)) out.push(`step id '${step.id}' is used twice; step ids must be unique`);
    for (const dep of step.waitFor ?? ['-']) {
      if (dep !== '-' && !seen.has(dep))
        out.push(`step '${step.id}' waits for '${dep}', which is not an earlier step; add it first or fix the id`);
    }
    seen.add(step.id);
  }
  return out;
}
