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
import { POOL_CHECK_STEP } from '../../constructs/worker-pool';
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
    // The production account creates the smoke request (smoke/), the smoke account hands staged plans on (plans/).
    expect(rolesOf(SERVICE_ACCOUNT_IDS.production)).toEqual(['roles/storage.objectCreator', 'roles/storage.objectViewer']);
    expect(rolesOf(SERVICE_ACCOUNT_IDS.smoke)).toEqual(['roles/storage.objectCreator', 'roles/storage.objectViewer']);
    // The pull-request account runs anyone's code: nothing on this bucket.
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

// Issue 20 item 11: the repository's smoke command (e2e.sh) is the service authors' code; it never runs in a build whose
// account can read a Marathon secret (every step of a build shares the build's account and its metadata-server token).
describe('smoke tests run under an account that reads no Marathon secret', () => {
  type Trigger = {
    name: string;
    service_account: string;
    build: { step: { id: string; args?: string[]; secret_env?: string[] }[]; available_secrets?: unknown };
    filter?: string;
  };
  const accessors = resources(stacks.platform, 'google_secret_manager_secret_iam_member').filter(
    (b) => b.role === 'roles/secretmanager.secretAccessor' && String(b.secret_id).includes('marathon'),
  );
  /** The platform account a trigger runs as (`projects/P/serviceAccounts/EMAIL`), as its id. */
  const accountOf = (t: Trigger) => String(t.service_account).split('/').pop()!.split('@')[0];
  const memberAccount = (member: unknown) => /service-accounts_([a-z0-9-]+)_[0-9A-F]+\.member/.exec(String(member))?.[1];
  const runsSmoke = (t: Trigger, smokeTest: string) => t.build.step.some((s) => (s.args ?? []).join('\n').includes(smokeTest));

  it('the Marathon secrets are readable by the push and production accounts only', () => {
    expect(new Set(accessors.map((b) => memberAccount(b.member)))).toEqual(
      new Set([SERVICE_ACCOUNT_IDS.build, SERVICE_ACCOUNT_IDS.production]),
    );
  });

  it('no trigger that runs the smoke command has an account with access to a Marathon secret, nor any secret', () => {
    const readers = new Set(accessors.map((b) => memberAccount(b.member)));
    for (const service of fixtureFleet) {
      const triggers = resources(stacks[`service-${service.name}`], 'google_cloudbuild_trigger') as Trigger[];
      const smoking = triggers.filter((t) => runsSmoke(t, service.smokeTest));
      expect(smoking.map((t) => t.name).sort()).toEqual(
        [`${service.name}-e2e`, `${service.name}-smoke-production`, `${service.name}-smoke-staging`].sort(),
      );
      for (const t of smoking) {
        expect([t.name, readers.has(accountOf(t))]).toEqual([t.name, false]);
        expect([t.name, t.build.available_secrets]).toEqual([t.name, undefined]);
      }
      // The builds that hold the secrets run no smoke command.
      for (const name of [`${service.name}-push`, `${service.name}-production`]) {
        const t = triggers.find((x) => x.name === name)!;
        expect(runsSmoke(t, service.smokeTest)).toBe(false);
      }
    }
  });

  it('the production plan reaches the production trigger only through the smoke-staging build; an apply asks for its smoke test', () => {
    const s = fixtureFleet[0].name;
    const triggers = resources(stacks[`service-${s}`], 'google_cloudbuild_trigger') as Trigger[];
    const byName = (n: string) => triggers.find((t) => t.name === n)!;
    const staging = byName(`${s}-smoke-staging`);
    expect(accountOf(staging)).toBe(SERVICE_ACCOUNT_IDS.smoke);
    expect(staging.filter).toBe(`_STAGED_OBJECT.matches("^staged/${s}/production/[^/]+[.]json$")`);
    expect(staging.build.step.map((x) => x.id)).toEqual([POOL_CHECK_STEP, 'smoke-staging', 'fetch-deploy', 'fetch-plan', 'upload-plan']);
    // Everything the hand-over uses is fetched after the smoke command exited.
    expect(staging.build.step.find((x) => x.id === 'fetch-deploy')).toMatchObject({ wait_for: ['smoke-staging'] });
    expect(byName(`${s}-production`).filter).toBe(`_PLAN_OBJECT.matches("^plans/${s}/production/[^/]+[.]json$")`);
    const request = byName(`${s}-production`).build.step.find((x) => x.id === 'request-smoke');
    expect(request?.args?.[1]).toContain(`gs://${names.deployBucket}/smoke/${s}/production/$BUILD_ID.json`);
    const production = byName(`${s}-smoke-production`);
    expect(accountOf(production)).toBe(SERVICE_ACCOUNT_IDS.smoke);
    expect(production.filter).toBe(`_SMOKE_OBJECT.matches("^smoke/${s}/production/[^/]+[.]json$")`);
  });
});
