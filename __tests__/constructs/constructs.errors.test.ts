// One exact-message test per rule the constructs add on top of the catalog and Marathon rules.
import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ApprovalReminder, ApprovalReminderProps } from '../../constructs/approval-reminder';
import { AuditBucket } from '../../constructs/audit-bucket';
import { loadDeployBundle } from '../../constructs/deploy-bucket';
import { E2eSchedule } from '../../constructs/e2e-schedule';
import { Microservice, MicroserviceProps } from '../../constructs/microservice';
import { Approvers } from '../../constructs/approvers';
import { PlatformPipeline, PipelineStack } from '../../constructs/platform-pipeline';
import { PlatformStack } from '../../constructs/platform-stack';
import { Registry } from '../../constructs/registry';
import { approverPrincipalsFrom, githubPlanFrom, notifierFrom, pipelineSettingsFromEnv } from '../../constructs/settings';
import { PrivateWorkerPool } from '../../constructs/worker-pool';
import { C2CError, ValidationError } from '../../lib/errors';
import { ledger, lampApi } from '../fixtures/services';
import { platform, refsFor, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const props = (patch: Partial<MicroserviceProps> = {}): MicroserviceProps => ({
  service: ledger,
  platform,
  refs: refsFor(ws.bundle),
  connection: 'github',
  ...patch,
});
const pipelineRefs = {
  planServiceAccount: 'plan@p.iam.gserviceaccount.com',
  applyServiceAccount: 'apply@p.iam.gserviceaccount.com',
  deployBucket: 'd',
  auditBucket: 'a',
  plansTopic: 'projects/p/topics/t',
};

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
        new Microservice(s, 'm', props({ service: { ...ledger, repo: 'someone-else/ledger' } }));
      }),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toBe(
      "Microservice(ledger): 'repo' (\"someone-else/ledger\") must belong to the GitHub owner 'acme-lighting' that the platform manages; move the repository or set C2C_GITHUB_OWNER",
    );
  });

  it('name too long for the derived trigger names', () => {
    const name = 'a'.repeat(54);
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        new Microservice(s, 'm', props({ service: { ...ledger, name } }));
      }),
    );
    expect(e.message).toBe(
      `Microservice(${name}): 'name' ("${name}") is 54 characters; use at most 53 (it names Cloud Build triggers, limited to 64)`,
    );
  });

  it('the same service declared twice in one app', () => {
    const app = ws.app();
    new Microservice(new TerraformStack(app, 'service-ledger'), 'service', props());
    const e = errorOf(() => new Microservice(new TerraformStack(app, 'service-ledger-2'), 'service', props()));
    expect(e.message).toBe(
      'Microservice(ledger): \'name\' ("ledger") is already declared at service-ledger/service; service names must be unique, rename one',
    );
  });

  it('a service that does not declare its shared repository needs the link of the one that does', () => {
    const e = errorOf(() => Testing.synthScope((s) => new Microservice(s, 'm', props({ manageRepository: false }))));
    expect(e.message).toBe(
      "Microservice(ledger): 'repositoryLink' (undefined) is required when manageRepository is false; pass the link id of the service that declares the repository",
    );
  });

  it('a push step waiting for a step that does not exist fails at synth (added after construction)', () => {
    const stack = new TerraformStack(ws.app(), 'service-ledger');
    new Microservice(stack, 'm', props()).pipeline.addPushStep({ id: 'scan', image: 'trivy', args: [], waitFor: ['docker-bild'] });
    const e = errorOf(() => Testing.synth(stack, true));
    expect(e.message).toContain(
      "BuildPipeline(ledger): push trigger: step 'scan' waits for 'docker-bild', which is not an earlier step; add it first or fix the id",
    );
  });

  it('a push step id used twice fails at synth', () => {
    const stack = new TerraformStack(ws.app(), 'service-ledger');
    new Microservice(stack, 'm', props()).pipeline.addPushStep({ id: 'push', image: 'x', args: [], waitFor: ['-'] });
    const e = errorOf(() => Testing.synth(stack, true));
    expect(e.message).toContain("BuildPipeline(ledger): push trigger: step id 'push' is used twice; step ids must be unique");
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
        new PlatformPipeline(s, 'p', { repo: 'acme-lighting/commit-to-cloud', platform, refs: pipelineRefs, connection: 'github', stacks });
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

describe('Approvers', () => {
  const approvers = (extra: Partial<ConstructorParameters<typeof Approvers>[2]>) =>
    errorOf(() =>
      Testing.synthScope((s) => {
        new Approvers(s, 'a', { project: 'p', services: [lampApi, ledger], ...extra });
      }),
    );
  it('an approver of a service file without an IAM principal, for a real project', () =>
    expect(approvers({ principals: { 'user:ana@acme-lighting.example': ['user:ana@acme.com'] } }).message).toBe(
      [
        'Approvers: \'group:ledger-reviewers@acme-lighting.example\' ("approver of ledger") has no IAM principal; map it in C2C_APPROVERS, e.g. {"group:ledger-reviewers@acme-lighting.example": ["user:someone@your-domain.com"]} (IAM rejects principals that do not exist)',
        'Approvers: \'user:ben@acme-lighting.example\' ("approver of lamp-api") has no IAM principal; map it in C2C_APPROVERS, e.g. {"user:ben@acme-lighting.example": ["user:someone@your-domain.com"]} (IAM rejects principals that do not exist)',
      ].join('\n'),
    ));
  it('a mapped principal must be an IAM member', () =>
    expect(
      approvers({
        principals: {
          'user:ana@acme-lighting.example': ['ana@acme.com'],
          'user:ben@acme-lighting.example': ['user:ben@acme.com'],
          'group:ledger-reviewers@acme-lighting.example': ['group:ledger@acme.com'],
        },
      }).message,
    ).toBe(
      "Approvers: 'user:ana@acme-lighting.example[0]' (\"ana@acme.com\") must be an IAM principal: 'user:…', 'group:…', 'serviceAccount:…' or 'domain:…'",
    ));
});

describe('C2C_APPROVERS', () => {
  const usage = (value: string) => errorOf(() => approverPrincipalsFrom(value)) as C2CError;
  it('must be JSON', () => {
    expect(usage('user:a=user:b').message).toBe('C2C_APPROVERS is not valid JSON');
    expect(usage('user:a=user:b').code).toBe('USAGE');
    expect(usage('user:a=user:b').hint).toBe(
      'give a JSON object, e.g. {"user:ana@acme-lighting.example": ["user:ana@acme.com"]}, or @path/to/approvers.json',
    );
  });
  it('must be an object of principals', () => {
    expect(usage('["user:a"]').message).toBe('C2C_APPROVERS must be a JSON object');
    expect(usage('{"user:a": 3}').message).toBe('C2C_APPROVERS: the entry for user:a must be a principal or a list of principals');
    expect(usage(`@${join(ws.dir, 'none.json')}`).message).toBe(`C2C_APPROVERS names ${join(ws.dir, 'none.json')}, which does not exist`);
  });
  it('reads a principal or a list, inline or from a file', () => {
    expect(approverPrincipalsFrom('{"user:a": "user:b", "group:c": ["group:d", "user:e"]}')).toEqual({
      'user:a': ['user:b'],
      'group:c': ['group:d', 'user:e'],
    });
    expect(approverPrincipalsFrom(undefined)).toBeUndefined();
  });
});

describe('PrivateWorkerPool', () => {
  it('network must be a VPC network path, DNS suffixes end in a dot', () => {
    const e = errorOf(() =>
      Testing.synthScope((s) => {
        new PrivateWorkerPool(s, 'pool', {
          project: 'p',
          region: 'eu',
          network: 'marathon',
          dnsSuffixes: ['internal'],
          peeringPrefixLength: 30,
        });
      }),
    );
    expect(e.message).toBe(
      [
        "PrivateWorkerPool(c2c-private): 'network' (\"marathon\") must be 'projects/PROJECT/global/networks/NAME', the cluster's VPC network (set C2C_POOL_NETWORK)",
        "PrivateWorkerPool(c2c-private): 'peeringPrefixLength' (30) must be a whole number from 8 to 29, e.g. 24",
        "PrivateWorkerPool(c2c-private): 'dnsSuffixes[0]' (\"internal\") must be a DNS suffix ending in '.', e.g. 'internal.'",
      ].join('\n'),
    );
  });
});

describe('PlatformStack', () => {
  it('a real project needs the network of its private pool', () => {
    const e = errorOf(
      () =>
        new PlatformStack(ws.app(), 'platform', {
          platform,
          bundle: ws.bundle,
          services: [],
          connection: 'github',
          platformRepo: 'acme-lighting/commit-to-cloud',
          stacks: [{ name: 'platform', side: 'production' }],
          githubPlan: 'team',
        }),
    );
    expect(e.message).toBe(
      "PlatformStack: 'poolNetwork' (undefined) is required: builds that reach Marathon run in a private pool peered to the cluster's network; set C2C_POOL_NETWORK to 'projects/PROJECT/global/networks/NAME'",
    );
  });

  const realStack = (extra: Record<string, unknown>) => () =>
    new PlatformStack(ws.app(), 'platform', {
      platform,
      bundle: ws.bundle,
      services: [],
      connection: 'github',
      platformRepo: 'acme-lighting/commit-to-cloud',
      stacks: [{ name: 'platform', side: 'production' }],
      poolNetwork: `projects/${platform.project}/global/networks/marathon`,
      ...extra,
    });

  it('a real project names its GitHub plan, and a Free plan is refused before anything is declared', () => {
    expect(errorOf(realStack({})).message).toBe(
      "PlatformStack: 'githubPlan' (undefined) is required: branch protection and environments of private repositories need GitHub Team or Enterprise; set C2C_GITHUB_PLAN to 'team' or 'enterprise' (docs/first-deploy.md)",
    );
    expect(errorOf(realStack({ githubPlan: 'free' })).message).toBe(
      'PlatformStack: \'githubPlan\' ("free") cannot protect branches or add environments to private repositories (GitHub answers 403 for every service stack); upgrade the organisation to Team or Enterprise, then set C2C_GITHUB_PLAN',
    );
    expect(errorOf(() => githubPlanFrom('pro')).message).toBe("C2C_GITHUB_PLAN 'pro' is not free, team or enterprise");
    expect([githubPlanFrom('team'), githubPlanFrom('enterprise'), githubPlanFrom('')]).toEqual(['team', 'enterprise', undefined]);
  });

  it('refuses a Shared VPC network (another project) and a range name that cannot be one', () => {
    expect(errorOf(realStack({ githubPlan: 'team', poolNetwork: 'projects/acme-host/global/networks/shared' })).message).toBe(
      `PrivateWorkerPool(c2c-private): 'network' ("projects/acme-host/global/networks/shared") is in project acme-host, not ${platform.project}: a Shared VPC network is not supported (its peering and ranges belong to the host project); use a network of ${platform.project}`,
    );
    expect(errorOf(realStack({ githubPlan: 'team', poolExistingRanges: ['Bad_Range'] })).message).toBe(
      `PrivateWorkerPool(c2c-private): 'existingRanges[0]' ("Bad_Range") must be the name of a global address range, e.g. google-managed-services-default`,
    );
  });
});

describe('C2C_NOTIFIER', () => {
  it('slack, googlechat or none', () => {
    expect(errorOf(() => notifierFrom('teams')).message).toBe("C2C_NOTIFIER 'teams' is not slack, googlechat or none");
    expect([notifierFrom('none'), notifierFrom('googlechat'), notifierFrom(undefined)]).toEqual([false, 'googlechat', undefined]);
  });
});

describe('ApprovalReminder', () => {
  const reminder = (extra: Partial<ApprovalReminderProps>) => () =>
    Testing.synthScope((s) => {
      new ApprovalReminder(s, 'reminder', {
        project: 'p',
        region: 'r',
        repository: 'repo',
        branch: 'main',
        deployBucket: 'b',
        bundleObject: 'deploy/x.cjs',
        bundleGeneration: '1',
        webhookSecretId: 'c2c-notify-webhook',
        webhookVersion: 'projects/p/secrets/c2c-notify-webhook/versions/latest',
        schedulerEmail: 'c2c-scheduler@p.iam.gserviceaccount.com',
        schedulerMember: 'serviceAccount:c2c-scheduler@p.iam.gserviceaccount.com',
        ...extra,
      });
    });

  it('afterMinutes must be a whole number of minutes from 1 to 10080', () => {
    expect(errorOf(reminder({ afterMinutes: 0 })).message).toBe(
      "ApprovalReminder: 'afterMinutes' (0) must be a whole number of minutes from 1 to 10080; set C2C_REMIND_AFTER_MINUTES, e.g. 30",
    );
  });

  it('everyMinutes must be an interval a cron schedule fires at evenly', () => {
    expect(errorOf(reminder({ everyMinutes: 45 })).message).toBe(
      "ApprovalReminder: 'everyMinutes' (45) must be one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440 (a cron schedule fires evenly only at these); set C2C_REMIND_EVERY_MINUTES, e.g. 15",
    );
  });
});

describe('C2C_REMIND_AFTER_MINUTES and C2C_REMIND_EVERY_MINUTES', () => {
  it('are read as minutes; a bad value names the setting and the value', () => {
    const settings = pipelineSettingsFromEnv('acme', { C2C_REMIND_AFTER_MINUTES: '45', C2C_REMIND_EVERY_MINUTES: '30' });
    expect([settings.remindAfterMinutes, settings.remindEveryMinutes]).toEqual([45, 30]);
    const e = errorOf(() => pipelineSettingsFromEnv('acme', { C2C_REMIND_EVERY_MINUTES: '45' }));
    expect(e).toBeInstanceOf(C2CError);
    expect(e.message).toBe(
      "C2C_REMIND_EVERY_MINUTES '45' must be one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440 minutes",
    );
  });
});
