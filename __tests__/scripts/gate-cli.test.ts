// Issue 5: every refusal of the production gate, through the real CLI: exit code 3, a one-line reason, and no request
// that changes Marathon (a recording proxy sits between the CLI and the local Marathon).
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { planId } from '../../lib/gate/plan-file';
import { LocalMarathon, startLocalMarathon } from '../../packages/local-marathon';
import { recordingProxy } from '../helpers/proxy';

const root = resolve(__dirname, '../..');
const cli = join(root, 'dist/scripts/deploy.js');
const AUTHOR = 'ana@acme-lighting.example';
const REVIEWER = 'ben@acme-lighting.example';
const IMAGE = (tag: string) => `registry.marathon.internal:5000/bulb-api:${tag}`;

let marathon: LocalMarathon;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
/** Requests that change Marathon (anything but GET). */
const mutations = () => proxy.seen.filter((s) => !s.startsWith('GET '));
let dir: string;

/** Spawns the real CLI (asynchronously: the local Marathon runs in this process and must keep answering). */
function deploy(actor: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          CI: 'true',
          DEPLOY_ACTOR: actor,
          MARATHON_URL_PRODUCTION: proxy.url,
          C2C_AUDIT_LOG: join(dir, 'audit.jsonl'),
        },
      },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

async function plan(tag: string, file: string): Promise<string> {
  const r = await deploy(AUTHOR, ['plan', '--service', 'bulb-api', '--env', 'production', '--image', IMAGE(tag), '--out', join(dir, file)]);
  expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
  return join(dir, file);
}

async function liveApp(): Promise<{ version: string; labels: Record<string, string>; container: { docker: { image: string } } }> {
  const res = await fetch(`${marathon.url}/v2/apps/production/bulb-api`);
  return ((await res.json()) as { app: { version: string; labels: Record<string, string>; container: { docker: { image: string } } } }).app;
}

/** Runs a refused apply and checks the three things every refusal must show. */
async function expectRefused(file: string, reason: RegExp): Promise<void> {
  const before = mutations().length;
  const r = await deploy('cloudbuild-prod@acme-lighting.example', ['apply', '--plan', file, '--timeout', '30']);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(reason);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('deploy: '))).toHaveLength(1);
  expect(mutations().slice(before)).toEqual([]);
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet', '--if-stale'], { cwd: root });
  dir = mkdtempSync(join(tmpdir(), 'c2c-gate-cli-'));
  marathon = await startLocalMarathon({ docker: 'never' });
  proxy = await recordingProxy(marathon.url);
  // A first production release through the gate: plan by the author, approval by a reviewer, apply.
  const first = await plan('v1', 'first.json');
  expect((await deploy(REVIEWER, ['approve', first, '--comment', 'first release'])).code).toBe(0);
  const applied = await deploy('cloudbuild-prod@acme-lighting.example', ['apply', '--plan', first, '--timeout', '60']);
  expect(applied.code === 0 ? 'ok' : applied.stderr).toBe('ok');
}, 90_000);

