// The trigger reader over a hand-written synthesized app: two stacks, a cross-stack reference, Terraform escapes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { C2CError } from '../../../lib/errors';
import { findTrigger, readTriggers } from '../../../lib/cloudbuild/triggers';

const dir = mkdtempSync(join(tmpdir(), 'c2c-triggers-'));
const remote = (name: string) => `\${data.terraform_remote_state.cross-stack-reference-input-platform.outputs.${name}}`;

beforeAll(() => {
  const write = (stack: string, doc: unknown) => {
    mkdirSync(join(dir, 'stacks', stack), { recursive: true });
    writeFileSync(join(dir, 'stacks', stack, 'cdk.tf.json'), JSON.stringify(doc));
  };
  write('platform', {
    resource: {
      google_storage_bucket: { deploy_A1: { name: 'acme-deploy' } },
      google_secret_manager_secret: { tok_B2: { project: 'acme', secret_id: 'c2c-token' } },
      google_storage_bucket_object: { bundle_C3: { name: 'deploy/b.cjs', bucket: '${google_storage_bucket.deploy_A1.name}' } },
    },
    output: {
      'cross-stack-output-bucket': { value: '${google_storage_bucket.deploy_A1.name}' },
      'bundle-object': { value: '${google_storage_bucket_object.bundle_C3.name}' },
      'cross-stack-output-secret': { value: '${google_secret_manager_secret.tok_B2.id}' },
      'cross-stack-output-generation': { value: '${google_storage_bucket_object.bundle_C3.generation}' },
    },
  });
  write('service-a', {
    resource: {
      google_cloudbuild_trigger: {
        push_1: {
          name: 'a-push',
          project: 'acme',
          location: 'europe-west1',
          repository_event_config: { repository: 'r', push: { branch: '^main$' } },
          substitutions: {
            _GEN: remote('cross-stack-output-generation'),
            _OBJ: '${data.terraform_remote_state.platform-state.outputs.bundle-object}',
          },
          build: {
            step: [
              {
                id: 's',
                name: 'node:20',
                args: [`gs://${remote('cross-stack-output-bucket')}/x`, 'echo $${HOME} %%{x} $$v'],
                wait_for: ['-'],
              },
            ],
            available_secrets: { secret_manager: [{ env: 'T', version_name: `${remote('cross-stack-output-secret')}/versions/latest` }] },
            options: { substitution_option: 'ALLOW_LOOSE' },
          },
        },
        pr_2: { name: 'a-pr', repository_event_config: { pull_request: { branch: '^main$' } }, build: { step: [{ name: 'node:20' }] } },
        prod_3: {
          name: 'a-production',
          pubsub_config: { topic: 't' },
          approval_config: { approval_required: true },
          build: { step: [{ name: 'node:20' }] },
        },
        e2e_4: { name: 'a-e2e', source_to_build: { ref: 'refs/heads/main' }, build: { step: [{ name: 'node:20' }] } },
      },
    },
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('reads each trigger with its stack and event', () => {
  expect(readTriggers(dir).map((t) => [t.name, t.stack, t.event])).toEqual([
    ['a-push', 'service-a', 'push'],
    ['a-pr', 'service-a', 'pull request'],
    ['a-production', 'service-a', 'manual approval'],
    ['a-e2e', 'service-a', 'scheduled'],
  ]);
});

it('resolves references across stacks, builds documented ids, and undoes Terraform escapes', () => {
  const t = findTrigger(dir, 'a-push');
  expect(t.build.steps[0].args).toEqual(['gs://acme-deploy/x', 'echo ${HOME} %{x} $$v']);
  expect(t.build.availableSecrets!.secretManager![0].versionName).toBe('projects/acme/secrets/c2c-token/versions/latest');
  expect(t.build.options!.substitutionOption).toBe('ALLOW_LOOSE');
  expect([t.project, t.location, t.branch]).toEqual(['acme', 'europe-west1', '^main$']);
});

it('resolves a remote state declared by hand through the output it names', () => {
  expect(findTrigger(dir, 'a-push').build.substitutions!._OBJ).toBe('deploy/b.cjs');
});

it('marks what only an apply knows as unresolved', () => {
  const t = findTrigger(dir, 'a-push');
  expect(t.build.substitutions!._GEN).toMatch(/^<unresolved /);
  expect(t.unresolved).toEqual(['data.terraform_remote_state.cross-stack-reference-input-platform.outputs.cross-stack-output-generation']);
});

it('names the triggers there are when one is not found', () => {
  expect(() => findTrigger(dir, 'nope')).toThrow(C2CError);
  expect(() => findTrigger(dir, 'nope')).toThrow("no synthesized trigger is named 'nope'");
});
