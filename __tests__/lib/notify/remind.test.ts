// The reminder against a loopback stand-in of the Cloud Build API (builds list, pages, errors), a loopback metadata
// server for the token and a loopback chat webhook: what is listed, which builds are reminded, what is posted.
import { C2CError } from '../../../lib/errors';
import { noticeText, PENDING_FILTER, parseRemindMinutes, reminderDue, remindSchedule, remindWaitingBuilds } from '../../../lib/notify';
import { caught } from '../../helpers/errors';
import { Received, sendJson, startRecordingServer } from '../../helpers/http';

const PLAN_ID = 'a'.repeat(64);
const NOW = new Date('2026-03-02T12:47:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

/** A production build as the production trigger makes it, waiting for approval. */
const waitingBuild = (id: string, service: string, waitedMinutes: number, extra: Record<string, unknown> = {}) => ({
  id,
  status: 'PENDING',
  createTime: minutesAgo(waitedMinutes),
  tags: ['c2c', service, 'production'],
  substitutions: { _PLAN_OBJECT: `plans/${service}/production/${PLAN_ID}.json`, COMMIT_SHA: '3f2a9c1e5b7d9f1a2b3c4d5e6f708192a3b4c5d6' },
  approval: { state: 'PENDING' },
  ...extra,
});

type Servers = { api: Awaited<ReturnType<typeof startRecordingServer>>; md: Awaited<ReturnType<typeof startRecordingServer>> };
type Hook = Awaited<ReturnType<typeof startRecordingServer>>;

async function withServers(pages: unknown[][], run: (s: Servers & { hook: Hook }) => Promise<void>, status = 200): Promise<void> {
  const api = await startRecordingServer((req, res) => {
    if (status !== 200) return sendJson(res, status, { error: { code: status, message: 'boom' } });
    const token = new URL(req.url, 'http://x').searchParams.get('pageToken');
    const page = token ? Number(token) : 0;
    sendJson(res, 200, { builds: pages[page], ...(page + 1 < pages.length ? { nextPageToken: String(page + 1) } : {}) });
  });
  const md = await startRecordingServer((_req, res) => sendJson(res, 200, { access_token: 'md-token', expires_in: 3600 }));
  const hook = await startRecordingServer((_req, res) => res.writeHead(200).end('ok'));
  try {
    await run({ api, md, hook });
  } finally {
    await Promise.all([api.close(), md.close(), hook.close()]);
  }
}

const options = (s: Servers & { hook: Hook }) => ({
  project: 'acme-prod',
  location: 'europe-west1',
  auth: { metadataUrl: s.md.url },
  baseUrl: s.api.url,
  webhook: `${s.hook.url}/hooks/reviewers`,
  afterMinutes: 30,
  everyMinutes: 15,
  now: NOW,
  reviewersOf: (service: string) => (service === 'web' ? ['user:ben@example.com'] : undefined),
});

const posted = (r: Received[]) => r.map((x) => (JSON.parse(x.body) as { text: string }).text);

describe('remindWaitingBuilds', () => {
  it('a build waiting 40 minutes with after=30 gets one reminder: service, minutes, link, reviewers, plan and commit', async () => {
    await withServers([[waitingBuild('b-40', 'web', 40)]], async (s) => {
      const result = await remindWaitingBuilds(options(s));
      expect(result.waiting).toBe(1);
      expect(result.reminders.map((r) => [r.buildId, r.service, r.waitingMinutes, r.sent])).toEqual([['b-40', 'web', 40, true]]);
      const [call] = s.api.received;
      expect(call.method).toBe('GET');
      const url = new URL(call.url, 'http://x');
      expect(url.pathname).toBe('/v1/projects/acme-prod/locations/europe-west1/builds');
      expect(url.searchParams.get('filter')).toBe(PENDING_FILTER);
      expect(call.headers.authorization).toBe('Bearer md-token');
      expect(s.md.received[0].headers['metadata-flavor']).toBe('Google');
      expect(s.hook.received).toHaveLength(1);
      expect(s.hook.received[0].method).toBe('POST');
      expect(s.hook.received[0].url).toBe('/hooks/reviewers');
      expect(posted(s.hook.received)).toEqual([
        [
          'web: the production plan still waits for approval (40 min)',
          'plan aaaaaaaaaaaa (commit 3f2a9c1e5b7d)',
          'reviewers: user:ben@example.com',
          'approve or reject: https://console.cloud.google.com/cloud-build/builds;region=europe-west1/b-40?project=acme-prod',
        ].join('\n'),
      ]);
      expect(posted(s.hook.received)[0]).toBe(noticeText(result.reminders[0].notice));
    });
  });

  it('a build waiting 10 minutes, a non-production build and builds no longer pending get none', async () => {
    const builds = [
      waitingBuild('b-10', 'web', 10),
      waitingBuild('staging', 'web', 60, { tags: ['c2c', 'web', 'push'] }),
      waitingBuild('platform', 'platform', 60, { tags: ['c2c', 'platform', 'production'] }),
      waitingBuild('approved', 'web', 60, { status: 'QUEUED', approval: { state: 'APPROVED' } }),
      waitingBuild('rejected', 'web', 60, { status: 'PENDING', approval: { state: 'REJECTED' } }),
      waitingBuild('no-approval', 'web', 60, { approval: undefined }),
    ];
    await withServers([builds], async (s) => {
      const result = await remindWaitingBuilds(options(s));
      expect(result).toEqual({ waiting: 1, reminders: [] });
      expect(s.hook.received).toEqual([]);
    });
  });

  it('reads every page of the list; without a webhook nothing is posted (dry run)', async () => {
    await withServers([[waitingBuild('b-1', 'web', 45)], [waitingBuild('b-2', 'ledger', 120)]], async (s) => {
      const result = await remindWaitingBuilds({ ...options(s), webhook: undefined });
      expect(s.api.received.map((r) => new URL(r.url, 'http://x').searchParams.get('pageToken'))).toEqual([null, '1']);
      expect(result.reminders.map((r) => [r.buildId, r.service, r.waitingMinutes, r.sent])).toEqual([
        ['b-1', 'web', 45, false],
        ['b-2', 'ledger', 120, false],
      ]);
      expect(result.reminders[1].notice.reviewers).toBeUndefined();
      expect(s.hook.received).toEqual([]);
    });
  });

  it('a webhook that fails is recorded on the reminder, without its URL, and the others are still posted', async () => {
    await withServers([[waitingBuild('b-1', 'web', 45), waitingBuild('b-2', 'ledger', 50)]], async (s) => {
      let n = 0;
      s.hook.server.removeAllListeners('request');
      s.hook.server.on('request', (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(n++ === 0 ? 500 : 200).end());
      });
      const result = await remindWaitingBuilds(options(s));
      expect(result.reminders.map((r) => [r.buildId, r.sent, r.error])).toEqual([
        ['b-1', false, 'could not post the reminder notice for web: the webhook answered 500'],
        ['b-2', true, undefined],
      ]);
    });
  });

  it('an API error is a C2CError naming the call and the status; 403 names the role', async () => {
    await withServers(
      [[]],
      async (s) => {
        const e = await caught(remindWaitingBuilds(options(s)));
        expect(e).toMatchObject({
          code: 'GOOGLE_HTTP',
          message:
            'could not list the production builds waiting for approval in acme-prod/europe-west1 from the Cloud Build API: the API answered 500',
        } satisfies Partial<C2CError>);
        expect(s.hook.received).toEqual([]);
      },
      500,
    );
    await withServers(
      [[]],
      async (s) => {
        const e = await caught(remindWaitingBuilds(options(s)));
        expect(e).toMatchObject({
          code: 'GOOGLE_DENIED',
          hint: 'the reminder needs cloudbuild.builds.list on the project (roles/cloudbuild.builds.viewer)',
        } satisfies Partial<C2CError>);
      },
      403,
    );
  });
});

