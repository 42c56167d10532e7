import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditEvent } from '../../../../lib/audit/log';
import { DORA_DEFINITIONS, doraReport } from '../../../../lib/report/dora';
import { chartData, deploySeries, NAMED_SERIES, renderSvg } from '../../../../lib/report/page/charts';
import { PageInput, renderPage, verificationState } from '../../../../lib/report/page/html';
import { COLORS, contrastRatio, SERIES, TEXT_PAIRS } from '../../../../lib/report/page/palette';

let n = 0;
const ev = (type: AuditEvent['type'], service: string, time: string, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  id: `e${(n += 1)}`,
  type,
  service,
  environment: 'production',
  actor: 'ci@example.com',
  time,
  ...extra,
});
const since = new Date('2026-11-01T00:00:00.000Z');
const now = new Date('2026-11-22T00:00:00.000Z');
// Ten services over three weeks: svc-0 deploys most; every third deploy of svc-1 is rolled back.
const log: AuditEvent[] = [];
for (let s = 0; s < 10; s++) {
  for (let d = 0; d < 20 - s; d++) {
    const day = 1 + ((d * 3 + s) % 20);
    const time = `2026-11-${String(day).padStart(2, '0')}T1${s % 10}:00:00.000Z`;
    if (s === 1 && d % 3 === 0) log.push(ev('apply.rolled-back', `svc-${s}`, time, { deploymentId: `d-${s}-${d}`, durationMs: 90_000 }));
    else log.push(ev('apply.succeeded', `svc-${s}`, time, { commitTime: new Date(Date.parse(time) - (d + 1) * 1800_000).toISOString() }));
  }
}
const report = doraReport(log, { since, now });
const data = chartData(report);

describe('the numbers behind each chart are the report', () => {
  it('deploys per week: the named series are the busiest services, the rest one series; every week adds up to the report', () => {
    const { named, other } = deploySeries(report);
    expect(named).toEqual(['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4', 'svc-5', 'svc-6'].slice(0, NAMED_SERIES));
    expect(other).toBe(`other services (${10 - NAMED_SERIES})`);
    report.weeks.forEach((w, i) => {
      const rows = data.deploysPerWeek.filter((r) => r.week === w.start.slice(0, 10));
      expect(rows.reduce((a, r) => a + r.deploys, 0)).toBe(w.deploys);
      expect(rows.reduce((a, r) => a + r.deploys, 0)).toBe(report.fleet.weeklyDeploys[i]);
      for (const name of named)
        expect(rows.find((r) => r.series === name)?.deploys).toBe(report.services.find((f) => f.service === name)?.weeklyDeploys[i]);
    });
  });

  it('lead times, change failure rate and time to restore are the report weeks and distribution', () => {
    expect(data.leadTimes).toEqual(report.leadTimeDistribution.map((b) => ({ range: b.label, deploys: b.count })));
    expect(data.changeFailureRate).toEqual(
      report.weeks
        .filter((w) => w.deploys > 0)
        .map((w) => ({ week: w.start.slice(0, 10), rate: w.changeFailureRate, failures: w.failures, deploys: w.deploys })),
    );
    expect(data.timeToRestore.map((r) => r.minutes)).toEqual(
      report.weeks.filter((w) => w.timeToRestoreMs !== null).map((w) => (w.timeToRestoreMs ?? 0) / 60_000),
    );
    expect(data.changeFailureRate.some((r) => r.failures > 0)).toBe(true);
  });
});

const input = (over: Partial<PageInput> = {}): PageInput => ({
  report,
  generatedAt: now,
  fleet: { unavailable: 'no Marathon URL is set' },
  pending: [],
  audit: {
    location: '/tmp/audit.jsonl',
    events: log,
    verification: { records: log.length, signatures: 0, unsigned: 0, anchors: 0, problems: [] },
  },
  maxCommits: 5,
  ...over,
});

