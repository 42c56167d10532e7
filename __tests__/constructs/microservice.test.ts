import { Testing } from 'cdktf';
import { CloudbuildTrigger } from '@cdktf/provider-google/lib/cloudbuild-trigger';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job';
import { Cloudbuildv2Repository } from '@cdktf/provider-google/lib/cloudbuildv2-repository';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { BranchProtection } from '@cdktf/provider-github/lib/branch-protection';
import { Repository } from '@cdktf/provider-github/lib/repository';
import { RepositoryEnvironment } from '@cdktf/provider-github/lib/repository-environment';
import { RepositoryFile } from '@cdktf/provider-github/lib/repository-file';
import { Microservice, spreadSchedule } from '../../constructs/microservice';
import { platformNames } from '../../constructs/naming';
import { STEP_IMAGES } from '../../constructs/build-steps';
import { ServiceDefinition } from '../../lib/catalog/types';
import { renderMarathonApp } from '../../lib/marathon/render';
import { lampApi, ledger } from '../fixtures/services';
import { parse, platform, refsFor, resourceWhere, stepsOf, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const names = platformNames(platform);
const refs = refsFor(ws.bundle);

function synth(service: ServiceDefinition, extra: Partial<ConstructorParameters<typeof Microservice>[2]> = {}): string {
  return Testing.synthScope((scope) => {
    new Microservice(scope, 'service', {
      service,
      platform,
      refs,
      connection: 'github',
      seedFiles: { 'build.sh': 'echo ${HOME}\n' },
      ...extra,
    });
  });
}

describe('Microservice(lamp-api)', () => {
  const out = synth(lampApi);
  const json = parse(out);

  it('declares the GitHub repository, protected default branch requiring the PR check, and production environment', () => {
    expect(out).toHaveResourceWithProperties(Repository, {
      name: 'lamp-api',
      visibility: 'private',
      auto_init: true,
      archive_on_destroy: true,
    });
    expect(out).toHaveResourceWithProperties(BranchProtection, {
      pattern: 'main',
      enforce_admins: true,
      allows_force_pushes: false,
      // The push build records the verified signer of the commit as its author (four-eyes in the production gate).
      require_signed_commits: true,
      required_status_checks: [{ strict: true, contexts: ['lamp-api-pr (acme-lighting-platform)'] }],
      required_pull_request_reviews: [expect.objectContaining({ required_approving_review_count: 1 })],
    });
    expect(out).toHaveResourceWithProperties(RepositoryEnvironment, {
      environment: 'production',
      deployment_branch_policy: { protected_branches: true, custom_branch_policies: false },
    });
  });

  it('seeds files once, never overwriting, escaping Terraform interpolation', () => {
    expect(out).toHaveResourceWithProperties(RepositoryFile, {
      file: 'build.sh',
      content: 'echo $${HOME}\n',
      overwrite_on_create: false,
      branch: 'main',
      lifecycle: { ignore_changes: expect.arrayContaining(['content']) },
    });
  });

  it('links the repository to the Cloud Build connection', () => {
    expect(out).toHaveResourceWithProperties(Cloudbuildv2Repository, {
      name: 'lamp-api',
      parent_connection: 'projects/acme-lighting-platform/locations/europe-west1/connections/github',
      remote_uri: 'https://github.com/acme-lighting/lamp-api.git',
      depends_on: expect.arrayContaining([
        expect.stringMatching(/^github_repository\./),
        expect.stringMatching(/^github_repository_file\./),
      ]),
    });
  });

  it('push trigger: on the default branch, as the build account, with the full pipeline', () => {
    expect(out).toHaveResourceWithProperties(CloudbuildTrigger, {
      name: 'lamp-api-push',
      service_account: `projects/acme-lighting-platform/serviceAccounts/${names.buildServiceAccount}`,
      repository_event_config: {
        repository: 'projects/acme-lighting-platform/locations/europe-west1/connections/github/repositories/lamp-api',
        push: { branch: '^main$' },
      },
      depends_on: [expect.stringMatching(/^google_cloudbuildv2_repository\./)],
    });
    const steps = stepsOf(json, 'lamp-api-push');
    expect(steps.map((s) => s.id)).toEqual([
      'build',
      'fetch-deploy',
      'registry-sidecar',
      'docker-build',
      'push',
      'deploy-staging',
      'plan-production',
      'stage-plan',
    ]);
    const byId = Object.fromEntries(steps.map((s) => [s.id, s]));
    // Independent steps start at once; the rest say exactly what they wait for.
    expect(byId.build.wait_for).toEqual(['-']);
    expect(byId['fetch-deploy'].wait_for).toEqual(['-']);
    expect(byId['registry-sidecar'].wait_for).toEqual(['-']);
    expect(byId['docker-build'].wait_for).toEqual(['registry-sidecar']);
    expect(byId.push.wait_for).toEqual(['build', 'docker-build']);
    expect(byId['deploy-staging'].wait_for).toEqual(['push', 'fetch-deploy']);
    expect(byId['plan-production'].wait_for).toEqual(['deploy-staging']);
    expect(byId['stage-plan'].wait_for).toEqual(['plan-production']);

    expect(byId.build).toMatchObject({ name: STEP_IMAGES.node, entrypoint: 'bash', args: ['build.sh'] });
    // BuildKit reads the previous image's inline cache from the registry instead of pulling the whole image first.
    expect(byId['docker-build'].env).toEqual(['DOCKER_BUILDKIT=1']);
    expect(byId['docker-build'].args[1].split('\n').pop()).toBe(
      'docker build --build-arg BUILDKIT_INLINE_CACHE=1 --cache-from localhost:5000/lamp-api:latest -t localhost:5000/lamp-api:$SHORT_SHA -t localhost:5000/lamp-api:latest .',
    );
    // The previous image is never pulled whole (its cache comes inline); base images come through mirror.gcr.io.
    expect(steps.some((s) => /docker pull [^\n]*localhost:5000/.test(s.args.join(' ')))).toBe(false);
    expect(byId['docker-build'].args[1]).toContain('docker pull -q "mirror.gcr.io/$$path"');
    expect(byId.push.args[1]).toBe('docker push localhost:5000/lamp-api:$SHORT_SHA && docker push localhost:5000/lamp-api:latest');
    expect(byId['registry-sidecar'].args).toContain(`REGISTRY_STORAGE_GCS_BUCKET=${names.registryBucket}`);
    expect(byId['fetch-deploy']).toMatchObject({ name: STEP_IMAGES.deploy, entrypoint: 'node' });
    expect(byId['fetch-deploy'].env).toContain(`C2C_BUNDLE_BUCKET=${names.deployBucket}`);
    // Neither Cloud Build ($) nor Terraform (${) may touch the script.
    expect(byId['fetch-deploy'].args[1]).not.toContain('$');
    expect(resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'lamp-api-push').substitutions).toEqual({
      _C2C_BUNDLE: ws.bundle.objectName,
      _C2C_BUNDLE_GENERATION: '1',
    });
    // The deploy CLI runs as the build (never as an e-mail the commit declares), with the commit and its time, in
    // the full Node image, which has git (Cloud Build turns $$ into $ for bash).
    expect(byId['deploy-staging']).toMatchObject({ name: STEP_IMAGES.node, entrypoint: 'bash' });
    expect(byId['deploy-staging'].args[1]).toBe(
      [
        'set -euo pipefail',
        'export DEPLOY_ACTOR="cloudbuild:$BUILD_ID"',
        'set -- --commit "$COMMIT_SHA"',
        'commit_time="$$(git -c safe.directory=/workspace log -1 --format=%cI "$COMMIT_SHA" 2>/dev/null || true)"',
        'if [ -n "$$commit_time" ]; then set -- "$$@" --commit-time "$$commit_time"; fi',
        'exec node /workspace/.c2c/deploy.cjs apply --service lamp-api --env staging --image "registry.marathon.internal:5000/lamp-api:$SHORT_SHA" "$$@"',
      ].join('\n'),
    );
    expect(byId['deploy-staging'].env).toContain('MARATHON_URL_STAGING=http://marathon.staging.internal:8080');
    expect(stepsOf(json, 'lamp-api-smoke-staging')[0].env).toContain('SERVICE_URL=http://lamp-api.staging.marathon.internal');
    // The production plan's commit author is the verified signer of the commit: the deploy CLI verifies the commit's
    // SSH signature against the platform's allowed signers (git and ssh-keygen are in the full Node image).
    expect(byId['plan-production']).toMatchObject({ name: STEP_IMAGES.node, entrypoint: 'bash' });
    expect(byId['plan-production'].args[1]).toBe(
      [
        'set -euo pipefail',
        'export DEPLOY_ACTOR="cloudbuild:$BUILD_ID"',
        'set -- --commit "$COMMIT_SHA" --verify-commit /workspace',
        'exec node /workspace/.c2c/deploy.cjs plan --service lamp-api --env production --image "registry.marathon.internal:5000/lamp-api:$SHORT_SHA" --out /workspace/production.plan.json "$$@"',
      ].join('\n'),
    );
    expect(byId['plan-production'].env ?? []).not.toContainEqual(expect.stringMatching(/^C2C_ALLOWED_SIGNERS=/));
    // No step anywhere takes an identity from what a commit declares about itself.
    const triggers = ['lamp-api-pr', 'lamp-api-push', 'lamp-api-production', 'lamp-api-e2e'];
    const allSteps = triggers.flatMap((t) => stepsOf(json, t));
    expect(allSteps.length).toBeGreaterThan(10);
    for (const step of allSteps) expect((step.args ?? []).join('\n')).not.toMatch(/%a[enNElL]|%G[SK]|--commit-author|unknown-author/);
    expect(byId['plan-production'].env).toContain('C2C_REGISTRY_URL=http://c2c-registry:5000');
    // Named by the plan id: the gate binds the Cloud Build approval to the plan through _PLAN_OBJECT. Staged first; the
    // smoke-staging build puts it under plans/ once the smoke test passed.
    expect(byId['stage-plan']).toMatchObject({
      name: STEP_IMAGES.deploy,
      entrypoint: 'node',
      args: [
        '/workspace/.c2c/deploy.cjs',
        'object',
        'put',
        '/workspace/production.plan.json',
        `gs://${names.deployBucket}/staged/lamp-api/production/{id}.json`,
      ],
    });
    expect(stepsOf(json, 'lamp-api-smoke-staging').find((x) => x.id === 'upload-plan')).toMatchObject({
      args: [
        '/workspace/.c2c/deploy.cjs',
        'object',
        'put',
        '/workspace/production.plan.json',
        `gs://${names.deployBucket}/plans/lamp-api/production/{id}.json`,
      ],
      wait_for: ['fetch-plan'],
    });
  });

  it('pull-request trigger: build.sh only, as the log-only test account', () => {
    expect(out).toHaveResourceWithProperties(CloudbuildTrigger, {
      name: 'lamp-api-pr',
      service_account: `projects/acme-lighting-platform/serviceAccounts/${names.testServiceAccount}`,
      repository_event_config: expect.objectContaining({ pull_request: expect.objectContaining({ branch: '^main$' }) }),
    });
    expect(stepsOf(json, 'lamp-api-pr').map((s) => s.id)).toEqual(['build']);
  });

  it('production trigger: started by its plan, approval required, least-privilege account, applies the plan file', () => {
    expect(out).toHaveResourceWithProperties(CloudbuildTrigger, {
      name: 'lamp-api-production',
      approval_config: { approval_required: true },
      service_account: `projects/acme-lighting-platform/serviceAccounts/${names.productionServiceAccount}`,
      pubsub_config: { topic: 'projects/acme-lighting-platform/topics/c2c-plans' },
      substitutions: {
        _PLAN_OBJECT: '$(body.message.attributes.objectId)',
        _C2C_BUNDLE: ws.bundle.objectName,
        _C2C_BUNDLE_GENERATION: '1',
      },
      filter: '_PLAN_OBJECT.matches("^plans/lamp-api/production/[^/]+[.]json$")',
    });
    const steps = stepsOf(json, 'lamp-api-production');
    const apply = steps.find((s) => s.id === 'apply-production');
    expect(apply?.args[1]).toBe(
      'set -euo pipefail\nexec node /workspace/.c2c/deploy.cjs apply --plan /workspace/production.plan.json --approval cloudbuild',
    );
    expect(apply?.wait_for).toEqual(['fetch-plan']);
    expect(steps.find((s) => s.id === 'fetch-plan')).toMatchObject({
      args: ['/workspace/.c2c/deploy.cjs', 'object', 'get', `gs://${names.deployBucket}/$_PLAN_OBJECT`, '/workspace/production.plan.json'],
      wait_for: ['fetch-deploy'],
    });
    // Issue 20 item 11: the smoke test is another build's (the smoke account's); this one only asks for it.
    expect(steps.find((s) => s.id === 'request-smoke')?.wait_for).toEqual(['apply-production']);
  });

  it('deploy steps run in one slim Node image pinned by digest; the production build pulls exactly one image', () => {
    expect(STEP_IMAGES.deploy).toMatch(/^node:20-slim@sha256:[0-9a-f]{64}$/);
    const images = (name: string) => [...new Set(stepsOf(json, name).map((s) => s.name))];
    expect(images('lamp-api-production')).toEqual([STEP_IMAGES.deploy]);
    expect(images('lamp-api-e2e')).toEqual([STEP_IMAGES.deploy]);
    expect(images('lamp-api-push').sort()).toEqual([STEP_IMAGES.docker, STEP_IMAGES.node, STEP_IMAGES.deploy].sort());
    // The deploy CLI steps that need the checkout's git (the commit's time, its verified signer) run in the full
    // Node image, which build.sh has already pulled; the rest in the slim one.
    const gitSteps = ['deploy-staging', 'plan-production'];
    for (const step of stepsOf(json, 'lamp-api-push').filter((s) => !['build', 'registry-sidecar', 'docker-build', 'push'].includes(s.id)))
      expect([step.id, step.name]).toEqual([step.id, gitSteps.includes(step.id) ? STEP_IMAGES.node : STEP_IMAGES.deploy]);
    expect(JSON.stringify(json)).not.toContain('cloud-sdk');
  });

  it("spreads the fleet's end-to-end schedules over the half hour: each service at its own minute, twice an hour", () => {
    const minutes = ['lamp-api', 'ledger', 'shopfront', 'bulb-api', 'billing'].map((n) => spreadSchedule(n));
    for (const m of minutes) expect(m).toMatch(/^([0-9]|[12][0-9]),([3-5][0-9]) \* \* \* \*$/);
    for (const m of minutes) expect(Number(m.split(/[, ]/)[1])).toBe(Number(m.split(',')[0]) + 30);
    expect(new Set(minutes).size).toBeGreaterThan(1);
    expect(spreadSchedule('lamp-api')).toBe(spreadSchedule('lamp-api'));
  });

  it('e2e trigger runs both smoke tests in parallel, and Cloud Scheduler runs it', () => {
    const steps = stepsOf(json, 'lamp-api-e2e');
    expect(steps.map((s) => [s.id, s.wait_for])).toEqual([
      ['smoke-staging', ['-']],
      ['smoke-production', ['-']],
    ]);
    expect(out).toHaveResourceWithProperties(CloudSchedulerJob, {
      name: 'lamp-api-e2e',
      schedule: spreadSchedule('lamp-api'),
      http_target: expect.objectContaining({
        http_method: 'POST',
        uri: expect.stringMatching(
          /^https:\/\/cloudbuild\.googleapis\.com\/v1\/projects\/acme-lighting-platform\/locations\/europe-west1\/triggers\/\$\{google_cloudbuild_trigger\.service_pipeline_e2e_[0-9A-F]+\.trigger_id\}:run$/,
        ),
        oauth_token: { service_account_email: names.schedulerServiceAccount, scope: 'https://www.googleapis.com/auth/cloud-platform' },
      }),
    });
  });

  it('publishes the rendered Marathon app of each environment as a template object', () => {
    for (const env of ['staging', 'production'] as const) {
      const expected = renderMarathonApp(lampApi, env, { image: 'registry.marathon.internal:5000/lamp-api:latest' });
      expect(out).toHaveResourceWithProperties(StorageBucketObject, {
        bucket: names.deployBucket,
        name: `templates/lamp-api/${env}.json`,
        content: `${JSON.stringify(expected, null, 2)}\n`,
      });
    }
  });
});

