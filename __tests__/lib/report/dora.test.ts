import { AuditEvent } from '../../../lib/audit/log';
import { doraReport, formatDuration, parseSince } from '../../../lib/report/dora';
import { chartData } from '../../../lib/report/page/charts';

// A recorded production history with known answers (times in UTC, window 2026-11-01 .. 2026-11-11 = 10 days).
let n = 0;
const ev = (type: AuditEvent['type'], service: string, time: string, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  id: `e${(n += 1)}`,
  type,
  service,
  environment: 'production',
  actor: 'ci',
  time,
  ...extra,
});
const log: AuditEvent[] = [
  // api: 3 good deploys, lead times 1h, 2h, 3h.
  ev('apply.started', 'api', '2026-11-02T10:00:00.000Z'),
  ev('apply.succeeded', 'api', '2026-11-02T10:05:00.000Z', { commitTime: '2026-11-02T09:05:00.000Z' }),
  ev('apply.succeeded', 'api', '2026-11-03T10:00:00.000Z', { commitTime: '2026-11-03T08:00:00.000Z' }),
  ev('apply.succeeded', 'api', '2026-11-04T10:00:00.000Z', { commitTime: '2026-11-04T07:00:00.000Z' }),
  // api: a bad deploy rolled back automatically after 4 minutes.
  ev('apply.started', 'api', '2026-11-05T10:00:00.000Z', { deploymentId: 'd-api-bad' }),
  ev('apply.rolled-back', 'api', '2026-11-05T10:04:00.000Z', { deploymentId: 'd-api-bad' }),
  // web: one deploy, then an emergency rollback 30 minutes later.
  ev('apply.succeeded', 'web', '2026-11-06T12:00:00.000Z', { commitTime: '2026-11-06T11:30:00.000Z' }),
  ev('rollback.succeeded', 'web', '2026-11-06T12:30:00.000Z', { emergency: true }),
  // web: a failed deploy left broken, fixed by the next deploy 2 hours later.
  ev('apply.failed', 'web', '2026-11-07T09:00:00.000Z', { deploymentId: 'd-web-bad' }),
  ev('apply.succeeded', 'web', '2026-11-07T11:00:00.000Z', { commitTime: '2026-11-07T10:00:00.000Z' }),
  // Outside the window or environment: ignored.
  ev('apply.succeeded', 'api', '2026-10-20T10:00:00.000Z', { commitTime: '2026-10-20T09:00:00.000Z' }),
  { ...ev('apply.succeeded', 'api', '2026-11-08T10:00:00.000Z'), environment: 'staging' },
];
const since = new Date('2026-11-01T00:00:00.000Z');
const now = new Date('2026-11-11T00:00:00.000Z');

describe('DORA report on a recorded audit log', () => {
  const report = doraReport(log, { since, now });
  const api = report.services.find((s) => s.service === 'api');
  const web = report.services.find((s) => s.service === 'web');

  it('deploy frequency per service and fleet', () => {
    expect(report.days).toBe(10);
    expect(api).toMatchObject({ deploys: 4, deploysPerDay: 0.4 });
    expect(web).toMatchObject({ deploys: 3, deploysPerDay: 0.3 });
    expect(report.fleet).toMatchObject({ service: '(fleet)', deploys: 7, deploysPerDay: 0.7 });
  });

  it('lead time is the median from commit to production', () => {
    expect(api?.leadTimeMs).toBe(2 * 3600_000);
    expect(web?.leadTimeMs).toBe(45 * 60_000); // 30 min and 1 h
    expect(report.fleet.leadTimeMs).toBe(3600_000); // 30m, 1h, 1h, 2h, 3h
  });

  it('change failure rate counts failed, rolled-back and emergency-rolled-back deploys, over the same deploys', () => {
    expect(api).toMatchObject({ deploys: 4, failures: 1, changeFailureRate: 0.25 });
    expect(web).toMatchObject({ deploys: 3, failures: 2 });
    expect(web?.changeFailureRate).toBeCloseTo(2 / 3);
    expect(report.fleet.changeFailureRate).toBeCloseTo(3 / 7);
  });

  it('time to restore: rollback duration, emergency rollback delay, time to the fixing deploy', () => {
    expect(api?.timeToRestoreMs).toBe(4 * 60_000);
    expect(web?.timeToRestoreMs).toBe((30 * 60_000 + 2 * 3600_000) / 2);
    expect(report.fleet.timeToRestoreMs).toBe(30 * 60_000); // 4m, 30m, 2h
  });

  it('no events: zero deploys and no figures rather than NaN', () => {
    const empty = doraReport([], { since, now });
    expect(empty.fleet).toEqual({
      service: '(fleet)',
      deploys: 0,
      deploysPerDay: 0,
      leadTimeMs: null,
      changeFailureRate: null,
      timeToRestoreMs: null,
      failures: 0,
      weeklyDeploys: [0, 0],
    });
    expect(empty.weeks.map((w) => w.deploys)).toEqual([0, 0]);
    expect(empty.leadTimeDistribution.every((b) => b.count === 0)).toBe(true);
  });
});

