// A deploy given the wrong kind of package reference (an image for an artifact service) is bad input: exit 2.
import { ServiceDefinition } from '../../lib/catalog';
import { renderMarathonApp } from '../../lib/marathon/render';
import { exitCodeFor } from '../../scripts/cli-kit';

const artifact: ServiceDefinition = {
  name: 'timer',
  repo: 'acme/timer',
  cpus: 0.1,
  mem: 32,
  instances: 1,
  package: { kind: 'artifact', cmd: 'node server.js' },
  smokeTest: './e2e.sh',
  approvers: ['user:a@example.com'],
};

it('an image for an artifact service: exit 2', () => {
  let error: unknown;
  try {
    renderMarathonApp(artifact, 'staging', { image: 'reg:5000/timer:1' });
  } catch (e) {
    error = e;
  }
  expect(exitCodeFor(error)).toBe(2);
});
