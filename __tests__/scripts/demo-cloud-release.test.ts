// The main job's message when a build of the executor fails (no Docker): the service, the trigger, the step, why,
// and the step's last log lines.
import { buildFailure } from '../../scripts/demo/cloud-release';

it('names the service, trigger and failed step with its last log lines, not the steps it stopped', () => {
  const err = buildFailure('billing', 'billing-push', {
    ok: false,
    seconds: 12,
    failed: 'docker-build',
    steps: [
      { key: 'build', image: 'node:20', status: 'ok', seconds: 5 },
      {
        key: 'docker-build',
        image: 'docker',
        status: 'failed',
        seconds: 3,
        reason: 'exited 1',
        logTail: 'Step 3/9 : RUN npm ci\nnpm ERR! missing',
      },
      { key: 'push', image: 'docker', status: 'not run', reason: 'waits for docker-build (failed)' },
    ],
  });
  expect(err.message).toBe(
    'billing: trigger billing-push failed: step docker-build failed (exited 1)\n  | Step 3/9 : RUN npm ci\n  | npm ERR! missing',
  );
});

it('names a step that timed out', () => {
  const err = buildFailure('bulb-api', 'bulb-api-smoke-staging', {
    ok: false,
    seconds: 60,
    steps: [{ key: 'smoke-staging', image: 'node:20-slim', status: 'timeout', reason: 'timed out after 60s', logTail: 'waiting' }],
  });
  expect(err.message).toMatch(
    /^bulb-api: trigger bulb-api-smoke-staging failed: step smoke-staging timeout \(timed out after 60s\)\n {2}\| waiting$/,
  );
});
