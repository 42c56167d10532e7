// What a service's build is (its default depends on what it deploys) and the command a build step runs.
import { buildCommand, buildOf, packageOf, portsOf, ServiceDefinition } from '../../../lib/catalog';

const base: ServiceDefinition = {
  name: 'x',
  repo: 'a/x',
  cpus: 0.1,
  mem: 32,
  instances: 1,
  smokeTest: './e2e.sh',
  approvers: ['user:a@b.c'],
};
const upstream: ServiceDefinition = { ...base, package: { kind: 'upstream-image', image: `nginx@sha256:${'a'.repeat(64)}` } };
const artifact: ServiceDefinition = { ...base, package: { kind: 'artifact', cmd: './x' } };

it('the package defaults to the built image', () => expect(packageOf(base)).toEqual({ kind: 'image' }));
it('the build defaults to build.sh, and to none for an upstream image', () => {
  expect(buildOf(base)).toBe('build.sh');
  expect(buildOf(artifact)).toBe('build.sh');
  expect(buildOf(upstream)).toBe('none');
  expect(buildOf({ ...upstream, build: 'make' })).toBe('make');
});
it('the command of each build', () => {
  expect(buildCommand('build.sh')).toBe('./build.sh');
  expect(buildCommand('make')).toBe('make');
  expect(buildCommand({ command: './gradlew check dist' })).toBe('./gradlew check dist');
  expect(buildCommand('none')).toBeUndefined();
});
it('ports default by kind: a containerPort for images, none for artifacts', () => {
  expect(portsOf(base)).toEqual([{ name: 'http', containerPort: 8080 }]);
  expect(portsOf(artifact)).toEqual([{ name: 'http' }]);
});
