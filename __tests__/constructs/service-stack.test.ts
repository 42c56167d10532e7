import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarathonApp } from '../../lib/marathon/render';
import { ServiceDefinition } from '../../lib/catalog/types';
import { repositoryOwnership } from '../../constructs/service-stack';
import { SECRET_ENV } from '../../constructs/build-pipeline';
import { fixtureFleet, lampApi } from '../fixtures/services';
import { platform, resources, stepsOf, SynthJson, synthFleet, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

const { stacks, manifest, fleet, outdir } = synthFleet(ws.app(), ws.bundle, fixtureFleet);
const lamp = stacks['service-lamp-api'];
const platformJson = stacks.platform;
const REMOTE = 'data.terraform_remote_state.cross-stack-reference-input-platform.outputs.';

/** `ref` with each platform output it reads (`${data.terraform_remote_state...outputs.X}`) replaced by that output's value. */
function platformOutput(ref: unknown): string {
  const outputs = platformJson.output as Record<string, { value: string }>;
  const re = /\$\{data\.terraform_remote_state\.cross-stack-reference-input-platform\.outputs\.([^}]+)\}/g;
  if (!re.test(String(ref))) throw new Error(`not a reference to a platform output: ${String(ref)}`);
  return String(ref).replace(re, (_, name: string) => String(outputs[name].value));
}
const only = (json: SynthJson, type: string) => {
  const all = Object.entries(json.resource[type] ?? {});
  expect(all).toHaveLength(1);
  return { key: all[0][0], r: all[0][1] };
};
const trigger = (json: SynthJson, name: string) =>
  resources(json, 'google_cloudbuild_trigger').find((t) => t.name === name) as Record<string, never> & {
    build: { options: Record<string, unknown>; available_secrets?: { secret_manager: { env: string; version_name: string }[] } };
    substitutions?: Record<string, string>;
    repository_event_config?: { repository: string };
    source_to_build?: { repository: string };
    pubsub_config?: { topic: string };
  };

it('matches the snapshot (every resource of one fixture service)', () => {
  expect(lamp).toMatchSnapshot();
});

it('configures the Google and GitHub providers and the GCS backend', () => {
  expect((lamp.provider as Record<string, unknown[]>).google[0]).toMatchObject({ project: platform.project, region: platform.region });
  expect((lamp.provider as Record<string, unknown[]>).github[0]).toMatchObject({ owner: platform.githubOwner });
  expect((lamp.terraform as { backend: unknown }).backend).toEqual({
    gcs: { bucket: platform.stateBucket, prefix: 'stacks/service-lamp-api' },
  });
});

it('writes both Marathon templates under the stack folder', () => {
  for (const env of ['staging', 'production'] as const) {
    const file = join(outdir, 'stacks', 'service-lamp-api', 'marathon', `lamp-api.${env}.json`);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(
      renderMarathonApp(lampApi, env, { image: `${platform.registryHost}/lamp-api:latest` }),
    );
  }
});

it("seeds README.md over auto_init's own README (overwrite_on_create), and never overwrites any other file", () => {
  const files = resources(lamp, 'github_repository_file').map((f) => [f.file, f.overwrite_on_create]);
  expect(files).toEqual(
    expect.arrayContaining([
      ['README.md', true],
      ['build.sh', false],
    ]),
  );
  expect(only(lamp, 'github_repository').r.auto_init).toBe(true);
});

it('triggers name the repository link, and the link names the GitHub repository, by reference', () => {
  const link = only(lamp, 'google_cloudbuildv2_repository');
  const repo = only(lamp, 'github_repository');
  expect(link.r.remote_uri).toBe(`\${github_repository.${repo.key}.http_clone_url}`);
  const linkId = `\${google_cloudbuildv2_repository.${link.key}.id}`;
  expect(trigger(lamp, 'lamp-api-push').repository_event_config?.repository).toBe(linkId);
  expect(trigger(lamp, 'lamp-api-pr').repository_event_config?.repository).toBe(linkId);
  expect(trigger(lamp, 'lamp-api-production').source_to_build?.repository).toBe(linkId);
  expect(trigger(lamp, 'lamp-api-e2e').source_to_build?.repository).toBe(linkId);
});

