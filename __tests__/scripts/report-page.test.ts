// The whole change and the team's page through the CLI (main(argv, io) in-process) against a local Marathon: a plan
// made with --repo records the commits since what production runs, sealed by its id; approve and the page show them
// (flagged past C2C_MAX_PLAN_COMMITS); the page's tables are the numbers of `report --json`; a damaged log is never
// shown as fine.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlanFile } from '../../lib/gate/plan-file';
import { DoraReport } from '../../lib/report/dora';
import { chartData } from '../../lib/report/page/charts';
import { ANA, BEN, pageFixture, PageFixture } from '../helpers/page-fixture';

let f: PageFixture;
let dir: string;
let repo: string;
let commits: readonly string[];
let waiting: string;
let firstPlanOut: string;
const deploy = (args: string[], as?: string) => f.deploy(args, as);

beforeAll(async () => {
  f = await pageFixture();
  ({ dir, repo, commits } = f);
  waiting = f.waitingPlan;
  firstPlanOut = readFileSync(f.firstPlan, 'utf8');
}, 60_000);

afterAll(() => f?.close());

const readPlan = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PlanFile;

describe('the whole change', () => {
  it('a first plan lists every commit up to its own, and its diff reads one line per leaf', () => {
    const p = JSON.parse(firstPlanOut) as PlanFile;
    expect(p.changes).toEqual({
      from: null,
      to: commits[0],
      commits: [{ sha: commits[0], author: `Ana <${ANA}>`, subject: 'web: first version' }],
      total: 1,
      compareUrl: `https://github.com/acme/web/commits/${commits[0]}`,
    });
    const lines = f.planOutput[0].split('\n');
    expect(lines).toContain('+ container.docker.image: "reg:5000/web:v1"');
    expect(lines).toContain('+ healthChecks[0].path: "/health"');
    expect(lines).toContain('+ healthChecks[0].intervalSeconds: 0.2');
    expect(lines.filter((l) => /^\+ (container|healthChecks): [[{]/.test(l))).toEqual([]);
    expect(lines).toContain(
      `1 commit(s) since what production runs (up to ${commits[0].slice(0, 7)}, first deploy): https://github.com/acme/web/commits/${commits[0]}`,
    );
  });

  it('the next plan records the commits between what production runs and its commit, with the compare link', () => {
    const p = readPlan(waiting);
    expect(p.changes?.from).toBe(commits[0]);
    expect(p.changes?.to).toBe(commits[6]);
    expect(p.changes?.total).toBe(6);
    expect(p.changes?.commits.map((c) => c.sha)).toEqual(commits.slice(1).reverse());
    expect(p.changes?.compareUrl).toBe(`https://github.com/acme/web/compare/${commits[0]}...${commits[6]}`);
  });

  it('the commit list is sealed: a plan whose list was edited is refused as tampered (exit 3)', async () => {
    const edited = join(dir, 'edited.json');
    const p = readPlan(waiting);
    writeFileSync(edited, JSON.stringify({ ...p, changes: { ...p.changes, commits: p.changes?.commits.slice(0, 1), total: 1 } }));
    const r = await deploy(['approve', edited], BEN);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/was changed after planning/);
  });

  it('--repo without --commit is bad usage (exit 2), a repository without the commit a clear error', async () => {
    const r = await deploy(['plan', '--service', 'web', '--env', 'staging', '--image', 'reg:5000/web:v3', '--repo', repo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--repo lists the commits up to --commit');
    const other = mkdtempSync(join(dir, 'empty-'));
    execFileSync('git', ['init', '-q'], { cwd: other });
    const bad = await deploy([
      'plan',
      '--service',
      'web',
      '--env',
      'staging',
      '--image',
      'reg:5000/web:v3',
      '--commit',
      commits[6],
      '--repo',
      other,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^deploy: cannot list the commits .* in /m);
  });
});

describe("the team's page", () => {
  let html: string;
  let json: DoraReport;
  beforeAll(async () => {
    const r = await deploy(['report', '--html', join(dir, 'out', 'page.html'), '--plans', f.plansDir]);
    expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
    expect(r.stdout).toBe(`page written to ${join(dir, 'out', 'page.html')}\n`);
    html = readFileSync(join(dir, 'out', 'page.html'), 'utf8');
    json = JSON.parse((await deploy(['report', '--since', '90d', '--json'])).stdout) as DoraReport;
  }, 30_000);

  it('lists the waiting plan: author, its commits (escaped), the flag, the leaf diff against production now, the approve command', () => {
    const card = html.slice(html.indexOf('<section id="approvals">'), html.indexOf('<section id="fleet">'));
    expect(card).toContain('<h2>Waiting for approval (1)</h2>');
    expect(card).toContain(`by ${ANA} (signed by ${ANA}, verified)`);
    expect(card).toContain('6 commits in one release, more than 5');
    expect(card).toContain(`<code>${commits[6].slice(0, 7)}</code> web: change 7 &lt;b&gt;bold&lt;/b&gt;`);
    expect(card).toContain(`https://github.com/acme/web/compare/${commits[0]}...${commits[6]}`);
    expect(card).toContain('~ container.docker.image: &quot;reg:5000/web:v1&quot; -&gt; &quot;reg:5000/web:v2&quot;');
    expect(card).toContain(`deploy approve ${waiting}`);
  });

  it('shows the fleet with the approver of the last production deploy, and the log verified', () => {
    const fleet = html.slice(html.indexOf('<section id="fleet">'), html.indexOf('<section id="dora">'));
    expect(fleet).toContain('<td>web</td>');
    expect(fleet).toContain('<code>web:v1</code>');
    expect(fleet).toContain(`<td>${BEN}</td>`);
    expect(html).toMatch(/deploy history --verify holds: \d+ records, hash chain intact, [1-9]\d* signatures verified/);
  });

  it('its chart tables are the numbers of report --json', () => {
    const data = chartData(json);
    expect(json.fleet.deploys).toBe(1);
    for (const r of data.leadTimes)
      expect(html).toContain(`<td>${r.range.replace('<', '&lt;').replace('>', '&gt;')}</td><td>${r.deploys}</td>`);
    for (const r of data.changeFailureRate) expect(html).toContain(`<td>${r.week}</td><td>${r.deploys}</td><td>${r.failures}</td>`);
  });

  it('a damaged log is never shown as fine', async () => {
    appendFileSync(f.auditLog, '{"type":"apply.succeeded","time":"2026-01-01T00:00:00.000Z","service":"web"}\n');
    const r = await deploy(['report', '--html', join(dir, 'out', 'bad.html'), '--plans', f.plansDir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('note: the audit log fails verification');
    const bad = readFileSync(join(dir, 'out', 'bad.html'), 'utf8');
    expect(bad).not.toContain('holds');
    expect(bad).toMatch(
      /The audit log FAILS verification \(deploy history --verify\): \d+ problem\(s\), the first at line \d+: .*The figures on this page are read from a log that does not verify\./,
    );
  }, 30_000);
});

describe('approve shows the whole change', () => {
  it('the commits, newest first, flagged past the setting, after the diff', async () => {
    const r = await deploy(['approve', waiting], BEN);
    expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
    const lines = r.stdout.split('\n');
    expect(lines).toContain('  ~ container.docker.image: "reg:5000/web:v1" -> "reg:5000/web:v2"');
    expect(lines).toContain('  !! 6 commits in one release, more than 5 (C2C_MAX_PLAN_COMMITS): not a small change; review each one');
    const listed = lines.filter((l) => /^ {4}[0-9a-f]{7} web: change/.test(l));
    expect(listed).toEqual(
      commits
        .slice(1)
        .reverse()
        .map((c, i) => `    ${c.slice(0, 7)} web: change ${7 - i} <b>bold</b> (Ana <${ANA}>)`),
    );
  });
});
