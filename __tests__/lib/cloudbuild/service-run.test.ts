// The names the synth fixed, read from a build and routed to the local Marathons; which builds an object starts (no Docker).
import {
  filterHolds,
  ServiceRunSetup,
  startsFor,
  startsNamedSidecar,
  synthesizedMarathonHosts,
  synthesizedRoutes,
} from '../../../lib/cloudbuild/service-run';
import { turns } from '../../../lib/cloudbuild/service-setup';
import { C2CError } from '../../../lib/errors';
import { ReadTrigger } from '../../../lib/cloudbuild/triggers';
import { Build } from '../../../lib/cloudbuild/types';

const deployEnv = ['MARATHON_URL_STAGING=http://marathon.staging.internal:8080', 'MARATHON_URL_PRODUCTION=https://mp.example.internal'];
const build: Build = {
  steps: [
    { id: 'deploy-staging', name: 'node:20', env: deployEnv },
    { id: 'smoke-staging', name: 'node:20-slim', env: ['SERVICE_URL=http://bulb-api.staging.marathon.internal', 'DEPLOY_ENV=staging'] },
    { id: 'smoke-x', name: 'node:20-slim', env: ['SERVICE_URL=http://elsewhere.example', 'DEPLOY_ENV=qa'] },
  ],
};

it('routes each Marathon URL of a step to the local Marathon of its environment, and each smoke URL to its app', () => {
  const routes = synthesizedRoutes(build, 'bulb-api', { staging: 'http://127.0.0.1:4001', production: 'http://127.0.0.1:4002' });
  expect(routes.map((r) => [r.names, r.port, typeof r.target === 'function' ? 'first task' : r.target])).toEqual([
    [['marathon.staging.internal'], 8080, { host: '127.0.0.1', port: 4001 }],
    [['mp.example.internal'], 443, { host: '127.0.0.1', port: 4002 }],
    [['bulb-api.staging.marathon.internal'], 80, 'first task'],
  ]);
});

it("routes a private pool check's target to the local Marathon whose synthesized name it is", () => {
  const smoke: Build = {
    steps: [
      {
        id: 'in-private-pool',
        name: 'node:20',
        env: ['C2C_POOL=p', 'C2C_POOL_CHECK_TARGETS=http://marathon.staging.internal:8080 http://x.example'],
      },
    ],
  };
  const known = { staging: ['marathon.staging.internal'], production: [] };
  const routes = synthesizedRoutes(smoke, 'bulb-api', { staging: 'http://127.0.0.1:4001', production: 'http://127.0.0.1:4002' }, known);
  expect(routes.map((r) => [r.names, r.port, r.target])).toEqual([
    [['marathon.staging.internal'], 8080, { host: '127.0.0.1', port: 4001 }],
  ]);
});

it('lists the Marathon host names of every trigger for the local Marathons to accept', () => {
  const t = { name: 'x-push', stack: 's', event: 'push', project: 'p', location: 'l', build } as ReadTrigger;
  expect(synthesizedMarathonHosts([t])).toEqual({ staging: ['marathon.staging.internal'], production: ['mp.example.internal'] });
});

it("evaluates the synth's CEL filters (conjunctions of _KEY.matches) and refuses other forms", () => {
  expect(filterHolds('_P.matches("^plans/a/[^/]+[.]json$")', { _P: 'plans/a/x.json' })).toBe(true);
  expect(filterHolds('_P.matches("^plans/a/[^/]+[.]json$")', { _P: 'staged/a/x.json' })).toBe(false);
  expect(filterHolds('_P.matches("^p") && _Q.matches("q$")', { _P: 'p1', Q: 'q' })).toBe(false);
  expect(filterHolds(undefined, {})).toBe(true);
  expect(() => filterHolds('_P == "x"', { _P: 'x' })).toThrow(C2CError);
});

it("starts the Pub/Sub triggers on the notified bucket's topic whose filter holds, with the message's attributes bound", () => {
  const pubsub = (name: string, key: string, re: string, approvalRequired = false) =>
    ({
      name,
      stack: 's',
      event: 'scheduled',
      project: 'p',
      location: 'l',
      approvalRequired,
      unresolved: [],
      pubsub: { topic: 'projects/p/topics/plans', filter: `${key}.matches("${re}")` },
      build: { steps: [], substitutions: { [key]: '$(body.message.attributes.objectId)', _B: '$(body.message.attributes.bucketId)' } },
    }) as ReadTrigger;
  const setup = {
    triggers: [pubsub('a-smoke', '_S', '^staged/a/'), pubsub('a-production', '_P', '^plans/a/', true)],
    notifications: [{ bucket: 'deploy', topic: 'projects/p/topics/plans', eventTypes: ['OBJECT_FINALIZE'] }],
  } as unknown as ServiceRunSetup;
  expect(startsFor(setup, 'deploy', 'staged/a/1.json', '5').map((x) => [x.trigger.name, x.substitutions])).toEqual([
    ['a-smoke', { _S: 'staged/a/1.json', _B: 'deploy' }],
  ]);
  expect(startsFor(setup, 'deploy', 'plans/a/1.json', '6').map((x) => x.trigger.name)).toEqual(['a-production']);
  expect(startsFor(setup, 'other-bucket', 'plans/a/1.json', '6')).toEqual([]);
  expect(startsFor(setup, 'deploy', 'smoke/a/1.json', '7')).toEqual([]);
});

it('knows the builds that start a named side-car (one per engine here), and only those', () => {
  const sidecar = {
    id: 'registry-sidecar',
    name: 'docker',
    args: ['run', '-d', '--name', 'c2c-registry', '-p', '5000:5000', 'registry:2'],
  };
  expect(startsNamedSidecar({ steps: [sidecar, { id: 'push', name: 'docker', args: ['push', 'x'] }] })).toBe(true);
  // A container without a name, one in the foreground, or a script that happens to say `run` is no side-car.
  expect(startsNamedSidecar({ steps: [{ ...sidecar, args: ['run', '-d', 'registry:2'] }] })).toBe(false);
  expect(startsNamedSidecar({ steps: [{ ...sidecar, args: ['run', '--rm', '--name', 'x', 'alpine'] }] })).toBe(false);
  expect(startsNamedSidecar({ steps: [{ ...sidecar, entrypoint: 'bash', args: ['run', '-d', '--name', 'x'] }] })).toBe(false);
});

it('gives turns one at a time, in call order, and a failed turn does not stop the next', async () => {
  const turn = turns();
  const log: string[] = [];
  let release!: () => void;
  const first = turn(async () => {
    log.push('1 start');
    await new Promise<void>((r) => (release = r));
    log.push('1 end');
    throw new Error('first failed');
  });
  const second = turn(async () => (log.push('2 start'), 2));
  await new Promise((r) => setImmediate(r));
  expect(log).toEqual(['1 start']);
  release();
  await expect(first).rejects.toThrow('first failed');
  await expect(second).resolves.toBe(2);
  expect(log).toEqual(['1 start', '1 end', '2 start']);
});
