// Black-box tests of the real deploy CLI (dist/scripts/deploy.js, built once): stdout, stderr and exit code of each
// command, against the local Marathon behind a recording proxy, so "nothing sent" is checked on the wire.
// Exit codes: 0 done, 1 deploy failed, 2 bad usage/input (nothing sent), 3 refused by the production gate.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../lib/audit/log';
import { approvePlan } from '../../lib/gate/gate';
import { readPlanFile } from '../../lib/gate/plan';
import { LocalMarathon } from '../../packages/local-marathon';
import { loadCatalog } from '../../services';
import { json, startServer } from '../lib/marathon/http-server';
import { makeImageStore, rawApp, recordingProxy, startMarathon } from '../lib/deploy/helpers';

const ROOT = join(__dirname, '../..');
const CLI = join(ROOT, 'dist/scripts/deploy.js');

let lm: LocalMarathon;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let store: ReturnType<typeof makeImageStore>;
let work: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: work,
        env: {
          PATH: process.env.PATH,
          HOME: work,
          CI: 'true',
          MARATHON_URL: proxy.url,
          DEPLOY_ACTOR: 'dev@acme-lighting.example',
          C2C_AUDIT_LOG: join(work, 'audit.jsonl'),
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Requests that change Marathon, as the proxy saw them since `from`. */
const changing = (from = 0) => proxy.seen.slice(from).filter((s) => !s.startsWith('GET '));

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  store = makeImageStore(['bulb-api']);
  lm = await startMarathon(store.dir);
  proxy = await recordingProxy(lm.url);
  work = mkdtempSync(join(tmpdir(), 'c2c-cli-'));
}, 60_000);
afterAll(async () => {
  await proxy.close();
  await lm.close();
  store.remove();
  rmSync(work, { recursive: true, force: true });
});

