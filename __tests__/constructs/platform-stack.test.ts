import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { StorageNotification } from '@cdktf/provider-google/lib/storage-notification';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository';
import { PlatformStack } from '../../constructs/platform-stack';
import { platformNames, serviceAccountEmail } from '../../constructs/naming';
import { Registry, REGISTRY_IMAGE } from '../../constructs/registry';
import { NOTIFIER_FILTER } from '../../constructs/build-notifier';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import { lampApi, ledger, shopfront } from '../fixtures/services';
import { DEPLOY_CLI, STEP_IMAGES } from '../../constructs/build-steps';
import { parse, platform, resourceWhere, resources, stepsOf, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const names = platformNames(platform);

const app = ws.app();
const stack = new PlatformStack(app, 'platform', {
  platform,
  bundle: ws.bundle,
  services: [lampApi, ledger, shopfront],
  connection: 'github',
  platformRepo: 'acme-lighting/commit-to-cloud',
  stacks: [
    { name: 'platform', side: 'production' },
    { name: 'service-lamp-api', side: 'staging' },
    { name: 'service-ledger', side: 'staging' },
  ],
  poolNetwork: 'projects/acme-lighting-platform/global/networks/marathon',
  githubPlan: 'team',
  approverPrincipals: {
    'user:ana@acme-lighting.example': ['user:ana@acme.com'],
    'user:ben@acme-lighting.example': ['user:ben@acme.com', 'user:ben.backup@acme.com'],
    'group:ledger-reviewers@acme-lighting.example': ['group:ledger@acme.com'],
  },
  clusterMembers: ['serviceAccount:mesos-agents@acme-lighting-platform.iam.gserviceaccount.com'],
  imageReaders: ['group:qa@acme-lighting.example'],
  auditReaders: ['group:sre@acme-lighting.example'],
  platformApprovers: ['group:platform-leads@acme-lighting.example'],
});
const out = Testing.synth(stack);
const json = parse(out);

/** The example fleet's platform stack for one service (no project given), with `extra` props. */
const synthExample = (extra: Partial<ConstructorParameters<typeof PlatformStack>[2]> = {}) =>
  parse(
    Testing.synth(
      new PlatformStack(ws.app(), 'platform', {
        platform,
        bundle: ws.bundle,
        services: [lampApi],
        connection: 'github',
        platformRepo: 'acme-lighting/commit-to-cloud',
        stacks: [{ name: 'platform', side: 'production' }],
        exampleFleet: true,
        ...extra,
      }),
    ),
  );
/** The reference to the `member` of the account with this e-mail (`c2c-build@...` -> `${google_service_account.X.member}`). */
const sa = (email: string) => {
  const [key] = Object.entries(json.resource.google_service_account).find(([, r]) => r.account_id === email.split('@')[0])!;
  return `\${google_service_account.${key}.member}`;
};

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
    expect(registryApp.container?.docker.image).toBe(REGISTRY_IMAGE);
    expect(REGISTRY_IMAGE).toMatch(/^registry:2\.8\.3@sha256:[0-9a-f]{64}$/);
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
      bucket: expect.stringMatching(/^\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}$/),
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

  it("grants the Cloud Build approver role once per principal the settings map the fleet's reviewers to", () => {
    const approvers = resources(json, 'google_project_iam_member')
      .filter((r) => r.role === 'roles/cloudbuild.builds.approver')
      .map((r) => r.member)
      .sort();
    expect(approvers).toEqual([
      'group:ledger@acme.com',
      'group:platform-leads@acme-lighting.example',
      'user:ana@acme.com',
      'user:ben.backup@acme.com',
      'user:ben@acme.com',
    ]);
  });

  it('the example fleet (no project given) binds the reviewers as written', () => {
    const example = synthExample();
    const approvers = resources(example, 'google_project_iam_member').filter((r) => r.role === 'roles/cloudbuild.builds.approver');
    expect(approvers.map((r) => r.member).sort()).toEqual(['user:ana@acme-lighting.example', 'user:ben@acme-lighting.example']);
    expect(resourceWhere(example, 'google_cloudbuild_worker_pool', 'name', 'c2c-private').network_config).toEqual({
      peered_network: 'projects/acme-lighting-platform/global/networks/marathon',
    });
  });

  it('binds every role to its account by reference, so the account exists first', () => {
    const account = (id: string) => Object.entries(json.resource.google_service_account).find(([, r]) => r.account_id === id)![0];
    const member = (id: string) => `\${google_service_account.${account(id)}.member}`;
    const literal = (r: Record<string, unknown>) => String(r.member).includes('.iam.gserviceaccount.com');
    for (const type of ['google_project_iam_member', 'google_storage_bucket_iam_member', 'google_secret_manager_secret_iam_member']) {
      expect(resources(json, type).filter(literal)).toEqual(
        resources(json, type).filter((r) => String(r.member).startsWith('serviceAccount:mesos')),
      );
    }
    expect(resourceWhere(json, 'google_service_account_iam_member', 'role', 'roles/iam.serviceAccountUser').member).toBe(
      member('c2c-scheduler'),
    );
    expect(
      resources(json, 'google_project_iam_member')
        .filter((r) => r.member === member('c2c-test'))
        .map((r) => r.role),
    ).toEqual(['roles/logging.logWriter']);
  });
});

