// The names the synth fixed, read from a build and routed to the local Marathons (no Docker needed).
import { synthesizedMarathonHosts, synthesizedRoutes } from '../../../lib/cloudbuild/service-run';
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

it('lists the Marathon host names of every trigger for the local Marathons to accept', () => {
  const t = { name: 'x-push', stack: 's', event: 'push', project: 'p', location: 'l', build } as ReadTrigger;
  expect(synthesizedMarathonHosts([t])).toEqual({ staging: ['marathon.staging.internal'], production: ['mp.example.internal'] });
});
