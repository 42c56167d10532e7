// What the runner checks and computes before any container starts (no Docker needed).
import { C2CError } from '../../../lib/errors';
import { prepareBuild } from '../../../lib/cloudbuild/step-runner';
import { redact, readSecrets } from '../../../lib/cloudbuild/secrets';

const context = { projectId: 'acme', buildId: 'b1', location: 'europe-west1', commitSha: '0123456789' };

it('substitutes, resolves the graph, and picks the stand-in or says why a step cannot run here', () => {
  const steps = prepareBuild(
    {
      substitutions: { _SVC: 'billing' },
      steps: [
        { id: 'build', name: 'node:20', entrypoint: 'bash', args: ['-c', 'echo $_SVC:$SHORT_SHA $$HOME'], dir: 'app', waitFor: ['-'] },
        { id: 'plan', name: 'hashicorp/terraform:1.9.8', args: ['plan'] },
        {
          id: 'sidecar',
          name: 'gcr.io/cloud-builders/docker',
          args: [
            'run',
            '-d',
            '--name',
            'r',
            '-p',
            '5000:5000',
            '-e',
            'REGISTRY_STORAGE=gcs',
            '-e',
            'REGISTRY_STORAGE_GCS_BUCKET=b',
            'registry:2.8.3',
          ],
          waitFor: ['-'],
        },
        { id: 'other', name: 'gcr.io/cloud-builders/docker', args: ['pull', 'registry:2.8.3'], waitFor: ['-'] },
      ],
    },
    { context },
  );
  expect(steps[0]).toMatchObject({ args: ['-c', 'echo billing:0123456 $HOME'], dir: '/workspace/app', after: [] });
  expect(steps[0].standIn).toEqual({ image: expect.stringMatching(/^c2c-standin\/node:/) });
  expect(steps[1].after).toEqual(['build']);
  expect(steps[1].standIn).toEqual({ notRunnable: expect.stringMatching(/provider registry/) });
  // The registry side-car runs here as the stand-in, storage on its disk, its port on 127.0.0.1, labelled for cleanup.
  expect(steps[2].standIn).toEqual({ image: 'c2c-standin/docker-builder:4' });
  expect(steps[2].args).toEqual([
    'run',
    '--label',
    'c2c.cloudbuild.build=b1',
    '-d',
    '--name',
    'r',
    '-p',
    '127.0.0.1:5000:5000',
    'c2c-standin/registry:2',
  ]);
  expect(steps[2].note).toBe(
    'stood in: registry:2.8.3 ran as c2c-standin/registry:2, without REGISTRY_STORAGE, REGISTRY_STORAGE_GCS_BUCKET (the registry bucket in Google Cloud Storage cannot be reached here: the side-car keeps its storage on its own disk), ports on 127.0.0.1',
  );
  expect(steps[2].uses).toEqual(['c2c-standin/registry:2']);
  // Any other use of the image is not run.
  expect(steps[3].standIn).toEqual({
    notRunnable: expect.stringMatching(/^it runs registry:2.8.3, which cannot run here: the registry bucket/),
  });
});

it('lets a run-time substitution override the trigger', () => {
  const [s] = prepareBuild(
    { substitutions: { _A: 'x' }, steps: [{ name: 'node:20', args: ['$_A'] }] },
    { context, substitutions: { _A: 'y' } },
  );
  expect(s.args).toEqual(['y']);
});

it("checks a triggered build's substitutions loosely unless it asks for MUST_MATCH; a submitted one strictly", () => {
  const build = { substitutions: { _OBJ: 'smoke/a.json' }, steps: [{ id: 's', name: 'node:20', args: ['true'] }] };
  expect(() => prepareBuild(build, { context })).toThrow('key "_OBJ" in the substitution data is not matched in the template');
  expect(prepareBuild(build, { context, triggered: true }).map((s) => s.key)).toEqual(['s']);
  const strict = { ...build, options: { substitutionOption: 'MUST_MATCH' as const } };
  expect(() => prepareBuild(strict, { context, triggered: true })).toThrow(
    'key "_OBJ" in the substitution data is not matched in the template',
  );
  const loose = { ...build, options: { substitutionOption: 'ALLOW_LOOSE' as const } };
  expect(prepareBuild(loose, { context }).map((s) => s.key)).toEqual(['s']);
});

it('refuses a secretEnv that availableSecrets does not define', () => {
  expect(() => prepareBuild({ steps: [{ id: 's', name: 'node:20', secretEnv: ['TOKEN'] }] }, { context })).toThrow(
    new C2CError('BUILD_INVALID', 'invalid build: step "s" has secretEnv "TOKEN", which availableSecrets does not define'),
  );
});

it('reads secrets by their id and names the missing file, never a value', async () => {
  await expect(readSecrets('/nonexistent', [{ env: 'T', versionName: 'projects/p/secrets/tok/versions/latest' }])).rejects.toThrow(
    'secret projects/p/secrets/tok/versions/latest (for T) is not in the local secret store: /nonexistent/tok does not exist',
  );
  expect(redact('a hunter22 b', new Map([['PW', 'hunter22']]))).toBe('a [secret PW] b');
});

it("puts the registry side-car on the run's own network when the build runs on one in place of cloudbuild", () => {
  const sidecar = {
    name: 'gcr.io/cloud-builders/docker',
    args: ['run', '-d', '--name', 'c2c-registry', '--network', 'cloudbuild', 'registry:2.8.3'],
  };
  const [own] = prepareBuild({ steps: [sidecar] }, { context, network: 'cloudbuild-1234' });
  expect(own.args).toEqual([
    'run',
    '--label',
    'c2c.cloudbuild.build=b1',
    '-d',
    '--name',
    'c2c-registry',
    '--network',
    'cloudbuild-1234',
    'c2c-standin/registry:2',
  ]);
  expect(own.note).toMatch(/, on the run's network cloudbuild-1234$/);
  // On cloudbuild itself, the synthesized network stays.
  const [plain] = prepareBuild({ steps: [sidecar] }, { context });
  expect(plain.args).toContain('cloudbuild');
  expect(plain.note).not.toMatch(/run's network/);
});
