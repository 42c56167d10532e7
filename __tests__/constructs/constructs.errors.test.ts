// One exact-message test per rule the constructs add on top of the catalog and Marathon rules.
import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { AuditBucket } from '../../constructs/audit-bucket';
import { loadDeployBundle } from '../../constructs/deploy-bucket';
import { E2eSchedule } from '../../constructs/e2e-schedule';
import { Microservice, MicroserviceProps } from '../../constructs/microservice';
import { platformNames } from '../../constructs/naming';
import { PlatformPipeline, PipelineStack } from '../../constructs/platform-pipeline';
import { Registry } from '../../constructs/registry';
import { C2CError, ValidationError } from '../../lib/errors';
import billing from '../../services/billing';
import { platform, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const names = platformNames(platform);
const props = (patch: Partial<MicroserviceProps> = {}): MicroserviceProps => ({
  service: billing,
  platform,
  names,
  bundle: ws.bundle,
  connection: 'github',
  ...patch,
});

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('Microservice', () => {
  it('repository of another GitHub owner', () => {
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        new Microservice(s, 'm', props({ service: { ...billing, repo: 'someone-else/billing' } }));
      }),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toBe(
      "Microservice(billing): 'repo' (\"someone-else/billing\") must belong to the GitHub owner 'acme-lighting' that the platform manages; move the repository or set C2C_GITHUB_OWNER",
    );
  });

  it('name too long for the derived trigger names', () => {
    const name = 'a'.repeat(54);
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        new Microservice(s, 'm', props({ service: { ...billing, name } }));
      }),
    );
    expect(e.message).toBe(
      `Microservice(${name}): 'name' ("${name}") is 54 characters; use at most 53 (it names Cloud Build triggers, limited to 64)`,
    );
  });

  it('the same service declared twice in one app', () => {
    const app = ws.app();
    new Microservice(new TerraformStack(app, 'service-billing'), 'service', props());
    const e = errorOf(() => new Microservice(new TerraformStack(app, 'service-billing-2'), 'service', props()));
    expect(e.message).toBe(
      'Microservice(billing): \'name\' ("billing") is already declared at service-billing/service; service names must be unique, rename one',
    );
  });

  it('a push step waiting for a step that does not exist fails at synth (added after construction)', () => {
    const stack = new TerraformStack(ws.app(), 'service-billing');
    new Microservice(stack, 'm', props()).pipeline.addPushStep({ id: 'scan', image: 'trivy', args: [], waitFor: ['docker-bild'] });
    const e = errorOf(() => Testing.synth(stack, true));
    expect(e.message).toContain(
      "BuildPipeline(billing): push trigger: step 'scan' waits for 'docker-bild', which is not an earlier step; add it first or fix the id",
    );
  });

  it('a push step id used twice fails at synth', () => {
    const stack = new TerraformStack(ws.app(), 'service-billing');
    new Microservice(stack, 'm', props()).pipeline.addPushStep({ id: 'push', image: 'x', args: [], waitFor: ['-'] });
    const e = errorOf(() => Testing.synth(stack, true));
    expect(e.message).toContain("BuildPipeline(billing): push trigger: step id 'push' is used twice; step ids must be unique");
  });
});

describe('E2eSchedule', () => {
  it('schedule must be a five-field cron expression', () => {
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        const trigger = new CloudbuildTrigger(s, 't', { name: 't' });
        new E2eSchedule(s, 'e2e', {
          name: 'billing-e2e',
          project: 'p',
          region: 'r',
          trigger,
          serviceAccountEmail: 'x@p.iam.gserviceaccount.com',
          schedule: 'every 5 minutes',
        });
      }),
    );
    expect(e.message).toBe(
      "E2eSchedule(billing-e2e): 'schedule' (\"every 5 minutes\") must be a cron schedule of five fields (minute hour day month weekday), e.g. '*/30 * * * *'",
    );
  });
});

describe('Registry', () => {
  it('noncurrentRetentionDays must be a whole number > 0', () => {
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        new Registry(s, 'r', { name: 'b', location: 'eu', host: 'r:5000', noncurrentRetentionDays: 0 });
      }),
    );
    expect(e.message).toBe("Registry(b): 'noncurrentRetentionDays' (0) must be a whole number of days > 0, e.g. 30");
  });
  it('host port must be a port', () => {
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        new Registry(s, 'r', { name: 'b', location: 'eu', host: 'r:port' });
      }),
    );
    expect(e.message).toBe(
      "Registry(b): 'host' (\"r:port\") must be 'host' or 'host:port' with a port from 1 to 65535, e.g. 'registry.marathon.internal:5000'",
    );
  });
});

describe('AuditBucket', () => {
  it('retentionDays must be a whole number > 0', () => {
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        new AuditBucket(s, 'a', { name: 'audit', location: 'eu', retentionDays: 0.5 });
      }),
    );
    expect(e.message).toBe("AuditBucket(audit): 'retentionDays' (0.5) must be a whole number of days > 0, e.g. 400");
  });
});

describe('PlatformPipeline', () => {
  const pipeline = (stacks: PipelineStack[]) =>
    errorOf(() =>
      Testing.synthScope((s) => {
        new PlatformPipeline(s, 'p', { repo: 'acme-lighting/commit-to-cloud', platform, names, connection: 'github', stacks });
      }),
    );
  it('stack name must be a folder name', () =>
    expect(
      pipeline([
        { name: 'platform', side: 'production' },
        { name: 'a b', side: 'staging' },
      ]).message,
    ).toBe(
      "PlatformPipeline(acme-lighting/commit-to-cloud): 'stacks[1].name' (\"a b\") must be a stack folder name (letters, digits, '-', '_')",
    ));
  it('stack listed twice', () =>
    expect(
      pipeline([
        { name: 'platform', side: 'production' },
        { name: 'platform', side: 'staging' },
      ]).message,
    ).toBe('PlatformPipeline(acme-lighting/commit-to-cloud): \'stacks[1].name\' ("platform") is listed twice; list every stack once'));
  it('no production-side stack', () =>
    expect(pipeline([{ name: 'platform', side: 'staging' }]).message).toBe(
      "PlatformPipeline(acme-lighting/commit-to-cloud): 'stacks' ([\"platform\"]) has no production-side stack; the platform stack must be 'production' so that its changes need approval",
    ));
});

describe('deploy bundle', () => {
  it('missing bundle: a clear error with what to run', () => {
    const e = errorOf(() => loadDeployBundle(ws.dir, join(ws.dir, 'nope.cjs')));
    expect(e).toBeInstanceOf(C2CError);
    expect((e as C2CError).code).toBe('DEPLOY_BUNDLE_MISSING');
    expect(e.message).toBe(`the deploy bundle ${join(ws.dir, 'nope.cjs')} does not exist`);
    expect((e as C2CError).hint).toBe("run 'npm run build' (it writes dist/deploy-bundle.cjs), then synthesize again");
  });
});