describe('deploy CLI', () => {
  it('--help documents the exit codes', async () => {
    const r = await cli(['apply', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: deploy apply [options]');
    expect(r.stdout).toContain('3  refused by the production gate');
  });

  it('list prints the catalog names, one a line', async () => {
    const names = loadCatalog().services.map((s) => s.name);
    expect(await cli(['list'])).toEqual({ code: 0, stdout: names.map((n) => `${n}\n`).join(''), stderr: '' });
  });

  it('render prints the Marathon JSON with stamps and sends nothing', async () => {
    const before = proxy.seen.length;
    const r = await cli(['render', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:1', '--commit', 'abc1234']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      id: '/staging/bulb-api',
      container: { docker: { image: 'reg:5000/bulb-api:1' } },
      labels: { 'c2c.commit': 'abc1234', 'c2c.deployed-by': 'dev@acme-lighting.example' },
    });
    expect(proxy.seen.length).toBe(before);
  });

  it('bad input exits 2 with one line and a hint, and sends nothing', async () => {
    const before = proxy.seen.length;
    const unknown = await cli(['apply', '--service', 'nope', '--env', 'staging', '--image', 'reg:5000/nope:1']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    const names = loadCatalog()
      .services.map((s) => s.name)
      .join(', ');
    expect(unknown.stderr.startsWith(`deploy: unknown service 'nope'\nhint: known services: ${names}`)).toBe(true);
    expect((await cli(['apply', '--service', 'bulb-api', '--env', 'qa', '--image', 'reg:5000/bulb-api:1'])).stderr).toContain(
      "deploy: --env 'qa' is not an environment",
    );
    expect((await cli(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', 'not an image'])).code).toBe(2);
    expect((await cli(['apply', '--bogus'])).code).toBe(2);
    const production = await cli(['apply', '--service', 'bulb-api', '--env', 'production', '--image', 'reg:5000/bulb-api:1']);
    expect(production.code).toBe(2);
    expect(production.stderr).toContain('deploy: production is changed only through an approved plan');
    expect(proxy.seen.length).toBe(before);
  });

  it('apply deploys, shows progress on stderr and the result on stdout (exit 0)', async () => {
    const r = await cli(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:1', '--commit', 'abc1234']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deployed reg:5000\/bulb-api:1 to \/staging\/bulb-api: version \S+ \(1\/1\/1 healthy\/running\/wanted/);
    expect(r.stderr).toMatch(/step \d of \d/);
    expect(r.stderr).toContain('/staging/bulb-api: healthy 1 of 1');
    expect(changing().filter((s) => s.startsWith('PUT'))).toEqual(['PUT /v2/apps/staging/bulb-api?partialUpdate=false']);
  });

  it('plan prints the diff and writes a plan file; apply --plan applies it (staging: no approval) and stamps the plan id', async () => {
    const before = proxy.seen.length;
    const out = join(work, 'staging.plan.json');
    const p = await cli(['plan', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:2', '--out', out]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('~ container.docker.image: "reg:5000/bulb-api:1" -> "reg:5000/bulb-api:2"');
    expect(p.stderr).toContain(`plan written to ${out}`);
    expect(changing(before)).toEqual([]);
    const plan = JSON.parse(readFileSync(out, 'utf8')) as { id: string };
    const a = await cli(['apply', '--plan', out, '--json']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ ok: true, outcome: 'deployed', image: 'reg:5000/bulb-api:2' });
    expect((await rawApp(lm.url, '/staging/bulb-api'))?.labels).toMatchObject({ 'c2c.plan-id': plan.id });
  });

  it('apply --plan for production without an approval is refused with exit 3, sending nothing that changes Marathon', async () => {
    const out = join(work, 'prod.plan.json');
    expect((await cli(['plan', '--service', 'bulb-api', '--env', 'production', '--image', 'reg:5000/bulb-api:2', '--out', out])).code).toBe(
      0,
    );
    const before = proxy.seen.length;
    const r = await cli(['apply', '--plan', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /\ndeploy: plan [0-9a-f]{12} for bulb-api in production has no approval\nhint: ask one of user:ana@acme-lighting.example/,
    );
    expect(changing(before)).toEqual([]);
    expect(readFileSync(join(work, 'audit.jsonl'), 'utf8')).toContain('"gate.refused"');
  });

  it('apply --plan for production with an approval by another approver deploys and stamps plan id and approver', async () => {
    const out = join(work, 'prod.plan.json');
    const plan = await readPlanFile(out);
    await approvePlan({
      plan,
      service: loadCatalog().get('bulb-api'),
      audit: AuditLog.open(join(work, 'audit.jsonl')),
      actor: 'ana@acme-lighting.example',
      comment: 'lgtm',
    });
    const r = await cli(['apply', '--plan', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deployed reg:5000\/bulb-api:2 to \/production\/bulb-api: version \S+ \(3\/3\/3 healthy\/running\/wanted/);
    expect((await rawApp(lm.url, '/production/bulb-api'))?.labels).toMatchObject({
      'c2c.plan-id': plan.id,
      'c2c.approved-by': 'ana@acme-lighting.example',
    });
    // The same plan again: the live version moved on, so the plan is stale (refused, exit 3).
    const again = await cli(['apply', '--plan', out]);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(
      /deploy: plan [0-9a-f]{12} was made against version \(no app\), but \/production\/bulb-api now runs version /,
    );
  });

  it('a bad image exits 1 and says it was rolled back', async () => {
    const r = await cli(['apply', '--service', 'bulb-api', '--env', 'staging', '--image', 'reg:5000/bulb-api:bad', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/deploy: deploy of reg:5000\/bulb-api:bad to \/staging\/bulb-api failed, rolled back to \S+/);
    expect(r.stderr).toContain('hint: the failed version');
    expect(r.stderr).not.toContain('    at ');
  });

  it('rollback restores the previous release (exit 0)', async () => {
    const r = await cli(['rollback', '--service', 'bulb-api', '--env', 'staging']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rolled back \/staging\/bulb-api to version \S+ \(reg:5000\/bulb-api:1\)/);
  });

  it('status --json lists every service per environment', async () => {
    const r = await cli(['status', '--env', 'staging', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { service: string; state: string; image: string | null }[];
    expect(rows.map((x) => [x.service, x.state])).toEqual(
      loadCatalog().services.map((s) => [s.name, s.name === 'bulb-api' ? 'healthy' : 'missing']),
    );
    expect((await cli(['status', '--env', 'staging'])).stdout).toContain('reg:5000/bulb-api:1');
  });

  it('a 401 names the variable that held the credentials, never their value (exit 1)', async () => {
    const s = await startServer((_req, res) => json(res, 401, { message: 'Invalid username or password.' }));
    try {
      const r = await cli(['status', '--env', 'staging'], { MARATHON_URL: s.url, MARATHON_CREDENTIALS: 'ci:pa55word' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('using the credentials from MARATHON_CREDENTIALS');
      expect(r.stderr + r.stdout).not.toMatch(/pa55word|ci:/);
    } finally {
      await s.close();
    }
  });

  it('writes the audit trail of what it did', () => {
    const types = readFileSync(join(work, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(
      expect.arrayContaining([
        'apply.started',
        'apply.succeeded',
        'plan.created',
        'gate.refused',
        'apply.rolled-back',
        'rollback.succeeded',
      ]),
    );
    expect(existsSync(join(work, '.c2c'))).toBe(false);
  });
});
