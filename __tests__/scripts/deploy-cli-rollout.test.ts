// The rollout commands of the deploy CLI in-process, without HAProxy: `promote`/`abort` parsing, help and refusals,
// `status` of a two-colour service against the local Marathon (colour apps made with marathon-lb's labels) with a
// loopback server answering a fixed HAProxy stats CSV in place of marathon-lb's stats page, the refusal of a second
// release while one is in flight, and plans that record the release (the gate refuses one the catalog no longer says).
// The rollouts themselves run through a real HAProxy in deploy-rollout.docker.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, ServiceDefinition } from '../../lib/catalog';
import { colourApp, readRollout, taskServer } from '../../lib/deploy/rollout';
import { readPlanFile } from '../../lib/gate/plan-file';
import { MarathonClient } from '../../lib/marathon/client';
import { renderMarathonApp } from '../../lib/marathon/render';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { CliIo } from '../../scripts/deploy/context';
import { startServer } from '../lib/marathon/http-server';
import { makeImageStore, recordingProxy, startMarathon, testService } from '../lib/deploy/helpers';
import { testKeys, TestKeys } from '../helpers/keys';
import { runDeployCli } from '../helpers/deploy-cli';

const APPROVER = 'ana@acme-lighting.example';
const PORT = 10_741;
const ALT = 10_742;

function shop(steps = [{ percent: 50 }, { percent: 100 }]): ServiceDefinition {
  return testService('shop', {
    instances: 2,
    ports: [{ name: 'http', containerPort: 8080, servicePort: PORT }],
    virtualHost: 'shop.example.com',
    approvers: [`user:${APPROVER}`],
    strategy: { kind: 'canary', altPort: ALT, keepOldMinutes: 15, steps },
  });
}
/** A service whose file now says blue/green while its rolling app still runs. */
const till = testService('till', {
  instances: 1,
  ports: [{ name: 'http', containerPort: 8080, servicePort: 10_751 }],
  virtualHost: 'till.example.com',
  strategy: { kind: 'blueGreen', altPort: 10_752 },
});
const catalog = new Catalog([shop(), till, testService('plain', { approvers: [`user:${APPROVER}`] })]);

let lm: LocalMarathon;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let store: ReturnType<typeof makeImageStore>;
let stats: Awaited<ReturnType<typeof startServer>>;
let work: string;
let keys: TestKeys;
/** The CSV the stand-in stats page answers. */
let csv = '';
const auditFile = () => join(work, 'audit.jsonl');
const auditText = () => (existsSync(auditFile()) ? readFileSync(auditFile(), 'utf8') : '');
const changing = (from = 0) => proxy.seen.slice(from).filter((s) => !s.startsWith('GET '));

async function cli(args: string[], io: Partial<CliIo> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return runDeployCli(args, {
    env: {
      CI: 'true',
      MARATHON_URL: proxy.url,
      DEPLOY_ACTOR: 'dev@acme-lighting.example',
      C2C_AUDIT_LOG: auditFile(),
      C2C_ALLOWED_SIGNERS: keys.allowedSigners,
    },
    catalog,
    ...io,
  });
}

const client = () => new MarathonClient({ baseUrl: lm.url, auth: { source: 'none' }, requestTimeoutMs: 3000 });

