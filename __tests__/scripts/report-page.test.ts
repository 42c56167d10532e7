// The whole change and the team's page through the CLI (main(argv, io) in-process) against a local Marathon: a plan
// made with --repo records the commits since what production runs, sealed by its id; approve and the page show them
// (flagged past C2C_MAX_PLAN_COMMITS); the page's tables are the numbers of `report --json`; a damaged log is never
// shown as fine. The page as the cloud job writes it: the waiting plan read from where the push builds upload it (a
// loopback stand-in for Cloud Storage's JSON API), shown only when it is whole, the one the log names and its
// signature verifies; the fleet read with the page's own read credentials from a loopback stand-in for Secret
// Manager, and "no read credential" while a secret has no value. (One file: the fixture is its slowest part.)
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PLAN_BYTES, PlanFile } from '../../lib/gate/plan-file';
import { DoraReport } from '../../lib/report/dora';
import { chartData } from '../../lib/report/page/charts';
import { ANA, BEN, pageFixture, PageFixture } from '../helpers/page-fixture';
import { Received, sendJson, startRecordingServer } from '../helpers/http';
import { startGoogleStandIn } from '../../lib/cloudbuild/google-stand-in';

let f: PageFixture;
let dir: string;
let repo: string;
let commits: readonly string[];
let waiting: string;
let firstPlanOut: string;
const deploy = (args: string[], as?: string) => f.deploy(args, as);
let gcs: Awaited<ReturnType<typeof startRecordingServer>>;
let sm: Awaited<ReturnType<typeof startRecordingServer>>;
let waitingPlan: PlanFile;
let waitingBytes: string;
/** Objects of the deploy bucket `deploy-b`, by name. */
const objects = new Map<string, string>();
/** Secret values by secret id; absent: the secret has no version. */
const secrets = new Map<string, string>();
const STAGING_SECRET = 'projects/acme/secrets/c2c-page-marathon-staging';
const PRODUCTION_SECRET = 'projects/acme/secrets/c2c-page-marathon-production';

beforeAll(async () => {
  f = await pageFixture();
  ({ dir, repo, commits } = f);
  waiting = f.waitingPlan;
  firstPlanOut = readFileSync(f.firstPlan, 'utf8');
  waitingBytes = readFileSync(f.waitingPlan, 'utf8');
  waitingPlan = JSON.parse(waitingBytes) as PlanFile;
  gcs = await startRecordingServer((req, res) => {
    const m = /^\/storage\/v1\/b\/deploy-b\/o\/([^?]+)\?alt=media$/.exec(req.url ?? '');
    const body = m ? objects.get(decodeURIComponent(m[1])) : undefined;
    if (req.method !== 'GET' || body === undefined) return sendJson(res, 404, { error: { code: 404, message: 'No such object' } });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  sm = await startRecordingServer((req, res) => {
    const m = /^\/v1\/(projects\/acme\/secrets\/[^/]+)\/versions\/latest:access$/.exec(req.url ?? '');
    const value = m ? secrets.get(m[1]) : undefined;
    if (value === undefined) return sendJson(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: 'Secret Version not found' } });
    sendJson(res, 200, { name: `${m![1]}/versions/1`, payload: { data: Buffer.from(value).toString('base64') } });
  });
}, 60_000);

afterAll(async () => {
  await gcs?.close();
  await sm?.close();
  await f?.close();
});

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
    expect(lines).toContain('+ healthChecks[0].intervalSeconds: 0.3');
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

const cloudEnv = () => ({
  GOOGLE_OAUTH_ACCESS_TOKEN: 'tok-page',
  C2C_STORAGE_URL: gcs.url,
  C2C_SECRET_MANAGER_URL: sm.url,
  C2C_MARATHON_READ_SECRET_STAGING: STAGING_SECRET,
  C2C_MARATHON_READ_SECRET_PRODUCTION: PRODUCTION_SECRET,
});
const objectName = (id: string) => `plans/web/production/${id}.json`;

