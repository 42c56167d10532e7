import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarathonApp } from '../../lib/marathon/render';
import { ServiceDefinition } from '../../lib/catalog/types';
import { repositoryOwnership } from '../../constructs/service-stack';
import { SECRET_ENV } from '../../constructs/build-pipeline';
import { fixtureFleet, lampApi } from '../fixtures/services';
import { identitiesOf, TerraformJson } from '../../constructs/reference-integrity';
import { platform, resources, stepsOf, SynthJson, synthFleet, tempWorkspace } from './helpers';
import { readTriggers } from '../../lib/cloudbuild/triggers';
import { prepareBuild } from '../../lib/cloudbuild/step-runner';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

const { stacks, manifest, fleet, outdir } = synthFleet(ws.app(), ws.bundle, fixtureFleet);
const lamp = stacks['service-lamp-api'];
const platformJson = stacks.platform;

/**
 * The address of the platform resource a literal names (its name, e-mail or id, as reference-integrity knows them):
 * a service stack names platform resources by literal, and is applied after the platform stack.
 */
function platformResource(literal: unknown): string {
  const text = String(literal);
  const found = identitiesOf([{ name: 'platform', json: platformJson as TerraformJson }]).find((id) =>
    id.match === 'exact' ? id.text === text : text.includes(id.text),
  );
  if (!found) throw new Error(`names no platform resource: ${text}`);
  return found.address;
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

it('triggers name the repository link and wait for it; the link waits for the GitHub repository and every seed file', () => {
  const link = only(lamp, 'google_cloudbuildv2_repository');
  const repo = only(lamp, 'github_repository');
  expect(link.r.remote_uri).toBe('https://github.com/acme-lighting/lamp-api.git');
  const files = Object.keys(lamp.resource.github_repository_file).map((k) => `github_repository_file.${k}`);
  expect(files.length).toBeGreaterThan(1);
  expect([...(link.r.depends_on as string[])].sort()).toEqual([`github_repository.${repo.key}`, ...files].sort());
  const linkId = `projects/${platform.project}/locations/${platform.region}/connections/github/repositories/lamp-api`;
  for (const name of ['lamp-api-push', 'lamp-api-pr', 'lamp-api-production', 'lamp-api-e2e']) {
    const t = trigger(lamp, name);
    expect(t.repository_event_config?.repository ?? t.source_to_build?.repository).toBe(linkId);
    expect(t.depends_on).toEqual([`google_cloudbuildv2_repository.${link.key}`]);
  }
});

it('every service stack depends on the platform stack; the platform comes first in the apply order', () => {
  for (const s of fixtureFleet) expect(manifest.stacks[`service-${s.name}`].dependencies).toEqual(['platform']);
  expect(manifest.stacks.platform.dependencies).toEqual([]);
  expect(fleet.order).toEqual(['platform', 'service-lamp-api', 'service-ledger', 'service-shopfront']);
});

it('names platform resources (accounts, topic, buckets) by what the platform stack declares, and holds no cross-stack reference', () => {
  const push = trigger(lamp, 'lamp-api-push');
  expect(platformResource(push.service_account)).toMatch(/^google_service_account\.[^.]+c2c-build[^.]*$/);
  expect(platformResource(trigger(lamp, 'lamp-api-production').pubsub_config?.topic)).toMatch(/^google_pubsub_topic\.deploy_plans-topic/);
  expect(platformJson.output).toEqual({
    'bundle-object': { value: expect.stringMatching(/^\$\{google_storage_bucket_object\.deploy_bundle_[0-9A-F]+\.name\}$/) },
    'bundle-generation': { value: expect.stringMatching(/^\$\{google_storage_bucket_object\.deploy_bundle_[0-9A-F]+\.generation\}$/) },
    'signers-object': { value: expect.stringMatching(/^\$\{google_storage_bucket_object\.deploy_allowed-signers_[0-9A-F]+\.name\}$/) },
    'signers-generation': {
      value: expect.stringMatching(/^\$\{google_storage_bucket_object\.deploy_allowed-signers_[0-9A-F]+\.generation\}$/),
    },
  });
  expect(Object.keys((lamp.data as Record<string, Record<string, unknown>>).terraform_remote_state)).toEqual(['platform-state']);
});

it('builds that reach Marathon or a service run in the private pool; the pull-request build stays in the default pool', () => {
  for (const name of ['lamp-api-push', 'lamp-api-production', 'lamp-api-e2e']) {
    expect(platformResource(trigger(lamp, name).build.options.worker_pool)).toMatch(/^google_cloudbuild_worker_pool\./);
  }
  expect(trigger(lamp, 'lamp-api-pr').build.options.worker_pool).toBeUndefined();
});

it('fetches the deploy bundle the platform published, by name and generation, and checks its SHA-256 from the name', () => {
  for (const name of ['lamp-api-push', 'lamp-api-production']) {
    const subs = trigger(lamp, name).substitutions!;
    // What the platform has published, read from its state (even when this stack is applied before the platform).
    expect(subs._C2C_BUNDLE).toBe('${data.terraform_remote_state.platform-state.outputs.bundle-object}');
    expect(subs._C2C_BUNDLE_GENERATION).toBe('${data.terraform_remote_state.platform-state.outputs.bundle-generation}');
  }
  const fetch = stepsOf(lamp, 'lamp-api-push').find((s) => s.id === 'fetch-deploy')!;
  expect(fetch.env).toEqual([
    `C2C_BUNDLE_BUCKET=${platform.bucketPrefix}-c2c-deploy`,
    'C2C_BUNDLE=$_C2C_BUNDLE',
    'C2C_BUNDLE_GENERATION=$_C2C_BUNDLE_GENERATION',
  ]);
  expect(platformResource(fetch.env![0].slice('C2C_BUNDLE_BUCKET='.length))).toMatch(/^google_storage_bucket\.deploy_bucket_[0-9A-F]+$/);
  expect(fetch.args[1]).toContain("'?alt=media&generation='+e.C2C_BUNDLE_GENERATION");
  expect(fetch.args[1]).toContain("if(h!==want)throw new Error(e.C2C_BUNDLE+' has SHA-256 '+h+', not the one in its name');");
  expect(JSON.stringify(lamp)).not.toContain(ws.bundle.sha256);
});

it('the push build tells the reviewers that its production plan waits once the plan is staged (webhook URL from Secret Manager)', () => {
  const steps = stepsOf(lamp, 'lamp-api-push');
  const notify = steps.find((s) => s.id === 'notify-plan')!;
  expect(notify.wait_for).toEqual(['stage-plan']);
  expect(notify.args.slice(1)).toEqual(['notify', '--plan', '/workspace/production.plan.json']);
  expect(notify.secret_env).toEqual(['C2C_NOTIFY_WEBHOOK']);
  expect(steps.find((s) => s.id === 'plan-production')!.args[1]).not.toContain('--notify');
});

it('injects each Marathon credential only into the build and the step that needs it, through availableSecrets', () => {
  const secretsOf = (name: string) =>
    (trigger(lamp, name).build.available_secrets?.secret_manager ?? []).map((x) => [
      x.env,
      platformResource(x.version_name),
      x.version_name.endsWith('/versions/latest'),
    ]);
  expect(secretsOf('lamp-api-push')).toEqual([
    [SECRET_ENV.staging, expect.stringMatching(/^google_secret_manager_secret\.marathon-credentials_c2c-marathon-staging_/), true],
    [
      SECRET_ENV.productionRead,
      expect.stringMatching(/^google_secret_manager_secret\.marathon-credentials_c2c-marathon-production-read_/),
      true,
    ],
    ['C2C_NOTIFY_WEBHOOK', expect.stringMatching(/^google_secret_manager_secret\.notifier_webhook_[0-9A-F]+$/), true],
  ]);
  expect(secretsOf('lamp-api-production')).toEqual([
    [SECRET_ENV.production, expect.stringMatching(/^google_secret_manager_secret\.marathon-credentials_c2c-marathon-production_/), true],
  ]);
  expect(secretsOf('lamp-api-pr')).toEqual([]);
  expect(secretsOf('lamp-api-e2e')).toEqual([]);
  const withSecret = (name: string) =>
    stepsOf(lamp, name)
      .filter((s) => s.secret_env)
      .map((s) => [s.id, s.secret_env]);
  expect(withSecret('lamp-api-push')).toEqual([
    ['deploy-staging', [SECRET_ENV.staging]],
    ['plan-production', [SECRET_ENV.productionRead]],
    ['notify-plan', ['C2C_NOTIFY_WEBHOOK']],
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
    // B names A's link by its id and is applied after A's stack.
    expect(trigger(outB, 'mono-b-push').repository_event_config?.repository).toBe(
      `projects/${platform.project}/locations/${platform.region}/connections/github/repositories/mono`,
    );
    expect(Object.keys(mono.stacks['service-mono-a'].resource.google_cloudbuildv2_repository)).toHaveLength(1);
    expect(mono.manifest.stacks['service-mono-b'].dependencies.sort()).toEqual(['platform', 'service-mono-a']);
    expect(mono.fleet.order).toEqual(['platform', 'service-mono-a', 'service-mono-b']);
  });
});

it("every trigger's build asks for MUST_MATCH and passes that check: each substitution it defines is used, each it uses defined", () => {
  const triggers = readTriggers(outdir);
  expect(triggers.length).toBeGreaterThan(5);
  for (const t of triggers) {
    expect([t.name, t.build.options?.substitutionOption]).toEqual([t.name, 'MUST_MATCH']);
    const context = { projectId: t.project, location: t.location, buildId: 'b', commitSha: '0'.repeat(40), triggerName: t.name };
    expect(() => prepareBuild(t.build, { context, triggered: true })).not.toThrow();
  }
});
