// One test per attack on the production gate, through the CLI (main(argv, io) in-process, two through the built
// CLI): the exit code, the one-line message, and that no request that changes Marathon reached it (a recording proxy
// sits between the CLI and the local Marathon). Keys are made here with ssh-keygen; services are fixtures.
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lineHash } from '../../lib/audit/log';
import { Catalog } from '../../lib/catalog';
import { diffApp } from '../../lib/deploy/diff';
import { approvalStatement, planStatement } from '../../lib/gate/gate';
import { PlanFile, sealPlan } from '../../lib/gate/plan-file';
import { NAMESPACES, signMessage } from '../../lib/signing';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { CliRun as Run, runDeployCli } from '../helpers/deploy-cli';
import { signingWith, testGit } from '../helpers/git';
import { testKeys, TestKeys } from '../helpers/keys';
import { sendJson, startRecordingServer } from '../helpers/http';
import { recordingProxy } from '../helpers/proxy';
import { makeImageStore, startMarathon, testService } from '../lib/deploy/helpers';

const root = resolve(__dirname, '../..');
const ANA = 'ana@example.com'; // author
const BEN = 'ben@example.com'; // reviewer
const CAT = 'cat@example.com'; // member of group:leads
const MALLORY = 'mallory@example.com'; // listed, approves nothing
const OPS = 'ops@example.com'; // listed: runs applies, signing the records they write
const approvers = [`user:${ANA}`, `user:${BEN}`];
const catalog = new Catalog([
  testService('web', { approvers }),
  testService('api', { approvers }),
  testService('led', { approvers: ['group:leads@example.com'] }),
]);
const IMAGE = (service: string, tag: string) => `reg:5000/${service}:${tag}`;

let dir: string;
let keys: TestKeys;
let store: ReturnType<typeof makeImageStore>;
let marathon: LocalMarathon;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
const auditPath = () => join(dir, 'audit.jsonl');
/** Requests that change Marathon since `from`. */
const changing = (from: number) => proxy.seen.slice(from).filter((s) => !s.startsWith('GET '));

/** The deploy CLI in this process, with the fixture catalog. `as` picks the signing key (DEPLOY_SIGNING_KEY). */
async function deploy(args: string[], options: { as?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return runDeployCli(args, {
    catalog,
    env: {
      CI: 'true',
      MARATHON_URL: proxy.url,
      C2C_AUDIT_LOG: auditPath(),
      C2C_ALLOWED_SIGNERS: keys.allowedSigners,
      DEPLOY_ACTOR: 'someone@example.com',
      ...(options.as ? { DEPLOY_SIGNING_KEY: keys.key(options.as) } : {}),
      ...options.env,
    },
  });
}

let planCount = 0;
/** `deploy plan` for production, signed by `author`; returns the plan file. */
async function plan(service: string, tag: string, author = ANA, extra: string[] = []): Promise<string> {
  const out = join(dir, `plan-${++planCount}.json`);
  const r = await deploy(['plan', '--service', service, '--env', 'production', '--image', IMAGE(service, tag), '--out', out, ...extra], {
    as: author,
  });
  expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
  return out;
}

async function approve(file: string, who = BEN): Promise<void> {
  const r = await deploy(['approve', file], { as: who });
  expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
}

/** `deploy apply --plan`, run by ops with a listed key (its records are signed), or by someone without one (`as: null`). */
async function apply(file: string, as: string | null = OPS): Promise<Run> {
  return deploy(['apply', '--plan', file, '--timeout', '20'], as ? { as } : {});
}

const readPlan = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PlanFile;
/** An attacker's edit: change the plan, recompute its id, and sign it again with the author's own key. */
async function reseal(file: string, edit: (p: PlanFile) => PlanFile, signer = ANA): Promise<void> {
  const sealed = sealPlan(edit(readPlan(file)));
  const signature = await signMessage(keys.key(signer), NAMESPACES.plan, planStatement(sealed));
  writeFileSync(file, JSON.stringify({ ...sealed, signature }));
}

/**
 * Runs a command that must be refused: its exit code, exactly one `deploy: ` line matching `message`, no request that
 * changes Marathon, and a `gate.refused` record for it when `recorded`.
 */
async function expectRefused(run: () => Promise<Run>, code: number, message: RegExp, recorded = code === 3): Promise<Run> {
  const before = proxy.seen.length;
  const refusalsBefore = refusals().length;
  const r = await run();
  expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('deploy: '));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(changing(before)).toEqual([]);
  if (recorded) expect(refusals().length).toBe(refusalsBefore + 1);
  return r;
}

