// The team's page in the cloud: a scheduled manual trigger whose account reads the audit log, writes pages under
// reports/ of the audit bucket only, reads the deploy bundle and the uploaded production plans (read only), and reads
// each Marathon with its own read credential secret (declared empty), never a deploy credential.
import { Testing } from 'cdktf';
import { parse, platform, resources, resourceWhere, stepsOf, tempWorkspace } from './helpers';
import { PlatformStack } from '../../constructs/platform-stack';
import { DEPLOY_CLI, STEP_IMAGES } from '../../constructs/build-steps';
import { serviceAccountEmail } from '../../constructs/naming';
import { lampApi } from '../fixtures/services';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const stack = new PlatformStack(ws.app(), 'platform', {
  platform,
  bundle: ws.bundle,
  services: [lampApi],
  connection: 'github',
  platformRepo: 'acme-lighting/commit-to-cloud',
  stacks: [{ name: 'platform', side: 'production' }],
  poolNetwork: 'projects/acme-lighting-platform/global/networks/marathon',
  githubPlan: 'team',
  auditReaders: ['group:sre@acme-lighting.example'],
  approverPrincipals: { 'user:ana@acme-lighting.example': ['user:ana@acme.com'], 'user:ben@acme-lighting.example': ['user:ben@acme.com'] },
});
const json = parse(Testing.synth(stack));
const pageSa = `\${google_service_account.page_runner_`;
const isPage = (member: unknown) => typeof member === 'string' && member.startsWith(pageSa);

