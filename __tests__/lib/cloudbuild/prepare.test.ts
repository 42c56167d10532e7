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
        { id: 'sidecar', name: 'gcr.io/cloud-builders/docker', args: ['run', '-d', 'registry:2.8.3'], waitFor: ['-'] },
      ],
    },
    { context },
  );
  expect(steps[0]).toMatchObject({ args: ['-c', 'echo billing:0123456 $HOME'], dir: '/workspace/app', after: [] });
  expect(steps[0].standIn).toEqual({ image: expect.stringMatching(/^c2c-standin\/node:/) });
  expect(steps[1].after).toEqual(['build']);
  expect(steps[1].standIn).toEqual({ notRunnable: expect.stringMatching(/provider registry/) });
  expect(steps[2].standIn).toEqual({ notRunnable: expect.stringMatching(/^it runs registry:2.8.3/) });
});

it('lets a run-time substitution override the trigger', () => {
  const [s] = prepareBuild(
    { substitutions: { _A: 'x' }, steps: [{ name: 'node:20', args: ['$_A'] }] },
    { context, substitutions: { _A: 'y' } },
  );
  expect(s.args).toEqual(['y']);
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