/** Both colours of shop in `env`, as a canary mid-way: blue (old) 1 of 2, green (new) 1 of 2, tasks running. */
async function canaryMidway(env: 'staging' | 'production', labels: Record<string, string> = {}): Promise<void> {
  const c = client();
  for (const [colour, startedAt, port] of [
    ['blue', '2026-12-01T10:00:00.000Z', PORT],
    ['green', '2026-12-07T10:00:00.000Z', ALT],
  ] as const) {
    const base = renderMarathonApp(shop(), env, { image: `reg:5000/shop:${colour}`, labels });
    await c.createApp(
      colourApp({ base, colour, publicPort: PORT, altPort: ALT, servicePort: port, startedAt, targetInstances: 2, instances: 1 }),
    );
  }
  for (;;) {
    const s = await readRollout(c, `/${env}/shop`);
    if ([s.newer, s.older].every((x) => x && x.app.tasksRunning === 1 && x.app.deployments.length === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A stats CSV for the staging group's backend: the new colour's task UP, the old one's MAINT (drained by marathon-lb). */
async function statsFor(env: 'staging' | 'production'): Promise<string> {
  const s = await readRollout(client(), `/${env}/shop`);
  const row = (sv: string, status: string) => `${env}-shop_${PORT},${sv},0,0,${status},0,0,0,0,0,0,0,`;
  return [
    '# pxname,svname,qcur,scur,status,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,eresp,econ,',
    row('FRONTEND', 'OPEN'),
    row(taskServer(s.newer!.app.tasks[0])!, 'UP'),
    row(taskServer(s.older!.app.tasks[0])!, 'MAINT'),
    row('BACKEND', 'UP'),
  ].join('\n');
}

beforeAll(async () => {
  store = makeImageStore([]);
  lm = await startMarathon(store.dir);
  proxy = await recordingProxy(lm.url);
  stats = await startServer((req, res) => {
    res.statusCode = req.path === '/haproxy' && 'stats;csv' in req.query ? 200 : 404;
    res.end(csv);
  });
  work = mkdtempSync(join(tmpdir(), 'c2c-rollout-cli-'));
  keys = testKeys(work, ['dev@acme-lighting.example', APPROVER]);
  await canaryMidway('staging');
  csv = await statsFor('staging');
});
afterAll(async () => {
  await stats.close();
  await proxy.close();
  await lm.close();
  store.remove();
  rmSync(work, { recursive: true, force: true });
});

describe('deploy promote / abort: the command line', () => {
  it('are listed and documented, with --lb and the exit codes', async () => {
    const top = await cli(['--help']);
    expect(top.stdout).toMatch(/promote \[options\] <service>/);
    expect(top.stdout).toMatch(/abort \[options\] <service>/);
    for (const command of ['promote', 'abort']) {
      const r = await cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: deploy ${command} [options] <service>`);
      expect(r.stdout).toContain('--lb <url>');
      expect(r.stdout).toContain('3  refused by the production gate');
    }
    expect((await cli(['abort', '--help'])).stdout).toContain('--reason <text>');
  });

  it('refuse a missing --env, a missing stats page and an unknown service with exit 2, sending nothing', async () => {
    const from = proxy.seen.length;
    const noEnv = await cli(['promote', 'shop', '--lb', stats.url]);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain('--env');
    const noLb = await cli(['abort', 'shop', '--env', 'staging']);
    expect(noLb.code).toBe(2);
    expect(noLb.stderr).toContain("deploy: no marathon-lb stats page: a rollout's steps are read from HAProxy's stats");
    expect(noLb.stderr).toContain('MARATHON_LB_URL');
    const badLb = await cli(['abort', 'shop', '--env', 'staging', '--lb', 'ftp://x']);
    expect(badLb.code).toBe(2);
    expect(badLb.stderr).toContain('--lb must be an http(s) URL');
    const unknown = await cli(['promote', 'nosuch', '--env', 'staging', '--lb', stats.url]);
    expect(unknown.code).toBe(2);
    expect(changing(from)).toEqual([]);
  });

  it('say there is nothing to act on for a rolling service (ROLLOUT_NONE, exit 2), as JSON too', async () => {
    const r = await cli(['promote', 'plain', '--env', 'staging', '--lb', stats.url, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'ROLLOUT_NONE' });
    expect(r.stderr).toContain('plain releases with a rolling restart');
  });
});

describe('deploy status of a canary', () => {
  it('shows both colours, the step and the split from the stats page (--lb)', async () => {
    const r = await cli(['status', '--service', 'shop', '--env', 'staging', '--lb', stats.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/new green .*shop:green .*1 healthy of 1, 1 serving .*\/staging\/shop-green/);
    expect(r.stdout).toMatch(/old blue .*shop:blue .*1 healthy of 1, 0 serving .*\/staging\/shop-blue/);
    expect(r.stdout).toContain(
      "shop in staging: canary step 1 of 2 (50 %), in flight; traffic 100 % new (green) / 0 % old (blue), from HAProxy's stats",
    );
    const json = JSON.parse((await cli(['status', '--service', 'shop', '--env', 'staging', '--lb', stats.url, '--json'])).stdout);
    expect(json[0].rollout).toMatchObject({
      strategy: 'canary',
      target: 2,
      inFlight: true,
      step: { index: 1, of: 2, percent: 50 },
      traffic: { newPercent: 100, oldPercent: 0, source: 'haproxy' },
    });
    expect(json[0].rollout.colours.map((c: { role: string; appId: string; image: string; instances: number }) => c)).toMatchObject([
      { role: 'new', appId: '/staging/shop-green', image: 'reg:5000/shop:green', instances: 1, serving: 1 },
      { role: 'old', appId: '/staging/shop-blue', image: 'reg:5000/shop:blue', instances: 1, serving: 0 },
    ]);
  });

  it('without a stats page, splits by instance counts and says so', async () => {
    const json = JSON.parse((await cli(['status', '--service', 'shop', '--env', 'staging', '--json'])).stdout);
    expect(json[0].rollout.traffic).toEqual({ newPercent: 50, oldPercent: 50, source: 'instances' });
    expect(json[0].rollout.colours[0].serving).toBeNull();
    const table = (await cli(['status', '--service', 'shop', '--env', 'staging'])).stdout;
    expect(table).toContain("traffic 50 % new (green) / 50 % old (blue), from instance counts (pass --lb for HAProxy's)");
  });
});

describe('a second release while one is in flight', () => {
  it('is refused with ROLLOUT_IN_PROGRESS (exit 1), naming promote and abort, and sends nothing', async () => {
    const from = proxy.seen.length;
    const r = await cli(['apply', '--service', 'shop', '--env', 'staging', '--image', 'reg:5000/shop:3', '--lb', stats.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('deploy: a rollout of shop in staging is in flight (/staging/shop-green at 1 of 2)');
    expect(r.stderr).toContain(
      "hint: finish it with 'deploy promote shop --env staging' or go back with 'deploy abort shop --env staging'",
    );
    expect(changing(from)).toEqual([]);
  });

  it('without a stats page is refused before anything is read or sent (exit 2)', async () => {
    const from = proxy.seen.length;
    const r = await cli(['apply', '--service', 'shop', '--env', 'staging', '--image', 'reg:5000/shop:3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("shop releases by canary, which needs marathon-lb's stats page");
    expect(proxy.seen.length).toBe(from);
  });
});

describe('the first two-colour release of a service whose rolling app runs', () => {
  it('is refused with ROLLOUT_FROM_ROLLING (exit 2), naming the app and the way to switch, and sends nothing', async () => {
    await client().createApp(renderMarathonApp({ ...till, strategy: { kind: 'rolling' } }, 'staging', { image: 'reg:5000/till:1' }));
    const from = proxy.seen.length;
    const r = await cli(['apply', '--service', 'till', '--env', 'staging', '--image', 'reg:5000/till:2', '--lb', stats.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'deploy: till in staging runs as one app (/staging/till, a rolling release); its service file now says blueGreen',
    );
    expect(r.stderr).toContain('remove /staging/till');
    expect(changing(from)).toEqual([]);
    expect(await client().getApp('/staging/till-blue')).toBeNull();
  });
});

describe('plans record the release', () => {
  it('shows and seals the strategy and its steps; the gate refuses a plan whose steps the catalog no longer says', async () => {
    const out = join(work, 'shop-plan.json');
    const r = await cli(['plan', '--service', 'shop', '--env', 'staging', '--image', 'reg:5000/shop:4', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('release: canary: 50 % then promote, 100 %; old colour kept 15 min');
    const plan = await readPlanFile(out);
    expect(plan.release).toEqual({
      strategy: shop().strategy,
      steps: [
        { index: 1, percent: 50, newInstances: 1, pause: 'promote' },
        { index: 2, percent: 100, newInstances: 2, pause: 'none' },
      ],
      summary: 'canary: 50 % then promote, 100 %; old colour kept 15 min',
    });
    // Compared against the newer colour, seen as the one app it stands for: its version, and only the image changes.
    const green = await client().getApp('/staging/shop-green');
    expect(plan.liveVersion).toBe(green!.version);
    expect(plan.diff.map((d) => d.path)).toEqual(expect.arrayContaining(['container.docker.image']));
    expect(plan.diff.map((d) => d.path).some((p) => p.includes('HAPROXY_DEPLOYMENT') || p === 'id' || p === 'instances')).toBe(false);

    const changed = new Catalog([shop([{ percent: 10 }, { percent: 100 }])]);
    const from = proxy.seen.length;
    const refused = await cli(['apply', '--plan', out, '--lb', stats.url], { catalog: changed });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      `deploy: plan ${plan.id.slice(0, 12)} releases shop by 'canary: 50 % then promote, 100 %; old colour kept 15 min', but its service file now says 'canary: 10 % then promote, 100 %; old colour kept 15 min'`,
    );
    expect(changing(from)).toEqual([]);
    expect(auditText()).toMatch(/"type":"gate.refused"[^\n]*"code":"GATE_RELEASE_MISMATCH"/);
  });
});

describe('deploy promote in production', () => {
  beforeAll(async () => {
    await canaryMidway('production', { 'c2c.plan-id': 'f'.repeat(64), 'c2c.audit-head': '0'.repeat(64) });
  });

  it('needs a signing key, an approver of the service, and the rollout an approved plan started (exit 3, recorded)', async () => {
    const from = proxy.seen.length;
    const args = ['promote', 'shop', '--env', 'production', '--lb', stats.url];
    const noKey = await cli(args);
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toContain('a production promote of shop is signed by one of its approvers, and no signing key was given');
    const notApprover = await cli([...args, '--key', keys.key('dev@acme-lighting.example')]);
    expect(notApprover.code).toBe(3);
    expect(notApprover.stderr).toContain(`dev@acme-lighting.example is not an approver of shop (approvers: user:${APPROVER})`);
    const unapproved = await cli([...args, '--key', keys.key(APPROVER)]);
    expect(unapproved.code).toBe(3);
    expect(unapproved.stderr).toContain(
      '/production/shop-green is not the rollout an approved plan started: the audit log holds no record 000000000000',
    );
    expect(unapproved.stderr).toContain("hint: 'deploy abort shop --env production' moves traffic back");
    expect(changing(from)).toEqual([]);
    const refusals = auditText()
      .split('\n')
      .filter((l) => l.includes('"environment":"production"') && l.includes('"type":"gate.refused"'));
    expect(refusals.map((l) => JSON.parse(l).code)).toEqual(['GATE_NO_SIGNING_KEY', 'GATE_NOT_APPROVER', 'GATE_ROLLOUT_NOT_APPROVED']);
    expect(JSON.parse(refusals[2]).actor).toBe(APPROVER);
  });
});

describe('a deadline mid-rollout', () => {
  it('leaves both colours serving and names the commands that resume or go back (exit 1)', async () => {
    // Promote moves the staging canary to step 2 (green scaled to 2); the stats page never shows the second green task
    // serving, so the wait runs into --timeout.
    const r = await cli(['promote', 'shop', '--env', 'staging', '--lb', stats.url, '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/deploy: .*timed out waiting for \/staging\/shop-green to serve 2 task\(s\) through marathon-lb/);
    expect(r.stderr).toContain('the rollout stopped mid-way and both colours keep serving');
    expect(r.stderr).toContain(
      "hint: 'deploy promote shop --env staging' resumes it, 'deploy abort shop --env staging' moves all traffic back",
    );
    const s = await readRollout(client(), '/staging/shop');
    expect([s.newer?.app.id, s.older?.app.id]).toEqual(['/staging/shop-green', '/staging/shop-blue']);
    expect(s.older!.app.instances).toBe(1);
    expect(auditText()).toMatch(/"type":"rollout.interrupted"[^\n]*"service":"shop"|"service":"shop"[^\n]*"type":"rollout.interrupted"/);
  });
});