describe('trends: the same samples cut by week', () => {
  const report = doraReport(log, { since, now });

  it('cuts the window in weeks from its start, the last one shorter', () => {
    expect(report.weeks.map((w) => [w.start, w.end])).toEqual([
      ['2026-11-01T00:00:00.000Z', '2026-11-08T00:00:00.000Z'],
      ['2026-11-08T00:00:00.000Z', '2026-11-11T00:00:00.000Z'],
    ]);
  });

  it('every deploy, failure and restore counts in the week it ended; the weeks add up to the window', () => {
    // All 7 deploys ended 2026-11-02..07 (week 1); nothing in week 2.
    expect(report.weeks.map((w) => w.deploys)).toEqual([7, 0]);
    expect(report.weeks.map((w) => w.failures)).toEqual([3, 0]);
    expect(report.weeks[0].changeFailureRate).toBeCloseTo(3 / 7);
    expect(report.weeks[1].changeFailureRate).toBeNull();
    expect(report.weeks[0].timeToRestoreMs).toBe(report.fleet.timeToRestoreMs);
    expect(report.weeks[0].leadTimeMs).toBe(report.fleet.leadTimeMs);
    const byService = report.services.map((s) => s.weeklyDeploys);
    expect(byService).toEqual([
      [4, 0],
      [3, 0],
    ]);
    expect(report.fleet.weeklyDeploys).toEqual([7, 0]);
  });

  it('a deploy on the last day of a week and one on the first of the next fall in two weeks', () => {
    const r = doraReport(
      [
        ev('apply.succeeded', 'shop', '2026-11-07T23:59:59.000Z', { commitTime: '2026-11-07T23:00:00.000Z' }),
        ev('apply.succeeded', 'shop', '2026-11-08T00:00:00.000Z', { commitTime: '2026-11-06T00:00:00.000Z' }),
      ],
      { since, now },
    );
    expect(r.weeks.map((w) => w.deploys)).toEqual([1, 1]);
    expect(r.weeks.map((w) => w.leadTimeMs)).toEqual([59 * 60_000 + 59_000, 2 * 86400_000]);
  });

  it('counts lead times per range: 30m, 1h, 1h, 2h, 3h', () => {
    expect(report.leadTimeDistribution.map((b) => [b.label, b.count])).toEqual([
      ['< 1h', 1],
      ['1h to 4h', 4],
      ['4h to 1d', 0],
      ['1d to 3d', 0],
      ['3d to 1w', 0],
      ['> 1w', 0],
    ]);
  });
});

