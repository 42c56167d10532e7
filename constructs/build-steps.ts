import { CloudbuildTriggerBuildStep } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { escapeTerraform } from './terraform-escape';

/**
 * Images the build steps run in, every one pinned by digest: a step runs with the build's credentials (or the
 * platform apply's), so a moved tag must never change what runs. docs/pipeline.md ("Step images") has the table, where
 * each digest comes from and how to check or refresh one (`docker buildx imagetools inspect IMAGE:TAG`); a test
 * refuses a step image without a digest.
 * - `deploy`: every other step that fetches the deploy CLI, runs it, uploads or fetches a plan, or runs a smoke test: one
 *   slim Node image (about 75 MB compressed against 1.1 GB for `node:20` and 1.1-1.4 GB for the Cloud SDK).
 * - `node`: `build.sh` and the platform pipeline's synth, unless the service names its own builder image; and the push
 *   build's staging deploy and production plan, which read the checkout with git (the plan verifies the commit's SSH
 *   signature: git and ssh-keygen are in this image, not in the slim one).
 * - `docker`: the image build and push; `cloudSdk`: only the platform pipeline's own steps (gsutil, gcloud).
 * - `terraform`: the platform pipeline's plan and apply steps.
 */
export const STEP_IMAGES = {
  deploy: 'node:20-slim@sha256:3d0f05455dea2c82e2f76e7e2543964c30f6b7d673fc1a83286736d44fe4c41c',
  node: 'node:20@sha256:a5e0ed56f2c20b9689e0f7dd498cac7e08d2a3a283e92d9304e7b9b83e3c6ff3',
  cloudSdk: 'gcr.io/google.com/cloudsdktool/cloud-sdk:slim@sha256:7805e8f25c698ac26606177ae77f1d68a14e6e276570bab4ecbb75de898cb4cb',
  docker: 'gcr.io/cloud-builders/docker@sha256:3d00b6c1a9b862621c30fc74d4f2abfc62bcbdee631ed3febd31e7edbdf6252c',
  terraform: 'hashicorp/terraform:1.9.8@sha256:18f9986038bbaf02cf49db9c09261c778161c51dcc7fb7e355ae8938459428cd',
} as const;

/** An image reference pinned by digest: `name[:tag]@sha256:<64 hex>`. */
export const PINNED_IMAGE = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/**
 * Every synthesized build's `options.substitution_option`: a build whose substitutions do not all match its steps
 * (one used and not defined, or defined and never used) fails before any step runs. Cloud Build's triggered builds
 * are ALLOW_LOOSE by default ("Substituting variable values",
 * https://cloud.google.com/build/docs/configuring-builds/substitute-variable-values); the builds ask for MUST_MATCH
 * so a renamed or dropped substitution is an error, not an empty string in a deploy command. The local executor
 * applies the same rule (lib/cloudbuild/substitute.ts `allowsLooseSubstitutions`, which also notes the API
 * reference's stronger wording for triggered builds).
 */
export const SUBSTITUTION_OPTION = 'MUST_MATCH';

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
 * A few lines of Node in the deploy image, with the metadata server's token and the JSON API: the deploy CLI, which
 * does every other transfer, is what is being fetched. Written without `$` (Cloud Build) and `${` (Terraform).
 */
export function fetchDeployStep(bucket: string, waitFor: readonly string[] = ['-']): PipelineStep {
  const script = [
    "const e=process.env,f=require('fs'),p=require('path');",
    `const out=e.C2C_DEPLOY_CLI||'${DEPLOY_CLI}';`,
    '(async()=>{',
    "const t=await fetch((e.C2C_METADATA_URL||'http://metadata.google.internal')+'/computeMetadata/v1/instance/service-accounts/default/token',",
    "{headers:{'Metadata-Flavor':'Google'},signal:AbortSignal.timeout(10000)}).then((r)=>r.json());",
    "const u=(e.C2C_STORAGE_URL||'https://storage.googleapis.com')+'/storage/v1/b/'+e.C2C_BUNDLE_BUCKET+'/o/'+encodeURIComponent(e.C2C_BUNDLE)",
    "+'?alt=media&generation='+e.C2C_BUNDLE_GENERATION;",
    "const r=await fetch(u,{headers:{authorization:'Bearer '+t.access_token},signal:AbortSignal.timeout(60000)});",
    "if(!r.ok)throw new Error('GET '+u+' answered '+r.status);",
    'const b=Buffer.from(await r.arrayBuffer());',
    "const h=require('crypto').createHash('sha256').update(b).digest('hex');",
    'const want=(/deploy-bundle-([0-9a-f]{64})[.]cjs/.exec(e.C2C_BUNDLE)||[])[1];',
    "if(h!==want)throw new Error(e.C2C_BUNDLE+' has SHA-256 '+h+', not the one in its name');",
    'f.mkdirSync(p.dirname(out),{recursive:true});f.writeFileSync(out,b);',
    "})().catch((x)=>{console.error('fetch-deploy: '+x.message);process.exit(1);});",
  ].join('');
  return {
    id: 'fetch-deploy',
    image: STEP_IMAGES.deploy,
    entrypoint: 'node',
    args: ['-e', script],
    env: [`C2C_BUNDLE_BUCKET=${bucket}`, 'C2C_BUNDLE=$_C2C_BUNDLE', 'C2C_BUNDLE_GENERATION=$_C2C_BUNDLE_GENERATION'],
    waitFor,
  };
}

/** A step that runs the fetched deploy CLI with `args` (each already escaped for Cloud Build). */
export function deployCliStep(id: string, args: readonly string[], waitFor: readonly string[], env?: readonly string[]): PipelineStep {
  return { id, image: STEP_IMAGES.deploy, entrypoint: 'node', args: [DEPLOY_CLI, ...args], waitFor, env };
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