afterAll(async () => {
  await proxy?.close();
  await marathon?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the production gate through the CLI', () => {
  it('an approved plan is applied, and the app carries the plan id and the approver', async () => {
    const app = await liveApp();
    const first = JSON.parse(readFileSync(join(dir, 'first.json'), 'utf8')) as { id: string };
    expect(app.container.docker.image).toBe(IMAGE('v1'));
    expect(app.labels['c2c.plan-id']).toBe(first.id);
    expect(app.labels['c2c.approved-by']).toBe(REVIEWER);
  });

  it('refuses a plan without an approval (exit 3)', async () => {
    // The log already holds the approval of the first release, so the reason names it.
    await expectRefused(
      await plan('v2', 'unapproved.json'),
      /^deploy: no approval for plan [0-9a-f]{12}; the latest approval for bulb-api in production is for plan [0-9a-f]{12}$/m,
    );
  });

  it('refuses a plan file edited after planning: one byte of the rendered JSON', async () => {
    const file = await plan('v2', 'edited.json');
    expect((await deploy(REVIEWER, ['approve', file])).code).toBe(0);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"mem": 256', '"mem": 257'));
    await expectRefused(file, /was changed after planning/);
  });

  it('refuses a swapped image even when the id is recomputed: the approval is for another plan', async () => {
    const file = await plan('v2', 'swapped.json');
    expect((await deploy(REVIEWER, ['approve', file])).code).toBe(0);
    const forged = JSON.parse(readFileSync(file, 'utf8').replace(/bulb-api:v2/g, 'bulb-api:evil')) as Parameters<typeof planId>[0] & {
      id: string;
    };
    forged.id = planId(forged);
    writeFileSync(file, JSON.stringify(forged));
    await expectRefused(file, /no approval for plan [0-9a-f]{12}; the latest approval for bulb-api in production is for plan/);
  });

  it('refuses an approval replayed from another plan', async () => {
    const approved = await plan('v3', 'approved.json');
    expect((await deploy(REVIEWER, ['approve', approved])).code).toBe(0);
    await expectRefused(await plan('v4', 'other.json'), /no approval for plan .* is for plan/);
  });

  it('refuses self-approval (four-eyes): approve exits 3 and records nothing', async () => {
    const file = await plan('v5', 'self.json');
    const before = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    const r = await deploy(AUTHOR, ['approve', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^deploy: ana@acme-lighting.example created plan [0-9a-f]{12} and may not approve it \(four-eyes rule for bulb-api\)$/m,
    );
    expect(readFileSync(join(dir, 'audit.jsonl'), 'utf8')).toBe(before);
    await expectRefused(file, /^deploy: no approval for plan [0-9a-f]{12};/m);
  });

  it('refuses an expired approval', async () => {
    const file = await plan('v6', 'expired.json');
    const id = (JSON.parse(readFileSync(file, 'utf8')) as { id: string }).id;
    appendFileSync(
      join(dir, 'audit.jsonl'),
      `${JSON.stringify({ id: 'old', type: 'approval.recorded', service: 'bulb-api', environment: 'production', actor: REVIEWER, approver: REVIEWER, planId: id, time: '2026-01-01T00:00:00.000Z' })}\n`,
    );
    await expectRefused(
      file,
      /^deploy: the approval of plan [0-9a-f]{12} by ben@acme-lighting.example expired at 2026-01-02T00:00:00.000Z$/m,
    );
  });

  it('refuses a stale plan: the live app changed after planning', async () => {
    const file = await plan('v7', 'stale.json');
    expect((await deploy(REVIEWER, ['approve', file])).code).toBe(0);
    // Someone scales production by hand: a new app version.
    const res = await fetch(`${marathon.url}/v2/apps/production/bulb-api?force=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: 4 }),
    });
    expect(res.status).toBe(200);
    await expectRefused(file, /was made against version .*, but \/production\/bulb-api now runs version/);
  });

  it('production cannot be reached without a plan, nor with --force (exit 2, nothing sent)', async () => {
    const before = proxy.seen.length;
    const direct = await deploy(AUTHOR, ['apply', '--service', 'bulb-api', '--env', 'production', '--image', IMAGE('v9')]);
    expect(direct.code).toBe(2);
    expect(direct.stderr).toMatch(/production is changed only through an approved plan/);
    const forced = await deploy(AUTHOR, ['apply', '--plan', join(dir, 'first.json'), '--force']);
    expect(forced.code).toBe(2);
    expect(proxy.seen.slice(before)).toEqual([]);
  });

  it('every refusal is in the audit log', async () => {
    const events = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; reason?: string });
    const refused = events.filter((e) => e.type === 'gate.refused');
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(refused.every((e) => typeof e.reason === 'string' && e.reason.length > 0)).toBe(true);
  });

  it('an emergency rollback needs no new approval and is audited as one', async () => {
    const r = await deploy('oncall@acme-lighting.example', ['rollback', '--service', 'bulb-api', '--env', 'production', '--timeout', '60']);
    expect(r.code).toBe(0);
    const events = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; emergency?: boolean; actor: string });
    expect(events.filter((e) => e.type === 'rollback.succeeded').pop()).toMatchObject({
      emergency: true,
      actor: 'oncall@acme-lighting.example',
    });
  }, 60_000);
});
