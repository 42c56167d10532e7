// The approval notice: its text (diff, link, author, reviewers; nothing secret), posted to a loopback webhook the way
// a Slack or Google Chat incoming webhook receives it, and `deploy plan --notify` through the CLI.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Catalog } from '../../../lib/catalog';
import { approvalLink, noticeText, oneScreenDiff, PlanNotice, postNotice } from '../../../lib/notify';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { main } from '../../../scripts/deploy/cli';
import { startRecordingServer } from '../../helpers/http';
import { caught } from '../../helpers/errors';
import { makeImageStore, startMarathon, testService } from '../deploy/helpers';

const notice: PlanNotice = {
  kind: 'waiting',
  service: 'web',
  environment: 'production',
  planId: '0123456789abcdef0123',
  author: 'ana@example.com',
  commit: '3f2a9c1e5b7d9f1a2b3c',
  diff: '~ container.docker.image: "reg:5000/web:1" -> "reg:5000/web:2"\n~ env.DB_PASSWORD: "old" -> "hunter2"\n+ instances: 3',
  link: approvalLink({ project: 'acme-prod', location: 'europe-west1', buildId: 'b-77', service: 'web' }),
  reviewers: ['user:ben@example.com'],
};

describe('notice text', () => {
  it('says what waits, by whom, for whom, the diff and where to approve; hides secret-looking values', () => {
    expect(noticeText(notice)).toBe(
      [
        'web: a production plan waits for approval',
        'plan 0123456789ab by ana@example.com (commit 3f2a9c1e5b7d)',
        'reviewers: user:ben@example.com',
        '```',
        '~ container.docker.image: "reg:5000/web:1" -> "reg:5000/web:2"',
        '~ env.DB_PASSWORD: (hidden)',
        '+ instances: 3',
        '```',
        'approve or reject: https://console.cloud.google.com/cloud-build/builds;region=europe-west1/b-77?project=acme-prod',
      ].join('\n'),
    );
  });

  it('keeps the diff to one screen', () => {
    const long = Array.from({ length: 30 }, (_, i) => `+ labels.L${i}: "x"`).join('\n');
    const shown = oneScreenDiff(long).split('\n');
    expect(shown).toHaveLength(21);
    expect(shown.at(-1)).toBe("… and 10 more lines (run 'deploy plan' to see all)");
  });

  it('links to the filtered build history when the build is not known yet, to the local command without Cloud Build', () => {
    expect(approvalLink({ project: 'p', location: 'eu', service: 'web' })).toBe(
      'https://console.cloud.google.com/cloud-build/builds;region=eu?project=p&query=tags%3D%22web%22%20AND%20tags%3D%22production%22',
    );
    expect(approvalLink({ service: 'web', planPath: '.c2c/plans/x.json' })).toBe('deploy approve .c2c/plans/x.json');
  });

  it('status messages: reminder, approved, applied, rolled back, expired', () => {
    const line = (kind: PlanNotice['kind'], extra: Partial<PlanNotice> = {}) => noticeText({ ...notice, kind, ...extra }).split('\n')[0];
    expect(line('reminder', { waitingMinutes: 45 })).toBe('web: the production plan still waits for approval (45 min)');
    expect(line('approved', { by: 'ben@example.com' })).toBe('web: the production plan was approved by ben@example.com; applying');
    expect(line('applied')).toBe('web: the production plan is applied and healthy');
    expect(line('rolled-back')).toBe('web: the production deploy failed and was rolled back');
    expect(line('expired')).toBe('web: the production plan expired without approval; push again for a new plan');
    expect(noticeText({ ...notice, kind: 'applied' })).not.toContain('```');
  });
});

describe('posting', () => {
  it('posts {text} as JSON to the webhook; a failing webhook is NOTIFY_FAILED without the URL in the message', async () => {
    const hook = await startRecordingServer((req, res) => res.writeHead(req.url === '/hooks/T1/B2/secret-part' ? 200 : 500).end('ok'));
    try {
      await postNotice(`${hook.url}/hooks/T1/B2/secret-part`, notice);
      const got = hook.received[0];
      expect(got.method).toBe('POST');
      expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(got.body)).toEqual({ text: noticeText(notice) });
      const e = await caught(postNotice(`${hook.url}/hooks/T1/B2/other-secret`, notice));
      expect(e).toMatchObject({ code: 'NOTIFY_FAILED', message: 'could not post the waiting notice for web: the webhook answered 500' });
      expect(`${e.message} ${(e as { hint?: string }).hint}`).not.toContain('secret');
    } finally {
      await hook.close();
    }
  });
});

describe('deploy plan --notify', () => {
  let store: ReturnType<typeof makeImageStore>;
  let marathon: LocalMarathon;
  let hook: Awaited<ReturnType<typeof startRecordingServer>>;
  const dir = mkdtempSync(join(tmpdir(), 'c2c-notify-'));
  const catalog = new Catalog([testService('web', { approvers: ['user:ben@example.com'] })]);

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

  async function plan(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stdout.resume();
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const args = ['plan', '--service', 'web', '--env', 'production', '--image', 'reg:5000/web:2', '--commit', 'c0ffee1234567'];
    const code = await main([...args, '--commit-author', 'ana@example.com', '--out', join(dir, 'p.json'), '--notify'], {
      stdout,
      stderr,
      catalog,
      env: { CI: 'true', MARATHON_URL: marathon.url, C2C_AUDIT_LOG: join(dir, 'audit.jsonl'), DEPLOY_ACTOR: 'ana@example.com', ...env },
    });
    return { code, stderr: err };
  }

  it("posts the plan's notice to C2C_NOTIFY_WEBHOOK: diff, author, reviewers, link; no credential", async () => {
    const r = await plan({
      C2C_NOTIFY_WEBHOOK: `${hook.url}/hook/very-secret`,
      C2C_BUILD_PROJECT: 'acme-prod',
      C2C_BUILD_LOCATION: 'europe-west1',
      MARATHON_CREDENTIALS: 'deployer:pa55word',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/notified the reviewers of web that plan [0-9a-f]{12} waits for approval/);
    const text = (JSON.parse(hook.received.at(-1)!.body) as { text: string }).text;
    expect(text.split('\n').slice(0, 3)).toEqual([
      'web: a production plan waits for approval',
      expect.stringMatching(/^plan [0-9a-f]{12} by ana@example\.com \(commit c0ffee123456\)$/),
      'reviewers: user:ben@example.com',
    ]);
    expect(text).toContain('"reg:5000/web:2"');
    expect(text).toContain('approve or reject: https://console.cloud.google.com/cloud-build/builds;region=europe-west1?project=acme-prod');
    expect(text).not.toMatch(/very-secret|pa55word|deployer/);
  });

  it('without a webhook setting the plan stands and a note says how to set one', async () => {
    const before = hook.received.length;
    const r = await plan({});
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'note: --notify: no C2C_NOTIFY_WEBHOOK is set (a Slack or Google Chat incoming webhook URL); nobody was told',
    );
    expect(hook.received.length).toBe(before);
  });
});