describe('one definition of a deploy for every column', () => {
  const one = (events: AuditEvent[]) => doraReport(events, { since, now }).fleet;

  it('a good deploy and a rolled-back one are 2 deploys with 1 failure (never "deploys 1" next to "1/2")', () => {
    const f = one([
      ev('apply.started', 'shop', '2026-11-02T10:00:00.000Z', { deploymentId: 'd1' }),
      ev('apply.succeeded', 'shop', '2026-11-02T10:01:00.000Z', { deploymentId: 'd1' }),
      ev('apply.started', 'shop', '2026-11-03T10:00:00.000Z', { deploymentId: 'd2' }),
      ev('apply.rolled-back', 'shop', '2026-11-03T10:02:00.000Z', { deploymentId: 'd2', durationMs: 120_000 }),
    ]);
    expect(f).toMatchObject({ deploys: 2, failures: 1, changeFailureRate: 0.5, deploysPerDay: 0.2, timeToRestoreMs: 120_000 });
  });

  it('an interrupted deploy that was resumed counts once, by how it ended; one never resumed counts as a deploy, not a failure', () => {
    const f = one([
      ev('apply.started', 'shop', '2026-11-02T10:00:00.000Z', { deploymentId: 'd1' }),
      ev('apply.interrupted', 'shop', '2026-11-02T10:00:10.000Z', { deploymentId: 'd1' }),
      ev('apply.succeeded', 'shop', '2026-11-02T10:01:00.000Z', { deploymentId: 'd1' }),
      ev('apply.started', 'shop', '2026-11-03T10:00:00.000Z', { deploymentId: 'd2' }),
      ev('apply.interrupted', 'shop', '2026-11-03T10:00:10.000Z', { deploymentId: 'd2' }),
    ]);
    expect(f).toMatchObject({ deploys: 2, failures: 0 });
  });

  it('a no-op or a failure before anything was sent is not a deploy; an unknown outcome is a failure', () => {
    const f = one([
      ev('apply.noop', 'shop', '2026-11-02T10:00:00.000Z'),
      ev('apply.failed', 'shop', '2026-11-02T11:00:00.000Z', { reason: 'Marathon rejected PUT' }),
      ev('apply.started', 'shop', '2026-11-03T10:00:00.000Z', { deploymentId: 'd3' }),
      ev('apply.unknown', 'shop', '2026-11-03T10:05:00.000Z', { deploymentId: 'd3' }),
      ev('rollback.succeeded', 'shop', '2026-11-03T10:35:00.000Z'),
    ]);
    expect(f).toMatchObject({ deploys: 1, failures: 1, changeFailureRate: 1, timeToRestoreMs: 30 * 60_000 });
  });
});

describe('report helpers', () => {
  it('parses --since', () => {
    expect(parseSince('30d', now).toISOString()).toBe('2026-10-12T00:00:00.000Z');
    expect(parseSince('12h', now).toISOString()).toBe('2026-11-10T12:00:00.000Z');
    expect(parseSince('2w', now).toISOString()).toBe('2026-10-28T00:00:00.000Z');
    expect(parseSince('2026-11-01', now).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow("--since 'yesterday' is neither a duration nor a date");
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('-');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(200_000)).toBe('3m 20s');
    expect(formatDuration(3_900_000)).toBe('1h 05m');
    expect(formatDuration(3 * 86400_000)).toBe('3d 0h');
  });
});