describe('platform pipeline', () => {
  it('plans every stack on pull requests', () => {
    const plan = stepsOf(json, 'platform-pr').find((s) => s.id === 'plan-all')!;
    expect(plan.args[1]).toContain('for s in platform service-lamp-api service-ledger; do');
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
    expect(byId['apply-staging-side']).toContain('for s in service-lamp-api service-ledger; do');
    expect(byId['apply-staging-side']).toContain('apply -input=false -no-color tfplan');
    expect(byId['plan-production-side']).toContain('for s in platform; do');
    expect(byId['plan-production-side']).toContain('-detailed-exitcode -out=tfplan');
    expect(byId['plan-production-side']).not.toMatch(/ apply /);
    expect(byId['upload-production-plans']).toMatch(
      /gs:\/\/\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}\/platform-plans\/\$\$s\/\$COMMIT_SHA-\$BUILD_ID\.tgz/,
    );
    // Only the Terraform steps read the GitHub token; synth (npm ci) and the gsutil steps never see it.
    expect(steps.filter((s) => s.secret_env).map((s) => [s.id, s.secret_env])).toEqual([
      ['apply-staging-side', ['GITHUB_TOKEN']],
      ['plan-production-side', ['GITHUB_TOKEN']],
    ]);
  });

  it('applies a saved production-side plan only after approval, recording the approver', () => {
    expect(out).toHaveResourceWithProperties(CloudbuildTrigger, {
      name: 'platform-apply',
      approval_config: { approval_required: true },
      service_account: expect.stringMatching(
        /^projects\/acme-lighting-platform\/serviceAccounts\/\$\{google_service_account\.[^.]*c2c-platform-apply[^.]*\.email\}$/,
      ),
      filter: '_PLAN_OBJECT.matches("^platform-plans/[^/]+/[^/]+[.]tgz$")',
    });
    const steps = stepsOf(json, 'platform-apply');
    const byId = Object.fromEntries(steps.map((s) => [s.id, s]));
    expect(byId['record-approval'].args[1]).toMatch(/gs:\/\/\$\{google_storage_bucket\.audit_bucket_[0-9A-F]+\.name\}\/events\/platform\//);
    expect(byId.apply.args[1]).toContain('terraform -chdir=/workspace/stack apply -input=false -no-color tfplan');
    expect(byId.apply.wait_for).toEqual(['fetch-plan', 'record-approval']);
    // Staging-side stacks read the platform's outputs: applied again at once, they move to what was just published.
    expect(byId['reapply-staging-side'].wait_for).toEqual(['apply', 'synth']);
    expect(byId['reapply-staging-side'].args[1]).toContain('for s in service-lamp-api service-ledger; do');
  });

  it('plan and push triggers run as the plan and apply accounts; the plan account only reads the state', () => {
    expect(resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'platform-pr').service_account).toMatch(
      /^projects\/acme-lighting-platform\/serviceAccounts\/\$\{google_service_account\.[^.]*c2c-platform-plan[^.]*\.email\}$/,
    );
    const stateRoles = (account: string) =>
      resources(json, 'google_storage_bucket_iam_member')
        .filter(
          (r) =>
            r.bucket === platform.stateBucket &&
            new RegExp(`^\\$\\{google_service_account\\.[^.]*${account}[^.]*\\.member\\}$`).test(String(r.member)),
        )
        .map((r) => r.role);
    expect(stateRoles('c2c-platform-plan')).toEqual(['roles/storage.objectViewer']);
    expect(stateRoles('c2c-platform-apply')).toEqual(['roles/storage.objectAdmin']);
  });
});