function events(): Record<string, unknown>[] {
  let text = '';
  try {
    text = readFileSync(auditPath(), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
const refusals = () => events().filter((e) => e.type === 'gate.refused');

let v2: string;
let failed: string;
const liveVersion = async () =>
  ((await (await fetch(`${marathon.url}/v2/apps/production/web`)).json()) as { app: { version: string } }).app.version;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-gate-cli-'));
  keys = testKeys(dir, [ANA, BEN, MALLORY, OPS]);
  keys.add(CAT, { groups: ['group:leads@example.com'] });
  keys.add('eve@example.com', { listed: false });
  store = makeImageStore(['web']);
  marathon = await startMarathon(store.dir);
  proxy = await recordingProxy(marathon.url);
  // Two releases through the gate, and one that fails and is rolled back.
  const first = await plan('web', 'v1');
  await approve(first);
  expect((await apply(first)).code).toBe(0);
  const bad = await plan('web', 'broken');
  await approve(bad);
  const badRun = await apply(bad);
  expect(badRun.code).toBe(1);
  // The version that failed and was rolled back, as the audit log recorded it.
  const rolledBack = readFileSync(auditPath(), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"apply.rolled-back"'))
    .map((l) => JSON.parse(l) as { appVersion?: string });
  failed = rolledBack[rolledBack.length - 1]?.appVersion ?? '';
  expect(failed).not.toBe('');
  const second = await plan('web', 'v2');
  await approve(second);
  expect((await apply(second)).code).toBe(0);
  v2 = await liveVersion();
}, 90_000);

afterAll(async () => {
  await proxy?.close();
  await marathon?.close();
  store?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('the happy path', () => {
  it('the app carries the plan id and the verified approver; approve showed the diff it computed', async () => {
    const app = ((await (await fetch(`${marathon.url}/v2/apps/production/web`)).json()) as { app: { labels: Record<string, string> } }).app;
    expect(app.labels['c2c.approved-by']).toBe(BEN);
    const file = await plan('web', 'v3');
    const r = await deploy(['approve', file, '--comment', 'ok'], { as: BEN });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`~ container.docker.image: "${IMAGE('web', 'v2')}" -> "${IMAGE('web', 'v3')}"`);
    expect(r.stdout).toMatch(new RegExp(`^approved plan [0-9a-f]{12} \\(web in production\\) as ${BEN}, valid until `));
  });
});

describe('hole 1: the reviewer approves a diff that is not what runs', () => {
  it('a miner image and an extra env var in app, id recomputed and re-signed: approve and apply refuse (exit 3)', async () => {
    const file = await plan('web', 'v4');
    await reseal(file, (p) => ({
      ...p,
      app: {
        ...p.app,
        container: { ...p.app.container!, docker: { ...p.app.container!.docker, image: 'evil.example/miner:latest' } },
        env: { MINER: '1' },
      },
    }));
    const message =
      /^deploy: plan [0-9a-f]{12} says one thing and runs another: its image field says reg:5000\/web:v4, but its app runs evil.example\/miner:latest$/;
    await expectRefused(() => deploy(['approve', file], { as: BEN }), 3, message);
    await expectRefused(() => apply(file), 3, message);
  });

  it('one byte of the plan file edited after approval: exit 3 at approve and apply, recorded', async () => {
    const file = await plan('web', 'v4');
    await approve(file);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"mem": 32', '"mem": 33'));
    const message = /^deploy: plan file '.*' was changed after planning: its content hashes to [0-9a-f]{12}, not its id [0-9a-f]{12}$/;
    await expectRefused(() => apply(file), 3, message);
    await expectRefused(() => deploy(['approve', file], { as: BEN }), 3, message);
    expect(refusals().pop()).toMatchObject({ actor: BEN, code: 'PLAN_TAMPERED', service: 'web', environment: 'production' });
  });

  it('when every stored field is forged to match, the reviewer sees the miner: the diff is computed from app', async () => {
    const file = await plan('web', 'v4');
    await reseal(file, (p) => {
      const app = { ...p.app, env: { ...p.app.env, MINER: '1' } };
      return { ...p, app };
    });
    // The stored diff no longer matches the app: refused; a consistent forgery would show `+ env.MINER` to the reviewer.
    await expectRefused(() => deploy(['approve', file], { as: BEN }), 3, /its stored diff \(1 change\(s\)\) is not what its app changes/);
  });
});

describe('hole 2: identities are verified, never self-asserted', () => {
  it('DEPLOY_ACTOR=<an approver> with a key that is not theirs: the key decides (not an approver)', async () => {
    const file = await plan('web', 'v5');
    await expectRefused(
      () => deploy(['approve', file], { as: MALLORY, env: { DEPLOY_ACTOR: BEN } }),
      3,
      new RegExp(`^deploy: ${MALLORY} is not an approver of web`),
    );
    await expectRefused(
      () => deploy(['approve', file], { as: 'eve@example.com', env: { DEPLOY_ACTOR: BEN } }),
      3,
      /^deploy: the key .* is not in /,
    );
    expect(refusals().pop()).toMatchObject({ actor: `${BEN} (unverified)`, code: 'GATE_BAD_SIGNATURE' });
  });

  it('the author approving as someone else (DEPLOY_ACTOR, a homoglyph name) is still the author: four-eyes', async () => {
    const file = await plan('web', 'v5');
    await expectRefused(
      () => deploy(['approve', file], { as: ANA, env: { DEPLOY_ACTOR: '\u0430na@example.com' } }),
      3,
      new RegExp(`^deploy: ${ANA} created plan [0-9a-f]{12} and may not approve it \\(four-eyes rule for web\\)$`),
    );
  });

  it('rewriting createdBy (id recomputed) breaks the author signature', async () => {
    const file = await plan('web', 'v5');
    const signature = readPlan(file).signature;
    writeFileSync(file, JSON.stringify({ ...sealPlan({ ...readPlan(file), createdBy: BEN }), signature }));
    await expectRefused(
      () => deploy(['approve', file], { as: ANA }),
      3,
      /^deploy: plan [0-9a-f]{12}: the signature by ana@example.com .* does not verify/,
    );
  });

  it('the commit author cannot approve their commit', async () => {
    const file = await plan('web', 'v5', ANA, ['--commit-author', BEN]);
    await expectRefused(
      () => deploy(['approve', file], { as: BEN }),
      3,
      /^deploy: ben@example.com wrote plan [0-9a-f]{12} and may not approve it/,
    );
  });

  it('a group approver is satisfied only by a member listed for it', async () => {
    const file = await plan('led', 'v1');
    await expectRefused(
      () => deploy(['approve', file], { as: BEN }),
      3,
      /^deploy: ben@example.com is not an approver of led \(approvers: group:leads@example.com\)$/,
    );
    await approve(file, CAT);
  });
});

describe('hole 3: approvals come from signatures, not from lines in a file', () => {
  it('a forged approval.recorded line appended to the log does not count', async () => {
    const file = await plan('web', 'v6');
    const { id } = readPlan(file);
    const forged = { id: 'x', type: 'approval.recorded', service: 'web', environment: 'production', actor: BEN, approver: BEN, planId: id };
    appendFileSync(
      auditPath(),
      `${JSON.stringify({ ...forged, time: new Date().toISOString(), expiresAt: '2099-01-01T00:00:00.000Z' })}\n`,
    );
    await expectRefused(
      () => apply(file),
      3,
      new RegExp(`^deploy: the approval of plan ${id.slice(0, 12)} recorded for ${BEN} is not signed$`),
    );
    appendFileSync(
      auditPath(),
      `${JSON.stringify({ ...forged, time: '2099-01-01T00:00:00.000Z', expiresAt: '2099-01-02T00:00:00.000Z' })}\n`,
    );
    await expectRefused(() => apply(file), 3, /is not signed$/);
  });

  it('an audit log of your own (C2C_AUDIT_LOG) is refused: it does not hold the record the live version was applied under', async () => {
    const file = await plan('web', 'v6');
    await approve(file);
    const mine = join(dir, 'mine.jsonl');
    const before = proxy.seen.length;
    const r = await deploy(['apply', '--plan', file], { env: { C2C_AUDIT_LOG: mine } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^deploy: the audit log \S+mine\.jsonl is empty or missing, but \/production\/web version \S+ was applied under audit record [0-9a-f]{12}$/m,
    );
    expect(changing(before)).toEqual([]);
    expect(readFileSync(mine, 'utf8')).toContain('"gate.refused"');
  });

  it('a Cloud Build API URL override refuses production', async () => {
    const file = await plan('web', 'v6');
    await expectRefused(
      () =>
        deploy(['apply', '--plan', file, '--approval', 'cloudbuild'], {
          env: { C2C_CLOUDBUILD_BASE_URL: 'http://127.0.0.1:9', C2C_BUILD_PROJECT: 'p', C2C_BUILD_ID: 'b' },
        }),
      3,
      /^deploy: C2C_CLOUDBUILD_BASE_URL is set: a Cloud Build approval is read only from cloudbuild.googleapis.com$/,
    );
  });

  it('an expired approval', async () => {
    const file = await plan('web', 'v6');
    const { id } = readPlan(file);
    const fields = {
      planId: id,
      service: 'web',
      environment: 'production',
      approver: BEN,
      time: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-02T00:00:00.000Z',
    };
    const signature = await signMessage(keys.key(BEN), NAMESPACES.approval, approvalStatement(fields));
    appendFileSync(
      auditPath(),
      `${JSON.stringify({ id: 'old', type: 'approval.recorded', actor: BEN, approvalSource: 'cli', ...fields, signature })}\n`,
    );
    await expectRefused(
      () => apply(file),
      3,
      new RegExp(`^deploy: the approval of plan ${id.slice(0, 12)} by ${BEN} expired at 2026-01-02T00:00:00.000Z$`),
    );
  });
});

describe('replays and relabelling', () => {
  it('an approved plan replayed onto another service: the id changes, so there is no approval', async () => {
    const file = await plan('web', 'v7');
    await approve(file);
    await reseal(file, (p) => ({ ...p, service: 'api' }));
    await expectRefused(
      () => apply(file),
      3,
      /^deploy: plan [0-9a-f]{12} says one thing and runs another: its app is \/production\/web, but the plan is for \/production\/api$/,
    );
  });

  it('a staging plan relabelled production', async () => {
    const out = join(dir, 'staging.json');
    expect((await deploy(['plan', '--service', 'web', '--env', 'staging', '--image', IMAGE('web', 'v7'), '--out', out])).code).toBe(0);
    await expectRefused(
      () => deploy(['approve', out], { as: BEN }),
      2,
      /^deploy: plan [0-9a-f]{12} is for staging, which needs no approval$/,
      false,
    );
    await reseal(out, (p) => ({ ...p, environment: 'production' }));
    await expectRefused(() => apply(out), 3, /its app is \/staging\/web, but the plan is for \/production\/web$/);
  });

  it('a swapped image with a recomputed id and re-signed: the approval was for another plan', async () => {
    const file = await plan('web', 'v8');
    await approve(file);
    await reseal(file, (p) => ({ ...JSON.parse(JSON.stringify(p).replace(/web:v8/g, 'web:evil')) }));
    await expectRefused(
      () => apply(file),
      3,
      /^deploy: no approval for plan [0-9a-f]{12}; the latest approval for web in production is for plan [0-9a-f]{12}$/,
    );
  });

  it('a plan file over 1 MiB is exit 2 before it is parsed', async () => {
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, `{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    await expectRefused(
      () => apply(huge),
      2,
      /^deploy: plan file '.*huge.json' is \d+ bytes; a plan is at most 1048576 bytes \(1 MiB\)$/,
      false,
    );
  });
});

describe('hole 4 and 5: rollback goes only to known-good versions, and a damaged log never blocks it', () => {
  it('--to a version that failed, or one never approved: exit 3, recorded', async () => {
    await expectRefused(
      () => deploy(['rollback', '--service', 'web', '--env', 'production', '--to', failed]),
      3,
      new RegExp(`^deploy: refusing to restore /production/web to ${failed.replace(/\./g, '\\.')}: version \\S+ failed in production$`),
    );
    // A version made by hand, around the gate: never seen healthy through an approved plan.
    const res = await fetch(`${marathon.url}/v2/apps/production/web?force=true`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: 2 }),
    });
    const byHand = ((await res.json()) as { version: string }).version;
    await expectRefused(
      () => deploy(['rollback', '--service', 'web', '--env', 'production', '--to', byHand]),
      3,
      /was never seen healthy in production/,
    );
  });

  it('--force in production needs break-glass', async () => {
    await expectRefused(
      () => deploy(['rollback', '--service', 'web', '--env', 'production', '--force']),
      3,
      /^deploy: --force cancels a production deployment: that is break-glass only$/,
    );
  });

  it('with an empty log a plain rollback is refused: the live version names a record the log does not hold', async () => {
    await expectRefused(
      () => deploy(['rollback', '--service', 'web', '--env', 'production'], { env: { C2C_AUDIT_LOG: join(dir, 'empty.jsonl') } }),
      3,
      /^deploy: the audit log does not hold the authorization [0-9a-f]{12} that \/production\/web version \S+ was applied under: /,
      false,
    );
  });

  it('one malformed line in the log: reported, skipped, and the rollback goes ahead (undoing the change made by hand)', async () => {
    appendFileSync(auditPath(), '{"type": "approval.recorded", oops\n');
    const r = await deploy(['rollback', '--service', 'web', '--env', 'production', '--timeout', '20']);
    expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
    expect(r.stderr).toMatch(/^note: audit log line \d+: /m);
    expect(r.stdout).toMatch(new RegExp(`^rolled back /production/web to version ${v2.replace(/\./g, '\\.')} \\(reg:5000/web:v2\\)`));
  }, 30_000);

  it('break-glass is signed, recorded loudly and shown by history and report; a rollback that fails is put back', async () => {
    const before = await liveVersion();
    const r = await deploy(
      ['rollback', '--service', 'web', '--env', 'production', '--to', failed, '--break-glass', '--reason', 'drill', '--timeout', '20'],
      {
        as: BEN,
      },
    );
    expect(r.stderr).toContain('BREAK-GLASS rollback of web in production: "drill"');
    // Issue 20 item 5: the failed version does not get healthy, and the rollback is itself rolled back.
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('deploy: '))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^deploy: rollback of /production/web to ${failed.replace(/\./g, '\\.')} failed: .*; version ${before.replace(/\./g, '\\.')} \\(what ran before\\) runs again$`,
        ),
      ),
    ]);
    const app = ((await (await fetch(`${marathon.url}/v2/apps/production/web`)).json()) as { app: { labels: Record<string, string> } }).app;
    expect(app.labels['c2c.image']).toBe(IMAGE('web', 'v2'));
    expect(
      events()
        .filter((e) => e.type === 'rollback.failed' || e.type === 'rollback.reverted')
        .slice(-2)
        .map((e) => [e.type, e.appVersion, e.previousVersion]),
    ).toEqual([
      ['rollback.failed', failed, before],
      ['rollback.reverted', failed, before],
    ]);
    expect(
      events()
        .filter((e) => e.type === 'rollback.started')
        .pop(),
    ).toMatchObject({ actor: BEN, breakGlass: true, appVersion: failed });
    const history = await deploy(['history', '--service', 'web']);
    expect(history.stdout).toMatch(
      new RegExp(
        `^!! BREAK-GLASS \\S+: ${BEN} rolled back web in production to ${failed.replace(/\./g, '\\.')}: signed reason: drill$`,
        'm',
      ),
    );
    const report = await deploy(['report']);
    expect(report.stdout).toMatch(/^!! 1 BREAK-GLASS rollback\(s\) in production in this window:$/m);
  }, 30_000);
});