/** Writes the page with the plans from `plans` and the cloud env; returns the approvals and fleet sections. */
async function page(plans = 'gs://deploy-b/plans', name = 'page.html') {
  const file = join(f.dir, 'cloud', name);
  const r = await f.deploy(['report', '--html', file, '--plans', plans], undefined, cloudEnv());
  expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
  const html = readFileSync(file, 'utf8');
  return {
    approvals: html.slice(html.indexOf('<section id="approvals">'), html.indexOf('<section id="fleet">')),
    fleet: html.slice(html.indexOf('<section id="fleet">'), html.indexOf('<section id="dora">')),
  };
}

const reads = (from: number): Received[] => gcs.received.slice(from);

describe('waiting plans from the deploy bucket', () => {
  beforeEach(() => {
    objects.clear();
    secrets.clear();
  });

  it('reads the plan the log names where the push build uploads it, and shows it with its commits, diff and verified signer', async () => {
    objects.set(objectName(waitingPlan.id), waitingBytes);
    const before = gcs.received.length;
    const { approvals } = await page();
    expect(reads(before).map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
      ['GET', `/storage/v1/b/deploy-b/o/${encodeURIComponent(objectName(waitingPlan.id))}?alt=media`, 'Bearer tok-page'],
    ]);
    expect(approvals).toContain('<h2>Waiting for approval (1)</h2>');
    expect(approvals).toContain(`by ${ANA} (signed by ${ANA}, verified)`);
    expect(approvals).toContain(`<code>${commits[6].slice(0, 7)}</code> web: change 7 &lt;b&gt;bold&lt;/b&gt;`);
    expect(approvals).toContain('6 commits in one release, more than 5');
    expect(approvals).toContain('~ container.docker.image: &quot;reg:5000/web:v1&quot; -&gt; &quot;reg:5000/web:v2&quot;');
    // The fleet cannot be read (no read credential), so the diff is the plan's own, and the page says so.
    expect(approvals).toContain('What it changed against production when planned (production cannot be read here');
    expect(approvals).toContain(`deploy approve gs://deploy-b/${objectName(waitingPlan.id)}`);
  }, 30_000);

  it("with the project's Google stand-in: the plan uploaded as the push build's upload-plan step does, read with the metadata server's token", async () => {
    const standIn = await startGoogleStandIn(join(f.dir, 'gcs'));
    try {
      const env = { C2C_METADATA_URL: standIn.url, C2C_STORAGE_URL: standIn.url };
      const put = await f.deploy(['object', 'put', f.waitingPlan, 'gs://deploy-b/plans/web/production/{id}.json'], undefined, env);
      expect(put.code === 0 ? 'ok' : put.stderr).toBe('ok');
      const file = join(f.dir, 'cloud', 'stand-in.html');
      // The --plans the page job passes (constructs/team-page.ts), with the bucket's name.
      const r = await f.deploy(['report', '--html', file, '--plans', 'gs://deploy-b/plans/{service}/production/{id}.json'], undefined, env);
      expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
      const html = readFileSync(file, 'utf8');
      expect(html).toContain(`<article class="plan" id="plan-${waitingPlan.id.slice(0, 12)}">`);
      expect(html).toContain(`by ${ANA} (signed by ${ANA}, verified)`);
    } finally {
      await standIn.close();
    }
  }, 30_000);

  it('never shows an edited plan: its content no longer hashes to its id', async () => {
    const edited = { ...waitingPlan, changes: { ...waitingPlan.changes!, commits: waitingPlan.changes!.commits.slice(0, 1), total: 1 } };
    objects.set(objectName(waitingPlan.id), JSON.stringify(edited));
    const { approvals } = await page(undefined, 'edited.html');
    expect(approvals).not.toContain('<article class="plan"');
    expect(approvals).toContain('<h2>Waiting for approval (1)</h2>');
    expect(approvals).toMatch(
      /web: plan [0-9a-f]{12}: <span class="bad">plan file &#39;gs:\/\/deploy-b\/plans\/web\/production\/[0-9a-f]{64}\.json&#39; was changed after planning/,
    );
  }, 30_000);

  it('never shows a whole plan under the name of another (not the one the log names)', async () => {
    const first = readFileSync(f.firstPlan, 'utf8');
    objects.set(objectName(waitingPlan.id), first);
    const { approvals } = await page(undefined, 'swapped.html');
    expect(approvals).not.toContain('<article class="plan"');
    expect(approvals).toContain(`holds plan ${(JSON.parse(first) as PlanFile).id.slice(0, 12)}, not the one the log names`);
  }, 30_000);

  it('never shows a plan whose signature does not verify (the signature is outside the id)', async () => {
    const other = JSON.parse(readFileSync(f.firstPlan, 'utf8')) as PlanFile;
    objects.set(objectName(waitingPlan.id), JSON.stringify({ ...waitingPlan, signature: other.signature }));
    const { approvals } = await page(undefined, 'forged.html');
    expect(approvals).not.toContain('<article class="plan"');
    expect(approvals).toContain('its signature does not verify');
  }, 30_000);

  it('reads no more of an object than a plan can be', async () => {
    objects.set(objectName(waitingPlan.id), ' '.repeat(MAX_PLAN_BYTES + 1));
    const { approvals } = await page(undefined, 'huge.html');
    expect(approvals).toContain(`gs://deploy-b/${objectName(waitingPlan.id)} is larger than ${MAX_PLAN_BYTES} bytes; it was not read`);
  }, 30_000);

  it('says which object is missing', async () => {
    const { approvals } = await page(undefined, 'missing.html');
    expect(approvals).toContain(`no plan object gs://deploy-b/${objectName(waitingPlan.id)}`);
  }, 30_000);

  // A gs:// URL with more than BUCKET/PREFIX, and a URL of another scheme (not a directory that is never found).
  it.each([
    ['gs://deploy-b/plans?x=1', 'x.html'],
    ['https://deploy-b/plans', 'y.html'],
  ])('a --plans of %s is bad usage (exit 2), naming it, and writes nothing', async (plans, file) => {
    const r = await f.deploy(['report', '--html', join(f.dir, 'cloud', file), '--plans', plans], undefined, cloudEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`deploy: --plans '${plans}' is neither a directory nor gs://BUCKET/PREFIX`);
    expect(existsSync(join(f.dir, 'cloud', file))).toBe(false);
  });
});