it('every service stack depends on the platform stack; the platform comes first in the apply order', () => {
  for (const s of fixtureFleet) expect(manifest.stacks[`service-${s.name}`].dependencies).toEqual(['platform']);
  expect(manifest.stacks.platform.dependencies).toEqual([]);
  expect(fleet.order).toEqual(['platform', 'service-lamp-api', 'service-ledger', 'service-shopfront']);
});

it('uses platform resources through the platform stack outputs (accounts, topic, buckets)', () => {
  const push = trigger(lamp, 'lamp-api-push');
  expect(push.service_account).toMatch(new RegExp(`^projects/${platform.project}/serviceAccounts/\\$\\{${REMOTE.replace(/\./g, '\\.')}`));
  expect(platformOutput(String(push.service_account).replace(/^projects\/[^/]+\/serviceAccounts\//, ''))).toMatch(
    /^\$\{google_service_account\.[^.]+c2c-build[^.]*\.email\}$/,
  );
  expect(platformOutput(trigger(lamp, 'lamp-api-production').pubsub_config?.topic)).toMatch(/^\$\{google_pubsub_topic\.[^.]+\.id\}$/);
});

it('builds that reach Marathon or a service run in the private pool; the pull-request build stays in the default pool', () => {
  for (const name of ['lamp-api-push', 'lamp-api-production', 'lamp-api-e2e']) {
    expect(platformOutput(trigger(lamp, name).build.options.worker_pool)).toMatch(/^\$\{google_cloudbuild_worker_pool\.[^.]+\.id\}$/);
  }
  expect(trigger(lamp, 'lamp-api-pr').build.options.worker_pool).toBeUndefined();
});

it('fetches the deploy bundle the platform published, by name and generation, and checks its SHA-256 from the name', () => {
  for (const name of ['lamp-api-push', 'lamp-api-production']) {
    const subs = trigger(lamp, name).substitutions!;
    expect(platformOutput(subs._C2C_BUNDLE)).toMatch(/^\$\{google_storage_bucket_object\.[^.]+\.name\}$/);
    expect(platformOutput(subs._C2C_BUNDLE_GENERATION)).toMatch(/^\$\{google_storage_bucket_object\.[^.]+\.generation\}$/);
  }
  const fetch = stepsOf(lamp, 'lamp-api-push').find((s) => s.id === 'fetch-deploy')!;
  expect(fetch.env).toEqual([
    expect.stringMatching(/^C2C_BUNDLE_BUCKET=\$\{data\.terraform_remote_state\.[^}]+\}$/),
    'C2C_BUNDLE=$_C2C_BUNDLE',
    'C2C_BUNDLE_GENERATION=$_C2C_BUNDLE_GENERATION',
  ]);
  // The bucket is a reference Terraform fills in, not an escaped `$${...}` that would reach the build as text.
  expect(platformOutput(fetch.env![0].slice('C2C_BUNDLE_BUCKET='.length))).toMatch(
    /^\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}$/,
  );
  expect(fetch.args[1]).toContain("'?alt=media&generation='+e.C2C_BUNDLE_GENERATION");
  expect(fetch.args[1]).toContain("if(h!==want)throw new Error(e.C2C_BUNDLE+' has SHA-256 '+h+', not the one in its name');");
  expect(JSON.stringify(lamp)).not.toContain(ws.bundle.sha256);
});

it('the push build tells the reviewers that its production plan waits (deploy plan --notify, webhook URL from Secret Manager)', () => {
  const plan = stepsOf(lamp, 'lamp-api-push').find((s) => s.id === 'plan-production')!;
  expect(plan.args[1]).toMatch(/--out \/workspace\/production\.plan\.json --notify "\$\$@"$/);
});

