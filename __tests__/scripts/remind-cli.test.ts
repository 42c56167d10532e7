// `deploy remind` in-process: main(argv, io) against a loopback stand-in of the Cloud Build API (given through
// io.cloudBuildBaseUrl, which only tests set) and a loopback chat webhook. stdout, stderr, exit code, and what reached
// each server: 0 done, 1 the list or a post failed, 2 bad usage (nothing listed or posted).
import { Catalog } from '../../lib/catalog';
import { main } from '../../scripts/deploy/cli';
import { sendJson, startRecordingServer } from '../helpers/http';
import { testService } from '../lib/deploy/helpers';
import { sink } from '../helpers/sink';

const catalog = new Catalog([testService('web', { approvers: ['user:ben@example.com'] }), testService('ledger')]);
const PLAN_ID = 'b'.repeat(64);

/** A production build created `minutes` ago, waiting for approval. 50 minutes is due with --after 30 at any time. */
const waiting = (id: string, service: string, minutes: number) => ({
  id,
  status: 'PENDING',
  createTime: new Date(Date.now() - minutes * 60_000).toISOString(),
  tags: ['c2c', service, 'production'],
  substitutions: { _PLAN_OBJECT: `plans/${service}/production/${PLAN_ID}.json` },
  approval: { state: 'PENDING' },
});

let apiStatus = 200;
let hookStatus = 200;
let builds: unknown[] = [];
let api: Awaited<ReturnType<typeof startRecordingServer>>;
let hook: Awaited<ReturnType<typeof startRecordingServer>>;

beforeAll(async () => {
  api = await startRecordingServer((_req, res) =>
    sendJson(res, apiStatus, apiStatus === 200 ? { builds } : { error: { message: 'boom' } }),
  );
  hook = await startRecordingServer((_req, res) => res.writeHead(hookStatus).end());
});
afterAll(async () => {
  await Promise.all([api.close(), hook.close()]);
});
beforeEach(() => {
  apiStatus = 200;
  hookStatus = 200;
  builds = [waiting('b-50', 'web', 50), waiting('b-10', 'ledger', 10)];
  api.received.length = 0;
  hook.received.length = 0;
});

async function remind(args: string[], env: Record<string, string | undefined> = {}) {
  const out = sink();
  const err = sink();
  const code = await main(['remind', ...args], {
    stdout: out.stream,
    stderr: err.stream,
    env: {
      CI: 'true',
      GOOGLE_OAUTH_ACCESS_TOKEN: 'test-token',
      C2C_BUILD_PROJECT: 'acme-prod',
      C2C_BUILD_LOCATION: 'europe-west1',
      C2C_NOTIFY_WEBHOOK: `${hook.url}/hooks/secret-part`,
      ...env,
    },
    catalog,
    cloudBuildBaseUrl: api.url,
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('deploy remind', () => {
  it('posts one reminder for the build waiting past --after, with the reviewers from the catalog; exit 0', async () => {
    const r = await remind(['--after', '30', '--every', '15']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('reminded: web (build b-50, waiting 50 min)\n');
    expect(r.stderr).toBe(
      '2 production build(s) wait for approval in acme-prod/europe-west1; 1 due for a reminder (after 30 min, every 15 min); 1 posted\n',
    );
    expect(api.received.map((x) => new URL(x.url, 'http://x').pathname)).toEqual(['/v1/projects/acme-prod/locations/europe-west1/builds']);
    expect(api.received[0].headers.authorization).toBe('Bearer test-token');
    expect(hook.received.map((x) => JSON.parse(x.body).text)).toEqual([
      [
        'web: the production plan still waits for approval (50 min)',
        'plan bbbbbbbbbbbb',
        'reviewers: user:ben@example.com',
        'approve or reject: https://console.cloud.google.com/cloud-build/builds;region=europe-west1/b-50?project=acme-prod',
      ].join('\n'),
    ]);
  });

  it('takes --after and --every from the settings: after 5 minutes, every minute reminds both builds', async () => {
    const r = await remind([], { C2C_REMIND_AFTER_MINUTES: '5', C2C_REMIND_EVERY_MINUTES: '1' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('2 due for a reminder (after 5 min, every 1 min); 2 posted');
    expect(hook.received).toHaveLength(2);
  });

  it('--dry-run --json prints what is due and posts nothing', async () => {
    const r = await remind(['--dry-run', '--json'], { C2C_NOTIFY_WEBHOOK: undefined });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed).toMatchObject({
      project: 'acme-prod',
      location: 'europe-west1',
      afterMinutes: 30,
      everyMinutes: 15,
      dryRun: true,
      waiting: 2,
    });
    expect(printed.reminders).toEqual([
      expect.objectContaining({ buildId: 'b-50', service: 'web', waitingMinutes: 50, sent: false, text: expect.stringContaining('b-50') }),
    ]);
    expect(hook.received).toEqual([]);
  });

  it('--dry-run prints the text of each reminder', async () => {
    const r = await remind(['--dry-run']);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      'would remind: web (build b-50, waiting 50 min):',
      '  web: the production plan still waits for approval (50 min)',
    ]);
    expect(hook.received).toEqual([]);
  });

  it.each([
    [['--after', 'soon'], {}, "deploy: --after 'soon' must be a whole number of minutes from 1 to 10080"],
    [
      ['--every', '7'],
      {},
      "deploy: --every '7' must be one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440 minutes",
    ],
    [[], { C2C_REMIND_EVERY_MINUTES: '0' }, "deploy: C2C_REMIND_EVERY_MINUTES '0' must be one of 1, 2, 3, 4, 5, 6, 10, 12"],
    [[], { C2C_BUILD_PROJECT: undefined }, 'deploy: --project is required (no default in the environment)'],
    [['--location', 'Europe West'], {}, "deploy: --location 'Europe West' is not a valid location"],
    [[], { C2C_NOTIFY_WEBHOOK: '' }, 'deploy: no C2C_NOTIFY_WEBHOOK is set: there is nowhere to post the reminders'],
  ] as [string[], Record<string, string | undefined>, string][])('%j %j exits 2 and lists nothing', async (args, env, message) => {
    const r = await remind(args, env);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
    expect(r.stderr).toMatch(/\nhint: /);
    expect(api.received).toEqual([]);
    expect(hook.received).toEqual([]);
  });

  it('an API error exits 1 with one line naming the call and the status', async () => {
    apiStatus = 500;
    const r = await remind([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'deploy: could not list the production builds waiting for approval in acme-prod/europe-west1 from the Cloud Build API: the API answered 500\n',
    );
    expect(hook.received).toEqual([]);
  });

  it('a webhook that fails exits 1 without printing its URL', async () => {
    hookStatus = 404;
    const r = await remind([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('deploy: could not post the reminder notice for web: the webhook answered 404 (build b-50)');
    expect(r.stderr).not.toContain('secret-part');
  });

  it('--help documents the rule and the exit codes', async () => {
    const r = await remind(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('crosses after + k * every minutes');
    expect(r.stdout).toContain('2  bad usage or bad input');
  });
});
