import { probeDockerEngine, useDocker } from '../../../lib/docker/engine';
import { C2CError } from '../../../lib/errors';

const up = { available: true as const, version: '20.10.24' };
const down = { available: false as const, reason: 'no Docker engine answers (Cannot connect to the Docker daemon)' };

it('auto uses Docker exactly when an engine answers', () => {
  expect(useDocker('auto', up)).toBe(true);
  expect(useDocker('auto', down)).toBe(false);
});

it('never does not use Docker, even with an engine', () => {
  expect(useDocker('never', up)).toBe(false);
  expect(useDocker('never', undefined)).toBe(false);
});

it('always fails without an engine, naming the flag, the reason and the fix', () => {
  expect(useDocker('always', up)).toBe(true);
  let err: unknown;
  try {
    useDocker('always', down);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(C2CError);
  expect(err).toMatchObject({
    code: 'DOCKER_NOT_FOUND',
    message: '--docker always: no Docker engine answers (Cannot connect to the Docker daemon)',
    hint: expect.stringContaining('--docker auto (or never)'),
  });
});

it('says there is no docker command when none is on PATH', async () => {
  expect(await probeDockerEngine({ env: { PATH: '/nonexistent' } })).toEqual({ available: false, reason: 'no docker command on PATH' });
});