describe("the team's page", () => {
  it('runs report --html over the audit log, then writes the page under reports/ of the audit bucket, once per build', () => {
    // The pool check first (the job reads Marathon, so it runs in the private pool): cluster-access.test.ts covers it.
    const [check, ...steps] = stepsOf(json, 'c2c-page');
    expect(steps.map((s) => [s.id, s.name, s.wait_for])).toEqual([
      ['fetch-deploy', STEP_IMAGES.deploy, [check.id]],
      ['report', STEP_IMAGES.deploy, ['fetch-deploy']],
      ['publish', STEP_IMAGES.deploy, ['report']],
    ]);
    expect(steps[1].args).toEqual([
      DEPLOY_CLI,
      'report',
      '--html',
      '/workspace/page.html',
      '--plans',
      // Where the push builds upload the plans (their 'upload-plan' step), as a template the CLI fills per waiting plan.
      expect.stringMatching(
        /^gs:\/\/\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}\/plans\/\{service\}\/production\/\{id\}\.json$/,
      ),
    ]);
    expect(steps[2].args).toEqual([
      DEPLOY_CLI,
      'object',
      'put',
      '/workspace/page.html',
      expect.stringMatching(/^gs:\/\/\$\{google_storage_bucket\.audit_bucket_[0-9A-F]+\.name\}\/reports\/page-\$BUILD_ID\.html$/),
    ]);
    expect(steps[1].env).toEqual([
      expect.stringMatching(/^C2C_AUDIT_BUCKET=\$\{google_storage_bucket\.audit_bucket_[0-9A-F]+\.name\}$/),
      'C2C_BUILD_PROJECT=$PROJECT_ID',
      'C2C_BUILD_LOCATION=$LOCATION',
      'CI=true',
      `MARATHON_URL_STAGING=${platform.marathonUrls.staging}`,
      `MARATHON_URL_PRODUCTION=${platform.marathonUrls.production}`,
      expect.stringMatching(
        /^C2C_MARATHON_READ_SECRET_STAGING=\$\{google_secret_manager_secret\.page_read-credential-staging_[0-9A-F]+\.id\}$/,
      ),
      expect.stringMatching(
        /^C2C_MARATHON_READ_SECRET_PRODUCTION=\$\{google_secret_manager_secret\.page_read-credential-production_[0-9A-F]+\.id\}$/,
      ),
    ]);
    // No secret resolved when the build starts (an empty secret would stop it): the CLI reads its two when it runs.
    expect(steps.some((s) => (s.secret_env ?? []).length > 0)).toBe(false);
    const trigger = resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'c2c-page') as {
      build: { options: { worker_pool?: string }; available_secrets?: unknown };
      depends_on?: string[];
    };
    expect(trigger.build.available_secrets).toBeUndefined();
    // Marathon is reachable from the private pool only, like every build that reads it.
    // Named by its literal id, as every private build names it, with the trigger waiting for the pool explicitly.
    expect(trigger.build.options.worker_pool).toMatch(/^projects\/[^/]+\/locations\/[^/]+\/workerPools\/[^/]+$/);
    expect(trigger.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^google_cloudbuild_worker_pool\./)]));
  });

  it('its account reads the log, creates objects under reports/ only, reads the bundle and the plans only; nothing else', () => {
    const grants = resources(json, 'google_storage_bucket_iam_member').filter((r) => isPage(r.member));
    expect(grants.map((g) => [g.role, (g.condition as { expression?: string } | undefined)?.expression ?? null]).sort()).toEqual(
      [
        [
          'roles/storage.objectCreator',
          expect.stringMatching(
            /^resource\.name\.startsWith\("projects\/_\/buckets\/\$\{google_storage_bucket\.audit_bucket_[0-9A-F]+\.name\}\/objects\/reports\/"\)$/,
          ),
        ],
        ['roles/storage.objectViewer', expect.stringMatching(/objects\/deploy\/"\)$/)],
        [
          'roles/storage.objectViewer',
          expect.stringMatching(
            /^resource\.name\.startsWith\("projects\/_\/buckets\/\$\{google_storage_bucket\.deploy_bucket_[0-9A-F]+\.name\}\/objects\/plans\/"\)$/,
          ),
        ],
        ['roles/storage.objectViewer', null],
      ].sort(),
    );
    expect(
      resources(json, 'google_project_iam_member')
        .filter((r) => isPage(r.member))
        .map((r) => r.role),
    ).toEqual(['roles/logging.logWriter']);
    // Only its own read credentials, and nobody else reads those.
    const secretIds = Object.fromEntries(
      Object.entries((json.resource as Record<string, Record<string, { secret_id: string }>>).google_secret_manager_secret).map(
        ([k, r]) => [k, r.secret_id],
      ),
    );
    const secretOf = (r: Record<string, unknown>) => {
      const ref = /google_secret_manager_secret\.([^.]+)\./.exec(String(r.secret_id));
      return ref ? secretIds[ref[1]] : String(r.secret_id);
    };
    const secretGrants = resources(json, 'google_secret_manager_secret_iam_member');
    expect(
      secretGrants
        .filter((r) => isPage(r.member))
        .map((r) => [secretOf(r), r.role])
        .sort(),
    ).toEqual([
      ['c2c-page-marathon-production', 'roles/secretmanager.secretAccessor'],
      ['c2c-page-marathon-staging', 'roles/secretmanager.secretAccessor'],
    ]);
    expect(secretGrants.filter((r) => secretOf(r).startsWith('c2c-page-')).every((r) => isPage(r.member))).toBe(true);
    // Declared without a value: a person adds one (a read-only credential) or the page says it has none.
    expect(resources(json, 'google_secret_manager_secret_version').filter((v) => String(v.secret).includes('page_read'))).toEqual([]);
    // Nothing else names the page's account: no project-wide storage or secret role, no other bucket.
    for (const type of ['google_storage_bucket_iam_binding', 'google_project_iam_binding', 'google_storage_bucket_iam_policy'])
      expect(resources(json, type).filter((r) => JSON.stringify(r).includes(pageSa))).toEqual([]);
    expect(serviceAccountEmail(platform.project, 'c2c-page')).toMatch(/^c2c-page@/);
  });

  it('the audit bucket stays private: readable by its readers, no public access', () => {
    const bucket = resources(json, 'google_storage_bucket').find((b) => (b.labels as Record<string, string>)?.purpose === 'audit-log') as {
      public_access_prevention: string;
      uniform_bucket_level_access: boolean;
    };
    expect(bucket.public_access_prevention).toBe('enforced');
    expect(bucket.uniform_bucket_level_access).toBe(true);
    const viewers = resources(json, 'google_storage_bucket_iam_member').filter(
      (r) => r.role === 'roles/storage.objectViewer' && String(r.bucket).includes('audit_bucket'),
    );
    expect(viewers.map((v) => (isPage(v.member) ? 'page' : v.member)).sort()).toEqual(['group:sre@acme-lighting.example', 'page']);
  });

  it('Cloud Scheduler runs it every day at 06:00 UTC', () => {
    const job = resourceWhere(json, 'google_cloud_scheduler_job', 'name', 'c2c-page') as { schedule: string; time_zone: string };
    expect(job).toMatchObject({ schedule: '0 6 * * *', time_zone: 'Etc/UTC' });
  });
});
