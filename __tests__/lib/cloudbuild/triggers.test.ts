// The trigger reader over a hand-written synthesized app: two stacks, a cross-stack reference, Terraform escapes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { C2CError } from '../../../lib/errors';
import { findTrigger, readInlineObjects, readNotifications, readTriggers } from '../../../lib/cloudbuild/triggers';

const dir = mkdtempSync(join(tmpdir(), 'c2c-triggers-'));
const remote = (name: string) => `\${data.terraform_remote_state.cross-stack-reference-input-platform.outputs.${name}}`;

beforeAll(() => {
  const write = (stack: string, doc: unknown) => {
    mkdirSync(join(dir, 'stacks', stack), { recursive: true });
    writeFileSync(join(dir, 'stacks', stack, 'cdk.tf.json'), JSON.stringify(doc));
  };
  write('platform', {
    provider: { google: [{ project: 'acme', region: 'europe-west1' }] },
    resource: {
      google_pubsub_topic: { plans_D4: { name: 'c2c-plans' } },
      google_storage_notification: {
        n_E5: {
          bucket: '${google_storage_bucket.deploy_A1.name}',
          topic: '${google_pubsub_topic.plans_D4.id}',
          event_types: ['OBJECT_FINALIZE'],
        },
      },
      google_storage_bucket: { deploy_A1: { name: 'acme-deploy' } },
      google_secret_manager_secret: { tok_B2: { project: 'acme', secret_id: 'c2c-token' } },
      google_storage_bucket_object: {
        bundle_C3: { name: 'deploy/b.cjs', bucket: '${google_storage_bucket.deploy_A1.name}' },
        signers_F6: {
          name: 'security/s',
          bucket: '${google_storage_bucket.deploy_A1.name}',
          content: 'a $${b}\n',
          content_type: 'text/plain',
        },
        unused_G7: { name: 'notes', bucket: '${google_storage_bucket.deploy_A1.name}', content: 'nobody reads my generation' },
      },
    },
    output: {
      'cross-stack-output-bucket': { value: '${google_storage_bucket.deploy_A1.name}' },
      'bundle-object': { value: '${google_storage_bucket_object.bundle_C3.name}' },
      'cross-stack-output-secret': { value: '${google_secret_manager_secret.tok_B2.id}' },
      'cross-stack-output-generation': { value: '${google_storage_bucket_object.bundle_C3.generation}' },
      'signers-generation': { value: '${google_storage_bucket_object.signers_F6.generation}' },
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
                env: ['SIGNERS=gs://x/s#${data.terraform_remote_state.platform-state.outputs.signers-generation}'],
              },
            ],
            available_secrets: { secret_manager: [{ env: 'T', version_name: `${remote('cross-stack-output-secret')}/versions/latest` }] },
            options: { substitution_option: 'ALLOW_LOOSE' },
          },
        },
        pr_2: { name: 'a-pr', repository_event_config: { pull_request: { branch: '^main$' } }, build: { step: [{ name: 'node:20' }] } },
        prod_3: {
          name: 'a-production',
          pubsub_config: { topic: 'projects/acme/topics/c2c-plans' },
          filter: '_PLAN.matches("^plans/a/[^/]+$")',
          substitutions: { _PLAN: '$(body.message.attributes.objectId)' },
          approval_config: { approval_required: true },
          build: { step: [{ name: 'node:20' }] },
        },
        e2e_4: { name: 'a-e2e', source_to_build: { ref: 'refs/heads/main' }, build: { step: [{ name: 'node:20' }] } },
        smoke_5: {
          name: 'a-smoke-staging',
          pubsub_config: { topic: 'projects/acme/topics/c2c-plans' },
          filter: '_OBJECT.matches("^staged/a/[^/]+$")',
          substitutions: { _OBJECT: '$(body.message.attributes.objectId)' },
          build: { step: [{ name: 'node:20' }] },
        },
        approve_6: {
          name: 'a-manual',
          source_to_build: { ref: 'refs/heads/main' },
          approval_config: { approval_required: true },
          build: { step: [{ name: 'node:20' }] },
        },
      },
    },
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('reads each trigger with its stack and event', () => {
  expect(readTriggers(dir).map((t) => [t.name, t.stack, t.event])).toEqual([
    ['a-push', 'service-a', 'push'],
    ['a-pr', 'service-a', 'pull request'],
    ['a-production', 'service-a', 'storage object, then approval'],
    ['a-e2e', 'service-a', 'scheduled'],
    ['a-smoke-staging', 'service-a', 'storage object'],
    ['a-manual', 'service-a', 'manual approval'],
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
  expect(t.unresolved).toEqual([
    'data.terraform_remote_state.cross-stack-reference-input-platform.outputs.cross-stack-output-generation',
    'data.terraform_remote_state.platform-state.outputs.signers-generation',
  ]);
});

it('names the triggers there are when one is not found', () => {
  expect(() => findTrigger(dir, 'nope')).toThrow(C2CError);
  expect(() => findTrigger(dir, 'nope')).toThrow("no synthesized trigger is named 'nope'");
});

it("reads the buckets' notifications, a topic's id in its provider's project", () => {
  expect(readNotifications(dir)).toEqual([
    { bucket: 'acme-deploy', topic: 'projects/acme/topics/c2c-plans', eventTypes: ['OBJECT_FINALIZE'] },
  ]);
});

it("reads a Pub/Sub trigger's topic, filter and approval", () => {
  const t = findTrigger(dir, 'a-production');
  expect([t.pubsub, t.approvalRequired]).toEqual([
    { topic: 'projects/acme/topics/c2c-plans', filter: '_PLAN.matches("^plans/a/[^/]+$")' },
    true,
  ]);
  expect(findTrigger(dir, 'a-push').pubsub).toBeUndefined();
});

it('lists the inline objects whose generation is referred to, and resolves that generation once applied', () => {
  const objects = readInlineObjects(dir);
  expect(objects).toEqual([
    {
      address: 'google_storage_bucket_object.signers_F6',
      bucket: 'acme-deploy',
      name: 'security/s',
      content: 'a ${b}\n',
      contentType: 'text/plain',
    },
  ]);
  expect(findTrigger(dir, 'a-push').build.steps[0].env).toEqual([
    'SIGNERS=gs://x/s#<unresolved data.terraform_remote_state.platform-state.outputs.signers-generation>',
  ]);
  const applied = readTriggers(dir, new Map([['google_storage_bucket_object.signers_F6.generation', '17']]));
  const push = applied.find((t) => t.name === 'a-push')!;
  expect(push.build.steps[0].env).toEqual(['SIGNERS=gs://x/s#17']);
  expect(push.unresolved).toEqual([
    'data.terraform_remote_state.cross-stack-reference-input-platform.outputs.cross-stack-output-generation',
  ]);
});