describe('the audit log is tamper-evident', () => {
  it('history --verify names the first bad line: an edited record and the forged approvals', async () => {
    const lines = readFileSync(auditPath(), 'utf8').split('\n');
    const clean = join(dir, 'clean.jsonl');
    writeFileSync(clean, lines.slice(0, 3).join('\n') + '\n');
    // Without the production Marathon only the chain and the signatures are checked: a truncated log looks whole.
    const ok = await deploy(['history', '--verify'], { env: { C2C_AUDIT_LOG: clean, MARATHON_URL: '' } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /: 3 records, hash chain intact, \d+ signatures verified, .*not checked against production Marathon \(no URL\)$/m,
    );
    // With it, the versions applied through the gate name records the truncated log does not hold.
    const cut = await deploy(['history', '--verify'], { env: { C2C_AUDIT_LOG: clean } });
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(
      /^deploy: audit log .*clean.jsonl is damaged from line 4: from line 4 on, the log does not hold the record [0-9a-f]{12} that \/production\/web version \S+ was applied under: /m,
    );
    const edited = join(dir, 'edited.jsonl');
    writeFileSync(edited, [lines[0], lines[1].replace('"service":"web"', '"service":"api"'), lines[2]].join('\n') + '\n');
    const bad = await deploy(['history', '--verify'], { env: { C2C_AUDIT_LOG: edited } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^deploy: audit log .*edited.jsonl is damaged from line 2: /m);
    const whole = await deploy(['history', '--verify']);
    expect(whole.code).toBe(1);
    expect(whole.stdout).toMatch(/^line \d+: the approval.* is not signed|^line \d+: approval.recorded by ben@example.com is not signed$/m);
  }, 60_000);
});

describe('issue 20: every fact the gate uses is verified', () => {
  const lines = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  /** The log with line `i` (0-based) replaced by `edit(record)` and every later `prev` recomputed: a chain anyone can redo. */
  const rechain = (all: string[]): string[] => {
    const out: string[] = [];
    for (const l of all) {
      const r = JSON.parse(l) as Record<string, unknown>;
      out.push(JSON.stringify({ ...r, prev: out.length === 0 ? '0'.repeat(64) : lineHash(out[out.length - 1]) }));
    }
    return out;
  };

  it('item 1: keys named after Object.prototype members in app are refused; the diff sees own keys only', async () => {
    const file = await plan('api', 'p1');
    await reseal(file, (p) => ({ ...p, app: { ...p.app, env: { ...(p.app.env ?? {}), constructor: 'evil' } } }));
    await expectRefused(
      () => deploy(['approve', file], { as: BEN }),
      3,
      /^deploy: plan [0-9a-f]{12} says one thing and runs another: its app has a key named after an Object.prototype member \(app\.env\.constructor\), which no diff shows$/,
    );
    const proto = await plan('api', 'p2');
    await reseal(proto, (p) => ({ ...p, app: JSON.parse(JSON.stringify(p.app).replace(/^\{/, '{"__proto__":{"cmd":"x"},')) }));
    await expectRefused(() => apply(proto), 3, /an Object.prototype member \(app\.__proto__\)/);
    // The diff itself: an own key of that name is a change, on either side.
    const base = readPlan(proto).app;
    expect(diffApp({ ...base, labels: { ...base.labels, toString: 'x' } }, { ...base } as Record<string, unknown>)).toEqual([
      { path: 'labels.toString', kind: 'added', to: 'x' },
    ]);
    expect(diffApp(base, { ...base, env: { ...base.env, valueOf: 'x' } } as Record<string, unknown>)).toEqual([
      { path: 'env.valueOf', kind: 'removed', from: 'x' },
    ]);
  });

  it('item 3: a signed record rewritten with the chain recomputed, a deleted record, an edited last line: --verify names the line', async () => {
    const own = join(dir, 'own.jsonl');
    const env = { C2C_AUDIT_LOG: own };
    const file = join(dir, 'own-plan.json');
    expect(
      (await deploy(['plan', '--service', 'api', '--env', 'production', '--image', IMAGE('api', 'o1'), '--out', file], { as: ANA, env }))
        .code,
    ).toBe(0);
    expect((await deploy(['approve', file], { as: BEN, env })).code).toBe(0);
    expect((await deploy(['approve', file], { as: ANA, env })).code).toBe(3); // a refusal, signed by its writer
    const log = lines(own);
    expect(log.map((l) => JSON.parse(l).writer)).toEqual([ANA, BEN, ANA]);
    const verify = async (text: string[]) => {
      writeFileSync(own, `${text.join('\n')}\n`);
      // This log holds none of production's anchors: only its chain and signatures are checked here.
      return deploy(['history', '--verify'], { env: { ...env, MARATHON_URL: '' } });
    };
    const intact = await verify(log);
    expect(intact.code === 0 ? intact.stdout : intact.stderr).toMatch(/: 3 records, hash chain intact, 5 signatures verified, /);
    // The refusal deleted, nothing else touched: the approval's link still holds, so the cut is after line 2.
    // The approval's actor rewritten and the chain recomputed: its writer's signature no longer verifies.
    const forged = rechain([log[0], log[1].replace(`"actor":"${BEN}"`, `"actor":"${MALLORY}"`), log[2]]);
    const r1 = await verify(forged);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(
      /^deploy: audit log .*own\.jsonl is damaged from line 2: approval\.recorded written by ben@example\.com: .*this record was changed/m,
    );
    // The approval deleted and the chain recomputed: the refusal after it no longer verifies (its prev was signed).
    const r2 = await verify(rechain([log[0], log[2]]));
    expect(r2.stderr).toMatch(/is damaged from line 2: gate\.refused written by ana@example\.com: .*this record was changed/m);
    // The last line edited (a refusal made to look like something else): its own signature fails.
    const r3 = await verify([log[0], log[1], log[2].replace('"gate.refused"', '"apply.noop"')]);
    expect(r3.stderr).toMatch(/is damaged from line 3: apply\.noop written by ana@example\.com: /m);
    // An unsigned record inserted in the middle, back-dated, chain recomputed: the signed record after it fails.
    const insert = JSON.stringify({ ...JSON.parse(log[1]), writer: undefined, writerSignature: undefined, type: 'gate.refused' });
    const r4 = await verify(rechain([log[0], insert, log[1], log[2]]));
    expect(r4.stderr).toMatch(/is damaged from line 3: /m);
    // The whole log deleted where production holds versions applied through the gate: an error, never "0 records".
    rmSync(own);
    const gone = await deploy(['history', '--verify'], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(
      /^deploy: audit log .*own\.jsonl is damaged from line 1: the audit log is empty or missing, but \/production\/web version /m,
    );
  }, 60_000);

  it('item 4: a lock file dated in the future is stale; the intent is recorded before the change, and the new version carries its hash', async () => {
    const file = await plan('api', 'l1');
    await approve(file);
    const lock = `${auditPath()}.lock`;
    writeFileSync(lock, '');
    const future = new Date(Date.now() + 3600_000);
    utimesSync(lock, future, future);
    const before = proxy.seen.length;
    const r = await apply(file);
    expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
    const log = lines(auditPath());
    const authorized = log.findIndex((l) => l.includes('"apply.authorized"') && l.includes(readPlan(file).id));
    const started = log.findIndex((l) => l.includes('"apply.started"') && l.includes(readPlan(file).id));
    expect(authorized).toBeGreaterThan(-1);
    expect(started).toBeGreaterThan(authorized);
    const put = proxy.seen.findIndex((x, i) => i >= before && x.startsWith('PUT '));
    expect(JSON.parse(proxy.bodies.get(put) ?? '{}').labels['c2c.audit-head']).toBe(lineHash(log[authorized]));
  }, 30_000);

  it('item 5: a success record that is unsigned or rewritten makes nothing known good; nothing reaches Marathon', async () => {
    // api l1 (item 4) was applied by ops, signed. r1 is applied by someone without a listed key: its records are unsigned.
    const r1 = await plan('api', 'u1');
    await approve(r1);
    expect((await apply(r1, null)).code).toBe(0);
    const unsignedVersion = (await (await fetch(`${marathon.url}/v2/apps/production/api`)).json()) as { app: { version: string } };
    const r2 = await plan('api', 'u2');
    await approve(r2);
    expect((await apply(r2)).code).toBe(0);
    const rx = (v: string) => v.replace(/\./g, '\\.');
    const u = unsignedVersion.app.version;
    await expectRefused(
      () => deploy(['rollback', '--service', 'api', '--env', 'production', '--to', u]),
      3,
      new RegExp(
        `^deploy: refusing to restore /production/api to ${rx(u)}: version ${rx(u)} is not known good: the only record of it running healthy does not verify \\(apply\\.succeeded is unsigned \\(written without a key listed in the allowed signers\\)\\)$`,
      ),
    );
    // The failed web version's record rewritten from apply.rolled-back to apply.succeeded (the chain left as it is, so
    // the live version's authorization still holds): its writer's signature no longer verifies, so it counts for nothing.
    const copy = join(dir, 'rewritten.jsonl');
    writeFileSync(
      copy,
      lines(auditPath())
        // (and the records of the break-glass rollback to it that failed deleted)
        .filter((l) => !(l.includes('"rollback.') && l.includes(failed)))
        .map((l) => (l.includes('"apply.rolled-back"') && l.includes(failed) ? l.replace('"apply.rolled-back"', '"apply.succeeded"') : l))
        .join('\n') + '\n',
    );
    await expectRefused(
      () => deploy(['rollback', '--service', 'web', '--env', 'production', '--to', failed], { env: { C2C_AUDIT_LOG: copy } }),
      3,
      new RegExp(
        `^deploy: refusing to restore /production/web to ${rx(failed)}: version ${rx(failed)} is not known good: .*apply\\.succeeded written by ops@example\\.com: .*this record was changed after it was written\\)$`,
      ),
      false,
    );
  }, 60_000);

  it('item 5: a rollback cut off by a Marathon outage is recorded as unknown, with the commands that resolve it', async () => {
    // u2 (the test above, applied by ops) is known good; u3 goes live over it.
    const u3 = await plan('api', 'u3');
    await approve(u3);
    expect((await apply(u3)).code).toBe(0);
    // A proxy that passes the rollback's PUT on, then answers 503 to everything: Marathon gone mid-rollback.
    const outage = await recordingProxy(marathon.url, {
      refuse: (_m, _u, seen) => (seen.slice(0, -1).some((x) => x.startsWith('PUT ')) ? 503 : undefined),
    });
    try {
      const live = ((await (await fetch(`${marathon.url}/v2/apps/production/api`)).json()) as { app: { version: string } }).app.version;
      const r = await deploy(['rollback', '--service', 'api', '--env', 'production', '--timeout', '3'], {
        env: { MARATHON_URL: outage.url },
      });
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('deploy: '));
      expect(lines).toEqual([
        expect.stringMatching(/^deploy: state unknown: \/production\/api may run version \S+ \(rolling back from \S+\) or be part way; /),
      ]);
      expect(r.stderr).toContain(`'deploy rollback --service api --env production --to ${live}'`);
      // Only the rollback's PUT reached Marathon; every request after it (an attempt to put api back included) got 503.
      const changes = outage.seen.filter((x) => !x.startsWith('GET '));
      expect(changes[0]).toMatch(/^PUT \/v2\/apps\/production\/api/);
      expect(changes.filter((x) => x.startsWith('PUT '))).toHaveLength(1);
      expect(
        events()
          .filter((e) => e.service === 'api' && String(e.type).startsWith('rollback.'))
          .slice(-2)
          .map((e) => e.type),
      ).toEqual(['rollback.started', 'rollback.unknown']);
    } finally {
      await outage.close();
    }
  }, 30_000);

  it('item 6: a break-glass record whose reason was rewritten: --verify names it, history prints the signed reason', async () => {
    const copy = join(dir, 'glass.jsonl');
    writeFileSync(
      copy,
      readFileSync(auditPath(), 'utf8').replace('"reason":"BREAK-GLASS: drill"', '"reason":"BREAK-GLASS: approved by the CEO"'),
    );
    const r = await deploy(['history', '--verify'], { env: { C2C_AUDIT_LOG: copy } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^line \d+: break-glass rollback\.started by ben@example\.com: its reason is not the signed one \("drill"\)$/m,
    );
    const shown = await deploy(['history', '--service', 'web'], { env: { C2C_AUDIT_LOG: copy } });
    expect(shown.stdout).toMatch(
      /^!! BREAK-GLASS .*: signed reason: drill \(the record does not match what was signed: its reason is not the signed one/m,
    );
    expect(shown.stdout).not.toContain('CEO');
  });

  it('item 7: control characters from the log (an actor with ESC and CR) are printed escaped', async () => {
    const file = await plan('api', 'e1');
    const actor = '\u001b[2K\rben@example.com approved this';
    await expectRefused(() => deploy(['apply', '--plan', file], { env: { DEPLOY_ACTOR: actor } }), 3, /has no approval|is for plan/);
    const h = await deploy(['history', '--service', 'api']);
    expect(h.code).toBe(0);
    expect(h.stdout.includes('\u001b') || h.stdout.includes('\r')).toBe(false);
    expect(h.stdout).toContain('\\x1b[2K\\rben@example.com approved this');
    // Marathon's error bodies too: a 422 whose message tries to rewrite the line.
    const evil = await startRecordingServer((_req, res) => sendJson(res, 422, { message: '\u001b[1A\u001b[2K\rall good, deployed' }));
    try {
      const r = await deploy(['status', '--env', 'staging'], { env: { MARATHON_URL: evil.url } });
      expect(r.code).toBe(1);
      expect(r.stderr.includes('\u001b') || r.stderr.includes('\r')).toBe(false);
      expect(r.stderr).toContain('\\x1b[1A\\x1b[2K\\rall good, deployed');
    } finally {
      await evil.close();
    }
  });

  it('item 8: credentials in --registry are redacted; a Marathon token with a newline is refused, never printed', async () => {
    const out = join(dir, 'reg-plan.json');
    const r = await deploy(
      [
        'plan',
        '--service',
        'api',
        '--env',
        'staging',
        '--image',
        IMAGE('api', 'r1'),
        '--registry',
        'http://robot:s3cret-pw@127.0.0.1:9/',
        '--out',
        out,
      ],
      { as: ANA },
    );
    expect(r.code === 0 ? 'ok' : r.stderr).toBe('ok');
    expect(r.stderr).toMatch(/^note: the registry at http:\/\/\*\*\*@127\.0\.0\.1:9\/ did not answer/m);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
    const before = proxy.seen.length;
    const t = await deploy(['status', '--env', 'production'], { env: { MARATHON_TOKEN: 'tok-secret\nX-Evil: 1' } });
    expect(t.code).toBe(2);
    expect(t.stderr.split('\n')[0]).toBe(
      'deploy: MARATHON_TOKEN holds a character that is not printable ASCII (a newline or control character?)',
    );
    expect(t.stdout + t.stderr).not.toContain('tok-secret');
    expect(proxy.seen.length).toBe(before);
  });

  it('item 9: the push build records as commit author only the listed signer of the commit, verified by git', async () => {
    const repo = join(dir, 'service-repo');
    const git = testGit(repo, dir, BEN);
    mkdirSync(join(repo, 'security'), { recursive: true });
    git(['init', '-q']);
    copyFileSync(keys.allowedSigners, join(repo, 'security', 'allowed_signers'));
    git(['add', '-A']);
    // Declares ben as its author, signed by ana: ana is the author the gate will keep from approving it.
    git([...signingWith(keys.key(ANA)), 'commit', '-qS', '-m', 'signed']);
    const signed = git(['rev-parse', 'HEAD']);
    git(['commit', '-q', '--allow-empty', '-m', 'unsigned']);
    const unsigned = git(['rev-parse', 'HEAD']);
    const cloudPlan = (commit: string, out: string, extra: string[] = [], env: Record<string, string> = { C2C_ALLOWED_SIGNERS: '' }) =>
      deploy(
        [
          'plan',
          '--service',
          'api',
          '--env',
          'production',
          '--image',
          IMAGE('api', 'c1'),
          '--out',
          out,
          '--commit',
          commit,
          '--verify-commit',
          repo,
          ...extra,
        ],
        { env: { ...env, DEPLOY_ACTOR: 'cloudbuild:b-1' } },
      );

    const a = await cloudPlan(signed, join(dir, 'verified.json'));
    expect(a.code === 0 ? 'ok' : a.stderr).toBe('ok');
    expect(a.stderr).toContain(`commit ${signed.slice(0, 12)} is signed by ${ANA} (verified): recorded as its author`);
    const p = readPlan(join(dir, 'verified.json'));
    expect(p).toMatchObject({
      commit: signed,
      commitAuthor: ANA,
      commitTime: git(['log', '-1', '--format=%cI', signed]),
      createdBy: 'cloudbuild:b-1',
    });
    expect(p.signature).toBeUndefined();

    const u = await cloudPlan(unsigned, join(dir, 'unverified.json'));
    expect(u.code === 0 ? 'ok' : u.stderr).toBe('ok');
    expect(u.stderr).toContain(`note: commit ${unsigned.slice(0, 12)} has no verified author (the commit is not signed)`);
    expect(readPlan(join(dir, 'unverified.json')).commitAuthor).toBeUndefined();

    // The author and time come from the commit only; the list is the repository's, never one named by the environment.
    const both = await cloudPlan(signed, join(dir, 'x.json'), ['--commit-author', BEN]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(
      /^deploy: --verify-commit reads the author and time from the commit; --commit-author\/--commit-time cannot be given with it$/m,
    );
    const override = await cloudPlan(signed, join(dir, 'y.json'), [], { C2C_ALLOWED_SIGNERS: keys.allowedSigners });
    expect(override.code).toBe(3);
    expect(override.stderr).toMatch(
      /^deploy: C2C_ALLOWED_SIGNERS is set: --verify-commit verifies the commit only against the platform's allowed signers \(C2C_PLATFORM_SIGNERS\), else the checkout's security\/allowed_signers$/m,
    );
  });

  it('item 11: C2C_ALLOWED_SIGNERS is refused for a Cloud Build production apply', async () => {
    const file = await plan('api', 's1');
    await expectRefused(
      () => deploy(['apply', '--plan', file, '--approval', 'cloudbuild']),
      3,
      /^deploy: C2C_ALLOWED_SIGNERS is set: a production build verifies signatures only against the platform's allowed signers$/,
    );
  });
});

describe('through the built CLI', () => {
  const cli = join(root, 'dist/scripts/deploy.js');
  const spawnCli = (args: string[], env: Record<string, string>): Promise<Run> =>
    new Promise((done) => {
      execFile(
        process.execPath,
        [cli, ...args],
        { cwd: dir, env: { PATH: process.env.PATH, CI: 'true', ...env } },
        (error, stdout, stderr) => done({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      );
    });

  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet', '--if-stale'], { cwd: root });
  }, 60_000);

  it('a damaged log: history --verify exits 1 naming the line; a huge plan file is exit 2', async () => {
    const log = join(dir, 'spawned.jsonl');
    writeFileSync(log, '{"broken\n');
    const r = await spawnCli(['history', '--verify'], { C2C_AUDIT_LOG: log, C2C_ALLOWED_SIGNERS: keys.allowedSigners });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('line 1: not valid JSON; skipped\n');
    const huge = join(dir, 'huge2.json');
    writeFileSync(huge, 'x'.repeat(1024 * 1024 + 1));
    const h = await spawnCli(['apply', '--plan', huge], { MARATHON_URL: proxy.url });
    expect(h.code).toBe(2);
    expect(h.stderr.split('\n')[0]).toMatch(/^deploy: plan file '.*huge2.json' is 1048577 bytes/);
  }, 30_000);
});
