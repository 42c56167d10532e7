// The platform pipeline's synth, run with only its step's env, reproduces the first synth byte for byte: the first
// synth (as a person runs `cdktf deploy` with their settings), then the synth step's `env` read from what it wrote,
// then synth again with exactly that env, and every file compared.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { synthesize } from '../constructs/synth';
import { findRepoRoot } from '../constructs/settings';
import { serviceDefinitions } from '../services';

let root: string;
beforeAll(() => {
  // A checkout as the build has it after `npm ci`: the seed templates and a deploy bundle (npm run synth builds it).
  root = mkdtempSync(join(tmpdir(), 'c2c-synth-env-'));
  cpSync(join(findRepoRoot(__dirname), 'templates', 'service-repo'), join(root, 'templates', 'service-repo'), { recursive: true });
  mkdirSync(join(root, 'dist'));
  writeFileSync(join(root, 'dist', 'deploy-bundle.cjs'), "console.log('deploy');\n");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir`, relative path -> bytes. */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** The `env` of a platform trigger's `synth` step as the step's process gets it (Terraform, then Cloud Build, unescaped). */
function synthStepEnv(outdir: string, trigger: string): NodeJS.ProcessEnv {
  const json = JSON.parse(readFileSync(join(outdir, 'stacks', 'platform', 'cdk.tf.json'), 'utf8')) as {
    resource: { google_cloudbuild_trigger: Record<string, { name: string; build: { step: { id: string; env?: string[] }[] } }> };
  };
  const t = Object.values(json.resource.google_cloudbuild_trigger).find((x) => x.name === trigger)!;
  const step = t.build.step.find((s) => s.id === 'synth')!;
  const env: NodeJS.ProcessEnv = {};
  for (const entry of step.env ?? []) {
    // No substitution or interpolation may be left: Cloud Build would change the value.
    const value = entry.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
    expect(value.replace(/\$\$/g, '')).not.toMatch(/\$/);
    const text = value.replace(/\$\$/g, '$');
    const at = text.indexOf('=');
    env[text.slice(0, at)] = text.slice(at + 1);
  }
  return env;
}

function reproduce(firstEnv: NodeJS.ProcessEnv): void {
  const first = join(root, 'first');
  const again = join(root, 'again');
  rmSync(first, { recursive: true, force: true });
  rmSync(again, { recursive: true, force: true });
  synthesize(firstEnv, { root, outdir: first });
  for (const trigger of ['platform-pr', 'platform-push', 'platform-apply']) {
    const env = synthStepEnv(first, trigger);
    rmSync(again, { recursive: true, force: true });
    synthesize(env, { root, outdir: again });
    const a = files(first);
    const b = files(again);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [path, bytes] of a) expect([path, b.get(path)!.equals(bytes)]).toEqual([path, true]);
  }
}

it('a real project with every optional setting set: the same bytes', () => {
  const approvers = [...new Set(serviceDefinitions.flatMap((s) => s.approvers ?? []))];
  reproduce({
    C2C_GCP_PROJECT: 'acme-prod-7',
    C2C_GCP_REGION: 'europe-west4',
    C2C_GITHUB_OWNER: 'acme-lighting',
    C2C_REGISTRY_HOST: 'registry.prod.internal:5000',
    C2C_BUCKET_PREFIX: 'acme-p7',
    C2C_STATE_BUCKET: 'acme-p7-state',
    MARATHON_URL_STAGING: 'https://marathon.staging.acme.internal',
    MARATHON_URL_PRODUCTION: 'https://marathon.production.acme.internal',
    C2C_CLOUDBUILD_CONNECTION: 'gh-acme',
    C2C_PLATFORM_REPO: 'acme-lighting/platform',
    C2C_CLUSTER_MEMBERS: 'serviceAccount:mesos@acme-prod-7.iam.gserviceaccount.com',
    C2C_IMAGE_READERS: 'group:qa@acme.example',
    C2C_AUDIT_READERS: 'group:sre@acme.example,user:cto@acme.example',
    C2C_PLATFORM_APPROVERS: 'group:platform@acme.example',
    C2C_APPROVERS: JSON.stringify(Object.fromEntries(approvers.map((a) => [a, [a.replace('acme-lighting.example', 'acme.example')]]))),
    C2C_POOL_NETWORK: 'projects/acme-prod-7/global/networks/cluster',
    C2C_POOL_DNS_SUFFIXES: 'acme.internal.',
    C2C_POOL_EXISTING_RANGES: 'google-managed-services-default',
    C2C_POOL_MACHINE_TYPE: 'e2-standard-4',
    C2C_BUILD_MACHINE_TYPE: 'E2_HIGHCPU_8',
    C2C_GITHUB_PLAN: 'team',
    C2C_NOTIFIER: 'googlechat',
    C2C_REMIND_AFTER_MINUTES: '45',
    C2C_REMIND_EVERY_MINUTES: '30',
  });
});

it('the example fleet (no project named) stays the example fleet', () => {
  reproduce({});
});