describe('private worker pool', () => {
  it("is peered to the cluster's network through Service Networking, resolving the Marathon hosts' private zone", () => {
    const range = resources(json, 'google_compute_global_address')[0];
    expect(range).toMatchObject({
      name: 'c2c-private-peering',
      purpose: 'VPC_PEERING',
      address_type: 'INTERNAL',
      prefix_length: 24,
      network: 'projects/acme-lighting-platform/global/networks/marathon',
    });
    const [[connKey, conn]] = Object.entries(json.resource.google_service_networking_connection);
    expect(conn).toMatchObject({
      network: 'projects/acme-lighting-platform/global/networks/marathon',
      service: 'servicenetworking.googleapis.com',
      reserved_peering_ranges: [expect.stringMatching(/^\$\{google_compute_global_address\.[^.]+\.name\}$/)],
      // A network with a private services access connection already (Cloud SQL): update it instead of failing.
      update_on_creation_fail: true,
      deletion_policy: 'ABANDON',
    });
    expect(resources(json, 'google_service_networking_peered_dns_domain')).toEqual([
      expect.objectContaining({ dns_suffix: 'internal.', network: 'marathon', service: 'servicenetworking.googleapis.com' }),
    ]);
    const pool = resourceWhere(json, 'google_cloudbuild_worker_pool', 'name', 'c2c-private');
    expect(pool).toMatchObject({
      location: platform.region,
      network_config: { peered_network: 'projects/acme-lighting-platform/global/networks/marathon' },
      worker_config: { machine_type: 'e2-standard-2', disk_size_gb: 100, no_external_ip: false },
    });
    expect(pool.depends_on).toEqual(expect.arrayContaining([`google_service_networking_connection.${connKey}`]));
  });

  it("keeps the ranges of the network's existing private services access connection", () => {
    const example = synthExample({ poolExistingRanges: ['google-managed-services-default', 'sql-range'] });
    const [conn] = resources(example, 'google_service_networking_connection');
    expect(conn.reserved_peering_ranges).toEqual([
      'google-managed-services-default',
      'sql-range',
      expect.stringMatching(/^\$\{google_compute_global_address\.[^.]+\.name\}$/),
    ]);
  });
});

