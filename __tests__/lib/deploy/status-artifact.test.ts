// `deploy status` for an artifact service, against the local Marathon: where an image service shows its image, an
// artifact service shows its fetch URI and SHA-256, and a definition that round-trips through Marathon has no drift.
// (Zero instances: this checks the definition and the status data, not the fetcher.)
import { artifactUri } from '../../../lib/catalog';
import { fleetStatus } from '../../../lib/deploy/status';
import { renderMarathonApp } from '../../../lib/marathon/render';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { deployContext, makeImageStore, startMarathon, testService } from './helpers';

let lm: LocalMarathon;
let store: ReturnType<typeof makeImageStore>;
beforeAll(async () => {
  store = makeImageStore();
  lm = await startMarathon(store.dir);
});
afterAll(async () => {
  await lm.close();
  store.remove();
});

const service = testService('timer', { instances: 0, package: { kind: 'artifact', cmd: 'node server.js' }, build: 'make' });
const sha256 = 'ab'.repeat(32);
const uri = artifactUri('http://127.0.0.1:1/bucket', service, '3f2a9c1', sha256);

it('shows the artifact URI and checksum, no image, and no drift', async () => {
  const client = deployContext(lm.url).client;
  await client.putApp('/staging/timer', renderMarathonApp(service, 'staging', { artifact: { uri, sha256 } }));
  const [row] = await fleetStatus({ services: [service], clients: { staging: client } });
  expect([row.image, row.artifact, row.drift]).toEqual([null, { uri, sha256 }, []]);
});

it('an artifact service whose live app still runs an image: the package is the drift', async () => {
  const client = deployContext(lm.url).client;
  await client.putApp(
    '/staging/timer',
    renderMarathonApp(testService('timer', { instances: 0 }), 'staging', { image: 'reg:5000/timer:1' }),
  );
  const [row] = await fleetStatus({ services: [service], clients: { staging: client } });
  expect([row.image, row.artifact, row.drift]).toEqual(['reg:5000/timer:1', null, [{ path: 'fetch', kind: 'removed' }]]);
});
