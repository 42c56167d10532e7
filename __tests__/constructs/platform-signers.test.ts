// Issue 20 item 9: on the cloud path the allowed signers come from the platform, never from the service repository's
// checkout (which its authors can edit). The whole app synthesized: the platform stack publishes the list in the deploy
// bucket (named by its hash), the service stacks read its name and generation from the platform's state, and the
// plan and production steps verify against exactly that object.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlatformSigners } from '../../constructs/deploy-bucket';
import { addFleet } from '../../constructs/fleet';
import { platformNames, SERVICE_ACCOUNT_IDS } from '../../constructs/naming';
import { pipelineSettingsFromEnv } from '../../constructs/settings';
import { readSynthesizedApp } from '../../constructs/reference-integrity';
import { platformSignersObject } from '../../lib/gate/platform-signers';
import { fixtureFleet } from '../fixtures/services';
import { platform, resources, stepsOf, SynthJson, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

const root = join(__dirname, '../..');
const signers = loadPlatformSigners(root);
const app = ws.app();
addFleet(app, {
  platform,
  settings: pipelineSettingsFromEnv(platform.githubOwner, {}),
  services: fixtureFleet,
  bundle: ws.bundle,
  allowedSigners: signers,
});
app.synth();
const stacks = Object.fromEntries(readSynthesizedApp(app.outdir).map((s) => [s.name, s.json as SynthJson]));
const names = platformNames(platform);

describe("the platform's allowed signers", () => {
  it("are the platform repository's security/allowed_signers, published in the deploy bucket under their hash", () => {
    expect(signers.content).toBe(readFileSync(join(root, 'security', 'allowed_signers'), 'utf8'));
    const objects = resources(stacks.platform, 'google_storage_bucket_object').filter((o) => String(o.name).startsWith('security/'));
    expect(objects).toEqual([
      expect.objectContaining({
        name: platformSignersObject(signers.sha256),
        content: signers.content,
        metadata: { sha256: signers.sha256 },
      }),
    ]);
    expect(String(objects[0].bucket)).toMatch(/google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name/);
    const outputs = (stacks.platform as unknown as { output: Record<string, { value: string }> }).output;
    expect(outputs['signers-object'].value).toMatch(/google_storage_bucket_object\.deploy_allowed-signers_[0-9A-F]+\.name/);
    expect(outputs['signers-generation'].value).toMatch(/google_storage_bucket_object\.deploy_allowed-signers_[0-9A-F]+\.generation/);
  });

  it('the builds read the deploy bucket and cannot overwrite an object in it; only the platform apply can', () => {
    const bindings = resources(stacks.platform, 'google_storage_bucket_iam_member').filter((b) =>
      String(b.bucket).includes('google_storage_bucket.deploy_bucket'),
    );
    // Members are references to the accounts: `${google_service_account.service-accounts_<account id>_<hash>.member}`.
    const rolesOf = (accountId: string) =>
      bindings
        .filter((b) => String(b.member).startsWith(`\${google_service_account.service-accounts_${accountId}_`))
        .map((b) => b.role)
        .sort();
    expect(rolesOf(SERVICE_ACCOUNT_IDS.build)).toEqual(['roles/storage.objectCreator', 'roles/storage.objectViewer']);
    expect(rolesOf(SERVICE_ACCOUNT_IDS.production)).toEqual(['roles/storage.objectViewer']);
    expect(rolesOf(SERVICE_ACCOUNT_IDS.test)).toEqual([]);
    // objectCreator creates, never replaces (that needs storage.objects.delete): no bucket role here can.
    expect(
      bindings.map((b) => b.role).filter((r) => !['roles/storage.objectCreator', 'roles/storage.objectViewer'].includes(String(r))),
    ).toEqual([]);
  });

  it('the plan step and the production gate verify against that object at its generation; no step reads the checkout', () => {
    for (const service of fixtureFleet) {
      const stack = stacks[`service-${service.name}`];
      const state = (stack as unknown as { data: Record<string, Record<string, unknown>> }).data.terraform_remote_state;
      const remote = Object.keys(state)[0];
      const want = `C2C_PLATFORM_SIGNERS=gs://${names.deployBucket}/\${data.terraform_remote_state.${remote}.outputs.signers-object}#\${data.terraform_remote_state.${remote}.outputs.signers-generation}`;
      const plan = stepsOf(stack, `${service.name}-push`).find((s) => s.id === 'plan-production');
      const apply = stepsOf(stack, `${service.name}-production`).find((s) => s.id === 'apply-production');
      expect(plan?.args[1]).toContain('--verify-commit /workspace');
      expect(plan?.env).toContain(want);
      expect(apply?.args[1]).toContain('--approval cloudbuild');
      expect(apply?.env).toContain(want);
      for (const trigger of resources(stack, 'google_cloudbuild_trigger') as { build: { step: { env?: string[]; args?: string[] }[] } }[]) {
        for (const step of trigger.build.step) {
          const text = JSON.stringify([step.env ?? [], step.args ?? []]);
          expect(text).not.toContain('C2C_ALLOWED_SIGNERS');
          expect(text).not.toContain('allowed_signers"');
          expect(text).not.toContain('security/allowed_signers ');
        }
      }
    }
  });

  it('without a list the platform publishes one that names nobody: refusals, never a wider door', () => {
    const empty = loadPlatformSigners(ws.dir, join(ws.dir, 'none'));
    expect(empty.content).toMatch(/^# .*nobody is listed\n$/);
    expect(empty.objectName).toBe(platformSignersObject(empty.sha256));
  });
});