describe('Marathon credentials', () => {
  it('one secret per use, each readable by exactly one build account', () => {
    const secrets = Object.fromEntries(Object.entries(json.resource.google_secret_manager_secret).map(([k, r]) => [k, r.secret_id]));
    expect(Object.values(secrets).sort()).toEqual([
      'c2c-marathon-production',
      'c2c-marathon-production-read',
      'c2c-marathon-staging',
      'c2c-notify-webhook',
      'c2c-page-marathon-production',
      'c2c-page-marathon-staging',
    ]);
    const readers = resources(json, 'google_secret_manager_secret_iam_member')
      .filter((r) => String(r.secret_id).includes('google_secret_manager_secret.marathon'))
      .map((r) => [secrets[/google_secret_manager_secret\.([^.]+)\./.exec(String(r.secret_id))![1]], r.role, r.member]);
    expect(readers.sort()).toEqual([
      ['c2c-marathon-production', 'roles/secretmanager.secretAccessor', sa(names.productionServiceAccount)],
      ['c2c-marathon-production-read', 'roles/secretmanager.secretAccessor', sa(names.buildServiceAccount)],
      ['c2c-marathon-staging', 'roles/secretmanager.secretAccessor', sa(names.buildServiceAccount)],
    ]);
    // No account reads every secret of the project: the GitHub token is granted on its secret only.
    expect(resources(json, 'google_project_iam_member').filter((r) => r.role === 'roles/secretmanager.secretAccessor')).toEqual([]);
    expect(json.resource.google_secret_manager_secret_version).toBeUndefined();
  });
});

