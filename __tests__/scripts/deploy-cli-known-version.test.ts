// Every deploy ends on a known version (issue 24): the deploy CLI in-process against the local Marathon, behind a
// proxy that fails requests the way a real installation can. Each test checks the exit code, the first line the user
// reads and the state Marathon ends in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../../lib/catalog';
import { LocalMarathon } from '../../packages/local-marathon';
import { main } from '../../scripts/deploy/cli';
import { makeImageStore, rawApp, recordingProxy, startMarathon, testService } from '../lib/deploy/helpers';
import { sink } from '../helpers/sink';

// `never` kills an unhealthy task: the new version's tasks run and stay unhealthy until the deadline.
const patient = { path: '/health', gracePeriodSeconds: 2, intervalSeconds: 0.2, timeoutSeconds: 0.15, maxConsecutiveFailures: 0 };
const catalog = new Catalog([
  testService('slowpoke', { healthCheck: patient }),
  testService('queued'),
  testService('blind'),
  testService('fresh'),
]);

let lm: LocalMarathon;
let store: ReturnType<typeof makeImageStore>;
let work: string;
let refuse: (method: string, url: string, seen: readonly string[]) => number | undefined = () => undefined;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;

async function cli(args: string[]): Promise<{ code: number; stderr: string; first: string }> {
  const err = sink();
  const code = await main(args, {
    stdout: sink().stream,
    stderr: err.stream,
    env: { CI: 'true', MARATHON_URL: proxy.url, DEPLOY_ACTOR: 'dev@acme.example', C2C_AUDIT_LOG: join(work, 'audit.jsonl') },
    catalog,
  });
  const stderr = err.text();
  return { code, stderr, first: stderr.split('\n').find((l) => l.startsWith('deploy: ')) ?? '' };
}

/** The image Marathon runs for `/staging/<name>`, and whether a deployment still touches it. */
async function state(name: string): Promise<{ image: unknown; deployments: number }> {
  const app = (await rawApp(lm.url, `/staging/${name}`)) as { container: { docker: { image: string } }; deployments: unknown[] };
  return { image: app.container.docker.image, deployments: app.deployments.length };
}

const apply = (name: string, image: string, timeout: number) =>
  cli(['apply', '--service', name, '--env', 'staging', '--image', `reg:5000/${name}:${image}`, '--timeout', String(timeout)]);

beforeAll(async () => {
  store = makeImageStore(['slowpoke', 'queued', 'blind', 'fresh']);
  lm = await startMarathon(store.dir);
  proxy = await recordingProxy(lm.url, { refuse: (m, u, seen) => refuse(m, u, seen) });
  work = mkdtempSync(join(tmpdir(), 'c2c-known-'));
  for (const name of ['slowpoke', 'queued', 'blind']) expect((await apply(name, '1', 60)).code).toBe(0);
});
afterEach(() => {
  refuse = () => undefined;
});
afterAll(async () => {
  await proxy.close();
  await lm.close();
  store.remove();
  rmSync(work, { recursive: true, force: true });
});

it('a version that never gets healthy is rolled back within the same --timeout, confirmed on the previous version', async () => {
  const r = await apply('slowpoke', 'bad', 9);
  expect([r.code, r.first]).toEqual([
    1,
    expect.stringMatching(
      /^deploy: deploy of reg:5000\/slowpoke:bad to \/staging\/slowpoke failed, rolled back to \S+ .*: deployment \S+ did not finish in time/,
    ),
  ]);
  expect(await state('slowpoke')).toEqual({ image: 'reg:5000/slowpoke:1', deployments: 0 });
});

it('a launch queue that a proxy blocks (403) does not end the deploy: failing tasks are still rolled back', async () => {
  const from = proxy.seen.length;
  refuse = (method, url) => (method === 'GET' && url.startsWith('/v2/queue') ? 403 : undefined);
  // A first deploy: no task runs, so after each failure the wait asks the launch queue why.
  const r = await cli([
    'apply',
    '--service',
    'fresh',
    '--env',
    'staging',
    '--image',
    'reg:5000/fresh:broken',
    '--timeout',
    '60',
    '--max-task-failures',
    '5',
  ]);
  expect([r.code, r.first]).toEqual([
    1,
    expect.stringMatching(
      /^deploy: deploy of reg:5000\/fresh:broken to \/staging\/fresh failed, removed the new app \/staging\/fresh: task failed: /,
    ),
  ]);
  expect(proxy.seen.slice(from).some((s) => s.startsWith('GET /v2/queue'))).toBe(true);
  expect(await rawApp(lm.url, '/staging/fresh')).toBeNull();
});

it('a deployment list that a proxy blocks: the wait goes on from the app, and the deploy succeeds', async () => {
  refuse = (method, url, seen) =>
    method === 'GET' && url.startsWith('/v2/deployments') && seen.some((s) => s.startsWith('PUT ')) ? 403 : undefined;
  const r = await apply('queued', '2', 60);
  expect([r.code, r.first]).toEqual([0, '']);
  expect(await state('queued')).toEqual({ image: 'reg:5000/queued:2', deployments: 0 });
});

it('when the app cannot be read after the change was sent: exit 1, "state unknown", the command that settles it', async () => {
  const from = proxy.seen.length;
  refuse = (method, url, seen) =>
    method === 'GET' && url.startsWith('/v2/apps/staging/blind') && seen.slice(from).some((s) => s.startsWith('PUT ')) ? 403 : undefined;
  const r = await apply('blind', '2', 60);
  expect([r.code, r.first]).toEqual([
    1,
    expect.stringMatching(
      /^deploy: state unknown: version \S+ may be live on \/staging\/blind; reading Marathon failed after the change was sent/,
    ),
  ]);
  expect(r.stderr).toContain("'deploy status --service blind --env staging' shows what runs");
});