describe('the page', () => {
  let html: string;
  beforeAll(async () => {
    html = await renderPage(input());
  }, 30_000);

  it('is one self-contained document: no script, stylesheet link, font, image or frame to load', () => {
    expect(html).toMatch(/^<!doctype html>/);
    for (const loads of [/<script/i, /<link/i, /@import/i, /url\(/i, /\ssrc=/i, /<iframe/i, /@font-face/i]) expect(html).not.toMatch(loads);
    expect(html).toContain(`default-src 'none'`);
  });

  it('has every section, each chart as SVG with selectable text, its number, its definition and its table', () => {
    for (const id of ['dora', 'fleet', 'approvals', 'audit', 'deploys', 'lead-time', 'change-failure-rate', 'time-to-restore'])
      expect(html).toContain(`id="${id}"`);
    expect(html.match(/<svg /g)?.length).toBe(4);
    expect(html).toMatch(/<text[^>]*>deploys<\/text>/);
    expect(html).toContain(`${report.fleet.deploys} deploys`);
    expect(html).toContain('A <strong>failure</strong> is a deploy that was rolled back');
    const series = deploySeries(report);
    report.weeks.forEach((w, i) => {
      const week = w.start.slice(0, 10);
      const counts = [...series.named, series.other].map(
        (name) => data.deploysPerWeek.find((r) => r.week === week && r.series === name)?.deploys,
      );
      expect(html).toContain(`<td>${week}</td>${counts.map((c) => `<td>${c}</td>`).join('')}<td>${report.fleet.weeklyDeploys[i]}</td>`);
    });
    for (const r of data.leadTimes)
      expect(html).toContain(`<td>${r.range.replace('<', '&lt;').replace('>', '&gt;')}</td><td>${r.deploys}</td>`);
  });

  it('says the log verifies only when history --verify found nothing', async () => {
    expect(html).toContain('deploy history --verify holds');
    const bad = await renderPage(
      input({
        audit: {
          ...input().audit,
          verification: { records: 3, signatures: 1, unsigned: 0, anchors: 0, problems: [{ line: 2, message: 'hash chain broken' }] },
        },
      }),
    );
    expect(bad).not.toContain('holds');
    expect(bad).toContain(
      'The audit log FAILS verification (deploy history --verify): 1 problem(s), the first at line 2: hash chain broken',
    );
    expect(verificationState({ notChecked: 'no allowed signers' }).ok).toBe(false);
  });

  it('escapes what a user could have written (service names, reasons, comments)', async () => {
    const evil = ev('gate.refused', '<img src=x onerror=alert(1)>', '2026-11-20T10:00:00.000Z', { reason: '"><script>alert(1)</script>' });
    const page = await renderPage(input({ audit: { ...input().audit, events: [evil] } }));
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('renders a chart without any loader (a data URL in a spec is refused, not fetched)', async () => {
    await expect(renderSvg({ data: { url: 'http://127.0.0.1:9/x.json' }, mark: 'bar' })).rejects.toThrow('the page loads nothing');
  });
});

describe('colours', () => {
  it('every series keeps 3:1 against the background (non-text contrast), every text colour 4.5:1 on its background', () => {
    for (const c of SERIES) expect(contrastRatio(c, COLORS.background)).toBeGreaterThanOrEqual(3);
    for (const [fg, bg] of TEXT_PAIRS) expect(contrastRatio(fg, bg)).toBeGreaterThanOrEqual(4.5);
  });

  it('computes WCAG ratios: black on white is 21, a colour on itself 1', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21);
    expect(contrastRatio('#777777', '#777777')).toBe(1);
    expect(contrastRatio('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
  });
});

describe('definitions', () => {
  it('are word for word the ones docs/deploy.md gives', () => {
    const docs = readFileSync(join(__dirname, '../../../../docs/deploy.md'), 'utf8').replace(/\s+/g, ' ');
    for (const d of Object.values(DORA_DEFINITIONS)) expect(docs).toContain(d);
  });
});