describe('Microservice options', () => {
  it('scopes the push trigger to paths (monorepo), but not the required pull-request check', () => {
    const json = parse(synth({ ...ledger, paths: ['ledger/**'] }));
    expect(resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'ledger-push').included_files).toEqual(['ledger/**']);
    expect(resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'ledger-pr').included_files).toBeUndefined();
  });

  it('adopts an existing repository with an import block and seeds nothing', () => {
    const out = synth({ ...ledger, existingRepo: true });
    const json = parse(out);
    const [address] = Object.keys(json.resource.github_repository);
    expect(json.import).toEqual([{ id: 'ledger', to: `github_repository.${address}` }]);
    expect(out).not.toHaveResource(RepositoryFile);
  });

  it('leaves the repository to the monorepo owner and uses the virtual host for smoke tests', () => {
    const out = synth({ ...ledger, virtualHost: 'pay.example.com' }, { manageRepository: false, repositoryLink: 'projects/p/x' });
    expect(out).not.toHaveResource(Repository);
    expect(out).not.toHaveResource(Cloudbuildv2Repository);
    expect(stepsOf(parse(out), 'ledger-e2e')[0].env).toContain('SERVICE_URL=http://pay.example.com');
  });

  it('escapes a smoke command for Cloud Build ($ -> $$) and then Terraform (${ -> $${)', () => {
    const steps = stepsOf(parse(synth({ ...ledger, smokeTest: 'curl -fsS "${SERVICE_URL}/health"' })), 'ledger-e2e');
    expect(steps[0].args[1]).toBe('chmod +x ./*.sh 2>/dev/null || true\ncurl -fsS "$$${SERVICE_URL}/health"');
  });

  it('a larger machine type for the builds in the default pool; builds in the private pool keep the pool', () => {
    const withPool = { ...refs, workerPool: 'projects/p/locations/eu/workerPools/c2c-private' };
    const json = parse(synth(ledger, { machineType: 'E2_HIGHCPU_8', refs: withPool }));
    expect(resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'ledger-pr').build).toMatchObject({
      options: { logging: 'CLOUD_LOGGING_ONLY', machine_type: 'E2_HIGHCPU_8' },
    });
    expect(resourceWhere(json, 'google_cloudbuild_trigger', 'name', 'ledger-push').build).toMatchObject({
      options: { logging: 'CLOUD_LOGGING_ONLY', worker_pool: 'projects/p/locations/eu/workerPools/c2c-private' },
    });
  });

  it("make instead of build.sh: the build step runs it, with build.sh's contract", () => {
    const steps = stepsOf(parse(synth({ ...ledger, build: 'make' })), 'ledger-push');
    expect(steps[0]).toMatchObject({ id: 'build', entrypoint: 'bash', args: ['-c', 'make'] });
    expect(stepsOf(parse(synth({ ...ledger, build: { command: 'npm ci && npm test' } })), 'ledger-pr')[0].args).toEqual([
      '-c',
      'npm ci && npm test',
    ]);
  });

  it('an upstream image pinned by digest: no build, no image build; deploy, smoke and the gate only', () => {
    const upstream = `docker.io/library/nginx@sha256:${'a'.repeat(64)}`;
    const json = parse(synth({ ...ledger, package: { kind: 'upstream-image', image: upstream } }));
    const steps = stepsOf(json, 'ledger-push');
    expect(steps.map((x) => [x.id, x.wait_for])).toEqual([
      ['fetch-deploy', ['-']],
      ['deploy-staging', ['fetch-deploy']],
      ['plan-production', ['deploy-staging']],
      ['stage-plan', ['plan-production']],
    ]);
    expect(steps[1].args[1]).toContain(`apply --service ledger --env staging --image ${upstream} "$$@"`);
    // The required pull-request check still reports, with nothing to build.
    expect(stepsOf(json, 'ledger-pr').map((x) => x.id)).toEqual(['no-build']);
    expect(stepsOf(json, 'ledger-production').map((x) => x.id)).toEqual([
      'fetch-deploy',
      'fetch-plan',
      'apply-production',
      'request-smoke',
    ]);
  });

  it('an artifact: built by make, uploaded once under its commit and SHA-256 to the registry bucket, deployed by URI and checksum', () => {
    const json = parse(synth({ ...ledger, build: 'make', package: { kind: 'artifact', cmd: 'node server.js' } }));
    const steps = stepsOf(json, 'ledger-push');
    expect(steps.map((x) => [x.id, x.wait_for])).toEqual([
      ['build', ['-']],
      ['fetch-deploy', ['-']],
      ['upload-artifact', ['build', 'fetch-deploy']],
      ['deploy-staging', ['upload-artifact', 'fetch-deploy']],
      ['plan-production', ['deploy-staging']],
      ['stage-plan', ['plan-production']],
    ]);
    const upload = steps[2].args[1].split('\n');
    expect(upload).toEqual([
      'set -euo pipefail',
      `sha="$$(sha256sum 'dist/app.tar.gz' | cut -d' ' -f1)"`,
      `node /workspace/.c2c/deploy.cjs object put 'dist/app.tar.gz' "gs://${names.registryBucket}/artifacts/ledger/$COMMIT_SHA/{sha256}/app.tar.gz"`,
      'echo "$$sha" > /workspace/artifact.sha256',
      // The cluster's fetcher reads it through the artifact server (the bucket is private; the fetcher has no credentials).
      `echo "http://${platform.artifactHost}/artifacts/ledger/$COMMIT_SHA/$$sha/app.tar.gz" > /workspace/artifact.uri`,
    ]);
    expect(steps[3].args[1]).toContain(
      'apply --service ledger --env staging --artifact "$$(cat /workspace/artifact.uri)" --sha256 "$$(cat /workspace/artifact.sha256)"',
    );
    expect(steps.some((x) => x.name === STEP_IMAGES.docker)).toBe(false);
  });

  it('accepts push steps added after construction', () => {
    const json = parse(
      Testing.synthScope((scope) => {
        const svc = new Microservice(scope, 'service', { service: ledger, platform, refs, connection: 'github' });
        svc.pipeline.addPushStep({ id: 'scan', image: 'aquasec/trivy', args: ['image', 'x'], waitFor: ['docker-build'] });
      }),
    );
    expect(stepsOf(json, 'ledger-push').at(-1)).toMatchObject({ id: 'scan', wait_for: ['docker-build'] });
  });
});