describe('two-colour releases (blue/green, canary): one deploy each, an abort a failure restored', () => {
  // shop, production, window 2026-11-01 .. 2026-11-11 (two weeks: all of this in the first).
  const rollouts: AuditEvent[] = [
    // 1. Blue/green, released: one deploy (its step is not another), lead time 1h.
    ev('rollout.started', 'shop', '2026-11-02T10:00:00.000Z'),
    ev('rollout.step', 'shop', '2026-11-02T10:01:00.000Z', { rolloutStep: 1, trafficPercent: 100 }),
    ev('rollout.succeeded', 'shop', '2026-11-02T10:02:00.000Z', { commitTime: '2026-11-02T09:02:00.000Z', trafficPercent: 100 }),
    // 2. Canary in three steps with a pause and a promote: one deploy, lead time 2h.
    ev('rollout.started', 'shop', '2026-11-03T10:00:00.000Z'),
    ev('rollout.step', 'shop', '2026-11-03T10:01:00.000Z', { rolloutStep: 1, trafficPercent: 10 }),
    ev('rollout.paused', 'shop', '2026-11-03T10:01:00.000Z', { rolloutStep: 1, trafficPercent: 10 }),
    ev('rollout.promoted', 'shop', '2026-11-03T10:20:00.000Z', { rolloutStep: 1, trafficPercent: 10 }),
    ev('rollout.step', 'shop', '2026-11-03T10:21:00.000Z', { rolloutStep: 2, trafficPercent: 50 }),
    ev('rollout.step', 'shop', '2026-11-03T10:22:00.000Z', { rolloutStep: 3, trafficPercent: 100 }),
    ev('rollout.succeeded', 'shop', '2026-11-03T10:23:00.000Z', { commitTime: '2026-11-03T08:23:00.000Z' }),
    // 3. Canary aborted by `deploy abort` at its first step: a deploy and a failure, restored 6 min after its start
    // (the abort itself took 30 s: the restore runs from the release's start, not the abort's).
    ev('rollout.started', 'shop', '2026-11-04T10:00:00.000Z'),
    ev('rollout.step', 'shop', '2026-11-04T10:01:00.000Z', { rolloutStep: 1, trafficPercent: 10 }),
    ev('rollout.paused', 'shop', '2026-11-04T10:01:00.000Z', { rolloutStep: 1, trafficPercent: 10 }),
    ev('rollout.aborted', 'shop', '2026-11-04T10:06:00.000Z', { reason: 'deploy abort', durationMs: 30_000 }),
    // 4. Aborted by its analysis at the first step: a deploy and a failure, restored in 90 s.
    ev('rollout.started', 'shop', '2026-11-05T10:00:00.000Z'),
    ev('rollout.step', 'shop', '2026-11-05T10:00:30.000Z', { rolloutStep: 1, trafficPercent: 10 }),
    ev('rollout.aborted', 'shop', '2026-11-05T10:01:30.000Z', { reason: 'error rate 40 %' }),
    // 5. Blue/green released, then switched back to the kept colour: counted once (at 100 %), a failure, restored
    // 30 min after the release started.
    ev('rollout.started', 'shop', '2026-11-06T10:00:00.000Z'),
    ev('rollout.step', 'shop', '2026-11-06T10:02:00.000Z', { rolloutStep: 1, trafficPercent: 100 }),
    ev('rollout.succeeded', 'shop', '2026-11-06T10:03:00.000Z'),
    ev('rollout.aborted', 'shop', '2026-11-06T10:30:00.000Z', { reason: 'deploy abort' }),
    // 6. Interrupted mid-way, resumed by promote, released: one deploy, no failure.
    ev('rollout.started', 'shop', '2026-11-07T10:00:00.000Z'),
    ev('rollout.step', 'shop', '2026-11-07T10:01:00.000Z', { rolloutStep: 1, trafficPercent: 50 }),
    ev('rollout.interrupted', 'shop', '2026-11-07T10:02:00.000Z'),
    ev('rollout.promoted', 'shop', '2026-11-07T10:10:00.000Z', { rolloutStep: 1, trafficPercent: 50 }),
    ev('rollout.step', 'shop', '2026-11-07T10:11:00.000Z', { rolloutStep: 2, trafficPercent: 100 }),
    ev('rollout.succeeded', 'shop', '2026-11-07T10:12:00.000Z'),
  ];
  const report = doraReport(rollouts, { since, now });
  const shop = report.services.find((s) => s.service === 'shop');

  it('counts each release once, whatever its steps, pauses and promotes; aborted ones too', () => {
    expect(rollouts.filter((e) => e.type === 'rollout.step')).toHaveLength(9);
    expect(shop).toMatchObject({ deploys: 6, deploysPerDay: 0.6, failures: 3, changeFailureRate: 0.5, weeklyDeploys: [6, 0] });
    expect(report.fleet).toMatchObject({ deploys: 6, failures: 3, changeFailureRate: 0.5 });
  });

  it('an abort is a failure restored from the release start to the abort end; lead time from the released ones', () => {
    // 6 min, 90 s, 30 min: the median is 6 min.
    expect(shop?.timeToRestoreMs).toBe(6 * 60_000);
    expect(report.weeks[0]).toMatchObject({ deploys: 6, failures: 3, changeFailureRate: 0.5, timeToRestoreMs: 6 * 60_000 });
    expect(shop?.leadTimeMs).toBe(1.5 * 3600_000);
  });

  it('the page charts the same numbers as the report (`deploy report --json`)', () => {
    const data = chartData(report);
    expect(data.changeFailureRate).toEqual([{ week: '2026-11-01', rate: 0.5, failures: 3, deploys: 6 }]);
    expect(data.timeToRestore.map((r) => r.minutes)).toEqual([6]);
    expect(data.deploysPerWeek.filter((r) => r.series === 'shop').map((r) => r.deploys)).toEqual([6, 0]);
  });

  it('mixed with rolling deploys of the same service, an abort restores only its own release', () => {
    const mixed = doraReport(
      [
        ev('apply.started', 'shop', '2026-11-08T09:00:00.000Z', { deploymentId: 'd1' }),
        ev('apply.succeeded', 'shop', '2026-11-08T09:05:00.000Z', { deploymentId: 'd1' }),
        ev('rollout.started', 'shop', '2026-11-08T10:00:00.000Z'),
        ev('rollout.aborted', 'shop', '2026-11-08T10:02:00.000Z'),
      ],
      { since, now },
    );
    expect(mixed.fleet).toMatchObject({ deploys: 2, failures: 1, timeToRestoreMs: 2 * 60_000 });
  });
});
