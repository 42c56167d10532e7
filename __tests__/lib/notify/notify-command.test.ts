// `deploy notify --plan FILE`: the push build's step after the plan upload tells the reviewers, through the CLI, from
// the plan file the build wrote; reviewers come from the catalog.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Catalog } from '../../../lib/catalog';
import { LocalMarathon } from '../../../packages/local-marathon';
import { main } from '../../../scripts/deploy/cli';
import { startRecordingServer } from '../../helpers/http';
import { makeImageStore, startMarathon, testService } from '../deploy/helpers';

let store: ReturnType<typeof makeImageStore>;
let marathon: LocalMarathon;
let hook: Awaited<ReturnType<typeof startRecordingServer>>;
const dir = mkdtempSync(join(tmpdir(), 'c2c-notify-cmd-'));
const catalog = new Catalog([testService('web', { approvers: ['user:ben@example.com'] })]);
const planFile = join(dir, 'production.plan.json');

beforeAll(async () => {
  store = makeImageStore();
  marathon = await startMarathon(store.dir);
  hook = await startRecordingServer((_req, res) => res.writeHead(200).end('ok'));
});
afterAll(async () => {
  await hook.close();
  await marathon.close();
  store.remove();
  rmSync(dir, { recursive: true, force: true });
});

async function deploy(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stdout.resume();
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(args, {
    stdout,
    stderr,
    catalog,
    env: { CI: 'true', MARATHON_URL: marathon.url, C2C_AUDIT_LOG: join(dir, 'audit.jsonl'), DEPLOY_ACTOR: 'ana@example.com', ...env },
  });
  return { code, stderr: err };
}

it('posts the notice of a plan already written (no new plan, nothing sent before it is asked)', async () => {
  const planned = await deploy(['plan', '--service', 'web', '--env', 'production', '--image', 'reg:5000/web:2', '--out', planFile]);
  expect(planned.code).toBe(0);
  expect(hook.received).toHaveLength(0);
  const r = await deploy(['notify', '--plan', planFile], {
    C2C_NOTIFY_WEBHOOK: `${hook.url}/hook/very-secret`,
    C2C_BUILD_PROJECT: 'acme-prod',
    C2C_BUILD_LOCATION: 'europe-west1',
  });
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/notified the reviewers of web that plan [0-9a-f]{12} waits for approval/);
  const text = (JSON.parse(hook.received.at(-1)!.body) as { text: string }).text;
  expect(text.split('\n')[0]).toBe('web: a production plan waits for approval');
  expect(text).toContain('reviewers: user:ben@example.com');
  expect(text).not.toContain('very-secret');
});

it('refuses a file that is not a plan, with exit 2, and posts nothing', async () => {
  const before = hook.received.length;
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"service":"web"}');
  const r = await deploy(['notify', '--plan', bad], { C2C_NOTIFY_WEBHOOK: `${hook.url}/hook` });
  expect(r.code).toBe(2);
  expect(hook.received.length).toBe(before);
});