it('injects each Marathon credential only into the build and the step that needs it, through availableSecrets', () => {
  const secretsOf = (name: string) =>
    (trigger(lamp, name).build.available_secrets?.secret_manager ?? []).map((x) => [x.env, platformOutput(x.version_name)]);
  expect(secretsOf('lamp-api-push')).toEqual([
    [SECRET_ENV.staging, expect.stringMatching(/^\$\{google_secret_manager_secret\.[^.]*staging[^.]*\.id\}\/versions\/latest$/)],
    [
      SECRET_ENV.productionRead,
      expect.stringMatching(/^\$\{google_secret_manager_secret\.[^.]*production-read[^.]*\.id\}\/versions\/latest$/),
    ],
    ['C2C_NOTIFY_WEBHOOK', expect.stringMatching(/^\$\{google_secret_manager_secret\.notifier_webhook_[0-9A-F]+\.id\}\/versions\/latest$/)],
  ]);
  expect(secretsOf('lamp-api-production')).toEqual([
    [SECRET_ENV.production, expect.stringMatching(/^\$\{google_secret_manager_secret\.[^.]*production[^.]*\.id\}\/versions\/latest$/)],
  ]);
  expect(secretsOf('lamp-api-pr')).toEqual([]);
  expect(secretsOf('lamp-api-e2e')).toEqual([]);
  const withSecret = (name: string) =>
    stepsOf(lamp, name)
      .filter((s) => s.secret_env)
      .map((s) => [s.id, s.secret_env]);
  expect(withSecret('lamp-api-push')).toEqual([
    ['deploy-staging', [SECRET_ENV.staging]],
    ['plan-production', [SECRET_ENV.productionRead, 'C2C_NOTIFY_WEBHOOK']],
  ]);
  expect(withSecret('lamp-api-production')).toEqual([['apply-production', [SECRET_ENV.production]]]);
  for (const name of ['lamp-api-push', 'lamp-api-production']) {
    const exposed = [
      ...Object.keys(trigger(lamp, name).substitutions ?? {}),
      ...stepsOf(lamp, name).flatMap((s) => (s.env ?? []).map((e) => e.split('=')[0])),
    ];
    expect(exposed.filter((k) => /MARATHON_(CREDENTIALS|TOKEN)|SECRET|WEBHOOK/.test(k))).toEqual([]);
  }
});

describe('monorepo: services sharing a repository', () => {
  const a: ServiceDefinition = { ...lampApi, name: 'mono-a', repo: 'acme-lighting/mono', paths: ['a/**'] };
  const b: ServiceDefinition = { ...lampApi, name: 'mono-b', repo: 'acme-lighting/mono', paths: ['b/**'] };

  it("the first service by name declares the repository, requiring every sharing service's check; the others refer to its link", () => {
    expect(repositoryOwnership(b, [b, a], platform.project)).toEqual({
      manage: false,
      owner: 'mono-a',
      requiredChecks: ['mono-a-pr (acme-lighting-platform)', 'mono-b-pr (acme-lighting-platform)'],
    });
    const mono = synthFleet(ws.app(), ws.bundle, [b, a]);
    const outA = mono.stacks['service-mono-a'];
    const outB = mono.stacks['service-mono-b'];
    expect(only(outA, 'github_branch_protection').r.required_status_checks).toEqual([
      { strict: true, contexts: ['mono-a-pr (acme-lighting-platform)', 'mono-b-pr (acme-lighting-platform)'] },
    ]);
    expect(outB.resource.github_repository).toBeUndefined();
    expect(outB.resource.google_cloudbuildv2_repository).toBeUndefined();
    expect(trigger(outB, 'mono-b-push').repository_event_config?.repository).toMatch(
      /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-service-mono-a\.outputs\.[^}]+\}$/,
    );
    expect(mono.manifest.stacks['service-mono-b'].dependencies.sort()).toEqual(['platform', 'service-mono-a']);
    expect(mono.fleet.order).toEqual(['platform', 'service-mono-a', 'service-mono-b']);
  });
});