describe('deploy bundle lifecycle', () => {
  it('a replaced bundle stays readable by generation for 30 days (versioned bucket, noncurrent rule)', () => {
    expect(out).toHaveResourceWithProperties(StorageBucket, {
      name: names.deployBucket,
      versioning: { enabled: true },
      lifecycle_rule: expect.arrayContaining([
        { action: { type: 'Delete' }, condition: { days_since_noncurrent_time: 30, with_state: 'ARCHIVED' } },
      ]),
    });
    expect(stack.refs.bundleGeneration).toMatch(/^\$\{TfToken\[/);
  });
});

describe('Cloud Build notifier', () => {
  it("runs Google's notifier image on Cloud Run, fed by a push subscription on cloud-builds, filtered by CEL", () => {
    expect(resourceWhere(json, 'google_pubsub_topic', 'name', 'cloud-builds')).toBeTruthy();
    const run = resourceWhere(json, 'google_cloud_run_v2_service', 'name', 'c2c-notifier') as {
      ingress: string;
      template: { containers: { image: string; env: { name: string; value: string }[] }[]; service_account: string };
    };
    expect(run.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
    expect(run.template.containers[0].image).toBe('us-east1-docker.pkg.dev/gcb-release/cloud-build-notifiers/slack:latest');
    expect(run.template.containers[0].env).toContainEqual({
      name: 'CONFIG_PATH',
      value: expect.stringMatching(
        /^gs:\/\/\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}\/\$\{google_storage_bucket_object\.notifier_config_[0-9A-F]+\.name\}$/,
      ),
    });
    const sub = resourceWhere(json, 'google_pubsub_subscription', 'name', 'c2c-notifier') as {
      topic: string;
      push_config: { push_endpoint: string; oidc_token: { service_account_email: string } };
    };
    expect(sub.topic).toMatch(/^\$\{google_pubsub_topic\.notifier_cloud-builds_[0-9A-F]+\.id\}$/);
    expect(sub.push_config.push_endpoint).toMatch(/^\$\{google_cloud_run_v2_service\.notifier_service_[0-9A-F]+\.uri\}$/);
    expect(sub.push_config.oidc_token.service_account_email).toMatch(/^\$\{google_service_account\.notifier_invoker_[0-9A-F]+\.email\}$/);
    expect(out).toHaveResourceWithProperties(CloudRunV2ServiceIamMember, { role: 'roles/run.invoker' });
  });

  it('keeps the webhook URL in Secret Manager, readable by the notifier, the push builds and the reminder only; config names it', () => {
    const readers = resources(json, 'google_secret_manager_secret_iam_member')
      .filter((r) => String(r.secret_id).includes('notifier_webhook'))
      .map((r) => r.member);
    expect(readers).toHaveLength(3);
    expect(readers).toEqual(
      expect.arrayContaining([
        expect.stringContaining('notifier_runner'),
        sa(names.buildServiceAccount),
        sa(serviceAccountEmail(platform.project, 'c2c-remind')),
      ]),
    );
    const config = String(resourceWhere(json, 'google_storage_bucket_object', 'name', 'notifier/slack.yaml').content).split('\n');
    expect(config).toEqual(
      expect.arrayContaining([
        'kind: SlackNotifier',
        `    filter: ${JSON.stringify(NOTIFIER_FILTER)}`,
        '        secretRef: webhook-url',
        expect.stringMatching(/^ {6}value: \$\{google_secret_manager_secret\.notifier_webhook_[0-9A-F]+\.id\}\/versions\/latest$/),
        expect.stringMatching(
          /^ {6}uri: gs:\/\/\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}\/\$\{google_storage_bucket_object\.notifier_template_[0-9A-F]+\.name\}$/,
        ),
      ]),
    );
    expect(
      JSON.parse(String(resourceWhere(json, 'google_storage_bucket_object', 'name', 'notifier/slack-template.json').content))[0].text.text,
    ).toContain('{{.Params.buildStatus}}\nplan `{{index .Build.Substitutions "_PLAN_OBJECT"}}`');
    expect(NOTIFIER_FILTER).toContain('"production" in build.tags');
    expect(NOTIFIER_FILTER).toContain('Build.Status.EXPIRED');
  });
});

describe('approval reminder', () => {
  const remindSa = sa(serviceAccountEmail(platform.project, 'c2c-remind'));
  const trigger = resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'c2c-remind') as {
    location: string;
    service_account: string;
    source_to_build: { repository: string; ref: string };
    substitutions: Record<string, string>;
    depends_on?: string[];
    tags: string[];
    build: { available_secrets: { secret_manager: { env: string; version_name: string }[] }; timeout: string };
  };

  it("a manual trigger runs the deploy bundle's remind in the pinned deploy image, with the webhook secret", () => {
    const steps = stepsOf(json, 'c2c-remind');
    expect(steps.map((x) => [x.id, x.name, x.wait_for])).toEqual([
      ['fetch-deploy', STEP_IMAGES.deploy, ['-']],
      ['remind', STEP_IMAGES.deploy, ['fetch-deploy']],
    ]);
    expect(steps[1].entrypoint).toBe('node');
    expect(steps[1].args).toEqual([DEPLOY_CLI, 'remind', '--after', '30', '--every', '15']);
    expect(steps[1].env).toEqual(['C2C_BUILD_PROJECT=$PROJECT_ID', 'C2C_BUILD_LOCATION=$LOCATION', 'CI=true']);
    expect(steps[1].secret_env).toEqual(['C2C_NOTIFY_WEBHOOK']);
    expect(trigger.build.available_secrets.secret_manager).toEqual([
      {
        env: 'C2C_NOTIFY_WEBHOOK',
        version_name: expect.stringMatching(/^\$\{google_secret_manager_secret\.notifier_webhook_[0-9A-F]+\.id\}\/versions\/latest$/),
      },
    ]);
    expect(trigger.substitutions._C2C_BUNDLE).toMatch(/^\$\{google_storage_bucket_object\.deploy_bundle_[0-9A-F]+\.name\}$/);
    expect(trigger.substitutions._C2C_BUNDLE_GENERATION).toMatch(
      /^\$\{google_storage_bucket_object\.deploy_bundle_[0-9A-F]+\.generation\}$/,
    );
    expect(trigger.location).toBe(platform.region);
    expect(trigger.source_to_build.repository).toBe(
      `projects/${platform.project}/locations/${platform.region}/connections/github/repositories/commit-to-cloud`,
    );
    // It waits for the repository link and for the webhook secret's value (a build that cannot start never runs).
    expect(trigger.depends_on).toEqual([
      expect.stringMatching(/^google_cloudbuildv2_repository\.platform-pipeline_repository_[0-9A-F]+$/),
      expect.stringMatching(/^data\.google_secret_manager_secret_version\.notifier_webhook-latest_[0-9A-F]+$/),
      expect.stringMatching(/^google_project_service\.apis_cloudbuild_/),
    ]);
    expect(trigger.source_to_build.ref).toBe('refs/heads/main');
    expect(trigger.tags).toEqual(['c2c', 'remind']);
    expect(trigger.tags).not.toContain('production');
    expect(trigger.service_account).toBe(`projects/${platform.project}/serviceAccounts/${remindSa.replace('.member}', '.email}')}`);
  });

  it('Cloud Scheduler runs it every 15 minutes as the scheduler account, which may act as the reminder account', () => {
    const job = resourceWhere(json, 'google_cloud_scheduler_job', 'name', 'c2c-remind') as {
      schedule: string;
      time_zone: string;
      http_target: { uri: string; oauth_token: { service_account_email: string } };
    };
    expect(job.schedule).toBe('*/15 * * * *');
    expect(job.time_zone).toBe('Etc/UTC');
    expect(job.http_target.uri).toMatch(
      new RegExp(
        `^https://cloudbuild\\.googleapis\\.com/v1/projects/${platform.project}/locations/${platform.region}/triggers/\\$\\{google_cloudbuild_trigger\\.reminder_trigger_[0-9A-F]+\\.trigger_id\\}:run$`,
      ),
    );
    expect(job.http_target.oauth_token.service_account_email).toBe(sa(names.schedulerServiceAccount).replace('.member}', '.email}'));
    expect(out).toHaveResourceWithProperties(ServiceAccountIamMember, {
      role: 'roles/iam.serviceAccountUser',
      member: sa(names.schedulerServiceAccount),
      service_account_id: remindSa.replace('.member}', '.name}'),
    });
  });

  it('its account may list builds, write logs, read the webhook and the bundle (deploy/ only), nothing more', () => {
    const roles = resources(json, 'google_project_iam_member')
      .filter((r) => r.member === remindSa)
      .map((r) => r.role)
      .sort();
    expect(roles).toEqual(['roles/cloudbuild.builds.viewer', 'roles/logging.logWriter']);
    const bucket = resources(json, 'google_storage_bucket_iam_member').filter((r) => r.member === remindSa);
    expect(bucket).toEqual([
      {
        bucket: expect.stringMatching(/^\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}$/),
        role: 'roles/storage.objectViewer',
        member: remindSa,
        depends_on: [expect.stringMatching(/^google_project_service\.apis_storage_/)],
        condition: {
          title: 'deploy-bundle-only',
          description: 'objects under deploy/ (the deploy CLI bundle)',
          expression: expect.stringMatching(
            /^resource\.name\.startsWith\("projects\/_\/buckets\/\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}\/objects\/deploy\/"\)$/,
          ),
        },
      },
    ]);
    expect(resources(json, 'google_secret_manager_secret_iam_member').filter((r) => r.member === remindSa)).toHaveLength(1);
    expect(resources(json, 'google_service_account_iam_member').filter((r) => r.member === remindSa)).toEqual([]);
  });

  it('takes after and every from the props; off with the notifier (C2C_NOTIFIER=none)', () => {
    const build = synthExample;
    const tuned = build({ remindAfterMinutes: 60, remindEveryMinutes: 120 });
    expect(stepsOf(tuned, 'c2c-remind')[1].args).toEqual([DEPLOY_CLI, 'remind', '--after', '60', '--every', '120']);
    expect(resourceWhere(tuned, 'google_cloud_scheduler_job', 'name', 'c2c-remind').schedule).toBe('0 */2 * * *');
    const off = build({ notifier: false });
    expect(resources(off, 'google_cloudbuild_trigger').map((r) => r.name)).not.toContain('c2c-remind');
    expect(resources(off, 'google_cloud_scheduler_job').filter((j) => j.name === 'c2c-remind')).toEqual([]);
    expect(resources(off, 'google_service_account').map((r) => r.account_id)).not.toContain('c2c-remind');
  });
});