describe('reminderDue', () => {
  const created = new Date('2026-03-02T12:07:00Z');
  /** The scheduled runs of one day, each `lateSeconds` after its cron minute. */
  const runs = (every: number, lateSeconds: number) =>
    Array.from(
      { length: 24 * (60 / every) },
      (_, i) => new Date(Date.parse('2026-03-02T12:00:00Z') + i * every * 60_000 + lateSeconds * 1000),
    );

  it('first reminds at the first run after afterMinutes, then once per run, however late in its slot a run starts', () => {
    for (const late of [0, 5, 599, 899]) {
      const due = runs(15, late).filter((t) => reminderDue(created, t, 30, 15).due);
      // 12:07 + 30 min = 12:37: the 12:45 run is the first; one per run from then on.
      expect(due[0].toISOString()).toBe(new Date(Date.parse('2026-03-02T12:45:00Z') + late * 1000).toISOString());
      // Every run of the day from 12:45 on: 96 runs, of which 12:00, 12:15 and 12:30 come before the first threshold.
      expect(due).toHaveLength(93);
    }
  });

  it('two runs in one slot both remind (a run by hand, or a delayed one): due belongs to the slot, not to the run', () => {
    // The 13:00 run is delayed into the 13:15 slot (13:16), where the 13:15 run also starts (13:15:30).
    const starts = ['12:45:00', '13:16:00', '13:15:30', '13:30:00'].map((t) => new Date(`2026-03-02T${t}Z`));
    expect(starts.map((t) => reminderDue(created, t, 30, 15).due)).toEqual([true, true, true, true]);
    // A second run 5 minutes into every slot of the day: each of the 93 due slots reminds twice, the 3 before none.
    const twice = [...runs(15, 0), ...runs(15, 300)].filter((t) => reminderDue(created, t, 30, 15).due);
    expect(twice).toHaveLength(2 * 93);
  });

  it('counts whole minutes waited; a build created after the run is not due', () => {
    expect(reminderDue(created, new Date('2026-03-02T12:47:59Z'), 30, 15)).toEqual({ due: true, waitingMinutes: 40 });
    expect(reminderDue(created, new Date('2026-03-02T12:36:00Z'), 30, 15)).toEqual({ due: false, waitingMinutes: 29 });
    expect(reminderDue(created, new Date('2026-03-02T12:00:00Z'), 30, 15)).toEqual({ due: false, waitingMinutes: 0 });
  });
});

describe('settings', () => {
  it('parses minutes and names the flag and the value when they are not usable', () => {
    expect(parseRemindMinutes('30', '--after', 'after')).toBe(30);
    expect(parseRemindMinutes('60', 'C2C_REMIND_EVERY_MINUTES', 'every')).toBe(60);
    expect(() => parseRemindMinutes('0', '--after', 'after')).toThrow("--after '0' must be a whole number of minutes from 1 to 10080");
    expect(() => parseRemindMinutes('7', '--every', 'every')).toThrow(
      "--every '7' must be one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440 minutes",
    );
  });

  it('runs on a cron schedule that fires evenly at the interval', () => {
    expect([5, 15, 60, 120, 1440].map(remindSchedule)).toEqual(['*/5 * * * *', '*/15 * * * *', '0 * * * *', '0 */2 * * *', '0 0 * * *']);
  });
});
