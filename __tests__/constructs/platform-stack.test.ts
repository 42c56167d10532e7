import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { StorageNotification } from '@cdktf/provider-google/lib/storage-notification';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository';
import { PlatformStack } from '../../constructs/platform-stack';
import { platformNames } from '../../constructs/naming';
import { Registry } from '../../constructs/registry';
import bulbApi from '../../services/bulb-api';
import billing from '../../services/billing';
import storefront from '../../services/storefront';
import { parse, platform, resourceWhere, resources, stepsOf, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const names = platformNames(platform);
const sa = (email: string) => `serviceAccount:${email}`;

const app = ws.app();
const stack = new PlatformStack(app, 'platform', {
  platform,
  bundle: ws.bundle,
  services: [bulbApi, billing, storefront],
  connection: 'github',
  platformRepo: 'acme-lighting/commit-to-cloud',
  stacks: [
    { name: 'platform', side: 'production' },
    { name: 'service-bulb-api', side: 'staging' },
    { name: 'service-billing', side: 'staging' },
  ],
  clusterMembers: ['serviceAccount:mesos-agents@acme-lighting-platform.iam.gserviceaccount.com'],
  imageReaders: ['group:qa@acme-lighting.example'],
  auditReaders: ['group:sre@acme-lighting.example'],
  platformApprovers: ['group:platform-leads@acme-lighting.example'],
});
const out = Testing.synth(stack);
const json = parse(out);

describe('registry', () => {
  it('bucket: uniform access, public access prevented, versioned, noncurrent objects deleted', () => {
    expect(out).toHaveResourceWithProperties(StorageBucket, {
      name: names.registryBucket,
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
      versioning: { enabled: true },
      lifecycle_rule: expect.arrayContaining([
        { action: { type: 'Delete' }, condition: { days_since_noncurrent_time: 30, with_state: 'ARCHIVED' } },
      ]),
    });
  });

  it('read for the cluster machines and testers, write (objectAdmin) for the build account only', () => {
    const grants = resources(json, 'google_storage_bucket_iam_member')
      .filter((r) => String(r.bucket).includes('registry'))
      .map((r) => [r.role, r.member]);
    expect(grants).toEqual(
      expect.arrayContaining([
        ['roles/storage.objectViewer', 'serviceAccount:mesos-agents@acme-lighting-platform.iam.gserviceaccount.com'],
        ['roles/storage.objectViewer', 'group:qa@acme-lighting.example'],
        ['roles/storage.objectAdmin', sa(names.buildServiceAccount)],
      ]),
    );
    expect(grants.filter(([role]) => role === 'roles/storage.objectAdmin')).toEqual([
      ['roles/storage.objectAdmin', sa(names.buildServiceAccount)],
    ]);
  });

  it('runs Docker distribution with the GCS driver, read-only, as a Marathon app per environment', () => {
    const file = join(app.outdir, 'stacks', 'platform', 'marathon', 'registry.production.json');
    const registryApp = stack.registry.apps.find((a) => a.environment === 'production')!.definition;
    expect(registryApp.id).toBe('/production/registry');
    expect(registryApp.container?.docker.image).toBe('registry:2.8.3');
    expect(registryApp.env).toMatchObject({
      REGISTRY_STORAGE: 'gcs',
      REGISTRY_STORAGE_GCS_BUCKET: names.registryBucket,
      REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":true}',
    });
    expect(registryApp.container?.portMappings).toEqual([
      { containerPort: 5000, hostPort: 0, servicePort: 5000, protocol: 'tcp', name: 'registry' },
    ]);
    expect(out).toHaveResourceWithProperties(StorageBucketObject, {
      name: 'templates/registry/production.json',
      bucket: names.deployBucket,
    });
    app.synth();
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(registryApp);
  });

  it('offers Artifact Registry as the alternative backend', () => {
    const ar = Testing.synthScope((scope) => {
      new Registry(scope, 'registry', {
        name: 'images',
        location: 'europe-west1',
        host: 'x:5000',
        backend: 'artifact-registry',
        writers: ['serviceAccount:b@p.iam.gserviceaccount.com'],
      });
    });
    expect(ar).toHaveResourceWithProperties(ArtifactRegistryRepository, { repository_id: 'images', format: 'DOCKER' });
    expect(ar).not.toHaveResource(StorageBucket);
  });
});

describe('deploy bucket', () => {
  it('publishes the bundle under a name holding its SHA-256', () => {
    expect(out).toHaveResourceWithProperties(StorageBucketObject, {
      bucket: expect.stringContaining('google_storage_bucket.deploy_bucket'),
      name: `deploy/deploy-bundle-${ws.bundle.sha256}.cjs`,
      metadata: { sha256: ws.bundle.sha256 },
    });
    expect(out).toHaveResourceWithProperties(StorageBucket, {
      name: names.deployBucket,
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
    });
  });

  it('announces new objects (plans) on the plans topic', () => {
    expect(out).toHaveResourceWithProperties(StorageNotification, { payload_format: 'JSON_API_V1', event_types: ['OBJECT_FINALIZE'] });
  });

  it('lets the build account create plans but not overwrite; production reads', () => {
    const grants = resources(json, 'google_storage_bucket_iam_member')
      .filter((r) => String(r.bucket).includes('deploy_bucket'))
      .map((r) => [r.role, r.member]);
    expect(grants).toEqual(
      expect.arrayContaining([
        ['roles/storage.objectCreator', sa(names.buildServiceAccount)],
        ['roles/storage.objectViewer', sa(names.productionServiceAccount)],
      ]),
    );
    expect(grants.some(([role]) => role === 'roles/storage.objectAdmin')).toBe(false);
  });
});

describe('audit bucket', () => {
  it('has a retention policy and is append-only for the build and production accounts', () => {
    expect(out).toHaveResourceWithProperties(StorageBucket, {
      name: names.auditBucket,
      retention_policy: { retention_period: 400 * 86400, is_locked: false },
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
    });
    const grants = resources(json, 'google_storage_bucket_iam_member')
      .filter((r) => String(r.bucket).includes('audit_bucket'))
      .map((r) => [r.role, r.member]);
    expect(grants).toEqual(
      expect.arrayContaining([
        ['roles/storage.objectCreator', sa(names.buildServiceAccount)],
        ['roles/storage.objectCreator', sa(names.productionServiceAccount)],
        ['roles/storage.objectViewer', 'group:sre@acme-lighting.example'],
      ]),
    );
    expect(grants.filter(([, m]) => m === sa(names.buildServiceAccount))).toEqual([
      ['roles/storage.objectCreator', sa(names.buildServiceAccount)],
    ]);
  });
});

describe('service accounts and approvers', () => {
  it('creates the accounts builds run as, each with its least roles', () => {
    for (const id of ['c2c-build', 'c2c-deploy-production', 'c2c-test', 'c2c-scheduler', 'c2c-platform-plan', 'c2c-platform-apply']) {
      expect(out).toHaveResourceWithProperties(ServiceAccount, { account_id: id });
    }
    expect(out).toHaveResourceWithProperties(ProjectIamMember, {
      role: 'roles/cloudbuild.builds.editor',
      member: sa(names.schedulerServiceAccount),
    });
    expect(out).toHaveResourceWithProperties(ProjectIamMember, {
      role: 'roles/cloudbuild.builds.viewer',
      member: sa(names.productionServiceAccount),
    });
    expect(out).toHaveResourceWithProperties(ServiceAccountIamMember, {
      role: 'roles/iam.serviceAccountUser',
      member: sa(names.schedulerServiceAccount),
    });
    const testRoles = resources(json, 'google_project_iam_member')
      .filter((r) => r.member === sa(names.testServiceAccount))
      .map((r) => r.role);
    expect(testRoles).toEqual(['roles/logging.logWriter']);
  });

  it('grants the Cloud Build approver role once per reviewer of the fleet', () => {
    const approvers = resources(json, 'google_project_iam_member')
      .filter((r) => r.role === 'roles/cloudbuild.builds.approver')
      .map((r) => r.member)
      .sort();
    expect(approvers).toEqual([
      'group:billing-reviewers@acme-lighting.example',
      'group:platform-leads@acme-lighting.example',
      'user:ana@acme-lighting.example',
      'user:ben@acme-lighting.example',
    ]);
  });
});

describe('platform pipeline', () => {
  it('plans every stack on pull requests', () => {
    const plan = stepsOf(json, 'platform-pr').find((s) => s.id === 'plan-all')!;
    expect(plan.args[1]).toContain('for s in platform service-bulb-api service-billing; do');
    expect(plan.args[1]).not.toContain(' apply ');
  });

  it('on push applies staging-side stacks directly and saves production-side plans for approval', () => {
    const steps = stepsOf(json, 'platform-push');
    expect(steps.map((s) => [s.id, s.wait_for])).toEqual([
      ['synth', ['-']],
      ['apply-staging-side', ['synth']],
      ['plan-production-side', ['synth']],
      ['upload-production-plans', ['plan-production-side']],
    ]);
    const byId = Object.fromEntries(steps.map((s) => [s.id, s.args[1]]));
    expect(byId['apply-staging-side']).toContain('for s in service-bulb-api service-billing; do');
    expect(byId['apply-staging-side']).toContain('apply -input=false -no-color tfplan');
    expect(byId['plan-production-side']).toContain('for s in platform; do');
    expect(byId['plan-production-side']).toContain('-detailed-exitcode -out=tfplan');
    expect(byId['plan-production-side']).not.toMatch(/ apply /);
    expect(byId['upload-production-plans']).toContain(`gs://${names.deployBucket}/platform-plans/$$s/$COMMIT_SHA-$BUILD_ID.tgz`);
    expect(steps[0].secret_env).toEqual(['GITHUB_TOKEN']);
  });

  it('applies a saved production-side plan only after approval, recording the approver', () => {
    expect(out).toHaveResourceWithProperties(CloudbuildTrigger, {
      name: 'platform-apply',
      approval_config: { approval_required: true },
      service_account: `projects/acme-lighting-platform/serviceAccounts/${names.platformApplyServiceAccount}`,
      filter: '_PLAN_OBJECT.matches("^platform-plans/[^/]+/[^/]+[.]tgz$")',
    });
    const steps = stepsOf(json, 'platform-apply');
    const byId = Object.fromEntries(steps.map((s) => [s.id, s]));
    expect(byId['record-approval'].args[1]).toContain(`gs://${names.auditBucket}/events/platform/`);
    expect(byId.apply.args[1]).toContain('terraform -chdir=/workspace/stack apply -input=false -no-color tfplan');
    expect(byId.apply.wait_for).toEqual(['fetch-plan', 'record-approval']);
  });

  it('plan and push triggers run as the plan and apply accounts', () => {
    expect(resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'platform-pr').service_account).toBe(
      `projects/acme-lighting-platform/serviceAccounts/${names.platformPlanServiceAccount}`,
    );
    expect(out).toHaveResourceWithProperties(StorageBucketIamMember, {
      bucket: platform.stateBucket,
      role: 'roles/storage.objectAdmin',
      member: sa(names.platformPlanServiceAccount),
    });
  });
});