describe("the fleet with the page's read credentials", () => {
  beforeEach(() => {
    objects.clear();
    secrets.clear();
  });

  it('says "no read credential" while a secret has no value, and reads production with no other credential', async () => {
    secrets.set(STAGING_SECRET, 'none');
    objects.set(objectName(waitingPlan.id), waitingBytes);
    const before = sm.received.length;
    const { fleet, approvals } = await page(undefined, 'no-credential.html');
    // MARATHON_URL is set and production needs no credential, yet the plan is not compared with what runs there.
    expect(approvals).toContain('What it changed against production when planned');
    expect(fleet).toContain(
      `The fleet could not be read: no read credential for production (${PRODUCTION_SECRET} has no value); see &quot;The page in the cloud&quot; in docs/deploy.md`,
    );
    expect(fleet).not.toContain('<td>web</td>');
    expect(sm.received.slice(before).map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
      ['GET', `/v1/${STAGING_SECRET}/versions/latest:access`, 'Bearer tok-page'],
      ['GET', `/v1/${PRODUCTION_SECRET}/versions/latest:access`, 'Bearer tok-page'],
    ]);
  }, 30_000);

  it('with a value in each, shows the fleet, and the plan against production now', async () => {
    secrets.set(STAGING_SECRET, 'none');
    secrets.set(PRODUCTION_SECRET, 'none');
    objects.set(objectName(waitingPlan.id), waitingBytes);
    const { fleet, approvals } = await page(undefined, 'fleet.html');
    expect(fleet).toContain('<td>web</td>');
    expect(fleet).toContain('<code>web:v1</code>');
    expect(approvals).toContain('What it changes against production now:');
  }, 30_000);

  it('a value of no known form is named by its secret, never shown', async () => {
    secrets.set(STAGING_SECRET, 'hunter2-no-colon');
    secrets.set(PRODUCTION_SECRET, 'none');
    const { fleet } = await page(undefined, 'bad-credential.html');
    expect(fleet).toContain(`The fleet could not be read: the latest version of ${STAGING_SECRET} is not &#39;token=…&#39;`);
    expect(fleet).not.toContain('hunter2');
  }, 30_000);
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
