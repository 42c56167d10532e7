import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../lib/audit/log';
import { ServiceDefinition } from '../../../lib/catalog/types';
import { renderForDeploy } from '../../../lib/deploy/apply-service';
import { diffApp } from '../../../lib/deploy/diff';
import { approvedPlanId } from '../../../lib/gate/cloudbuild';
import { ApprovalSource, approvalStatement, approvePlan, authorizeProduction, derivePlan, planStatement } from '../../../lib/gate/gate';
import { PlanFile, sealPlan } from '../../../lib/gate/plan-file';
import {
  AllowedSigners,
  findSigningKey,
  loadAllowedSigners,
  NAMESPACES,
  principalOfKey,
  signMessage,
  verifySignature,
} from '../../../lib/signing';
import { MarathonAppInfo } from '../../../lib/marathon/client';
import { caught } from '../../helpers/errors';
import { sendJson, startRecordingServer } from '../../helpers/http';
import { testKeys, TestKeys } from '../../helpers/keys';

const ANA = 'ana@example.com';
const BEN = 'ben@example.com';
const CAT = 'cat@example.com';
const MALLORY = 'mallory@example.com';
/** A fixture service: ana, ben and the leads group approve. */
const service: ServiceDefinition = {
  name: 'web',
  repo: 'acme/web',
  cpus: 0.1,
  mem: 32,
  instances: 1,
  healthCheck: { path: '/health', gracePeriodSeconds: 2, intervalSeconds: 0.2, timeoutSeconds: 0.15, maxConsecutiveFailures: 2 },
  smokeTest: './e2e.sh',
  approvers: [`user:${ANA}`, `user:${BEN}`, 'group:leads@example.com'],
};
const LIVE = '2026-11-27T10:00:00.000Z';
const now = new Date('2026-11-27T12:00:00.000Z');
/** The live app the plans are made against (only its version and raw definition matter to the gate). */
const live = (image = 'reg:5000/web:old', version = LIVE): MarathonAppInfo =>
  ({ version, raw: { ...renderForDeploy(service, 'production', { image, actor: 'x' }), version } }) as unknown as MarathonAppInfo;

let dir: string;
let keys: TestKeys;
let signers: AllowedSigners;
let audit: ReturnType<typeof AuditLog.inMemory>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-gate-'));
  keys = testKeys(dir, [ANA, BEN, MALLORY]);
  keys.add(CAT, { groups: ['group:leads@example.com'] });
  keys.add('eve@example.com', { listed: false });
  signers = await loadAllowedSigners(keys.allowedSigners);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  audit = AuditLog.inMemory();
});

/** A plan by `author`, signed with their key, for image `tag` against the live app. */
async function plan(author = ANA, overrides: Partial<PlanFile> = {}, sign = true): Promise<PlanFile> {
  const image = `reg:5000/web:${overrides.image ?? 'v2'}`;
  const app = renderForDeploy(service, 'production', { image, actor: author });
  const sealed = sealPlan({
    format: 'c2c.plan/v1',
    service: 'web',
    environment: 'production',
    image,
    app,
    liveVersion: LIVE,
    diff: diffApp(app, live().raw),
    createdBy: author,
    createdAt: '2026-11-27T11:00:00.000Z',
    ...overrides,
    ...(overrides.image ? { image } : {}),
  });
  return sign ? { ...sealed, signature: await signMessage(keys.key(author), NAMESPACES.plan, planStatement(sealed)) } : sealed;
}

const approve = (p: PlanFile, who: string, extra: { comment?: string; now?: Date; service?: ServiceDefinition } = {}) =>
  approvePlan({
    plan: p,
    service: extra.service ?? service,
    live: live(),
    audit,
    signers,
    keyPath: keys.key(who),
    now: extra.now ?? now,
    ...extra,
  });
const authorize = (
  p: PlanFile,
  extra: { now?: Date; live?: MarathonAppInfo | null; source?: ApprovalSource; service?: ServiceDefinition } = {},
) =>
  authorizeProduction({
    plan: p,
    service: extra.service ?? service,
    live: extra.live === undefined ? live() : extra.live,
    audit,
    signers,
    source: extra.source ?? { kind: 'local' },
    now: extra.now ?? now,
  });

describe('SSH signatures against the allowed signers', () => {
  it('verifies the person whose listed key signed, and the groups listed with it', async () => {
    const sig = await signMessage(keys.key(CAT), NAMESPACES.approval, 'hello\n');
    expect(await verifySignature(signers, NAMESPACES.approval, 'hello\n', sig, 'x')).toEqual({
      principal: CAT,
      fingerprint: expect.stringMatching(/^SHA256:/),
      groups: ['group:leads@example.com'],
    });
  });

  it('refuses another message, another namespace, an unlisted key and no signature, saying what is missing', async () => {
    const sig = await signMessage(keys.key(BEN), NAMESPACES.plan, 'hello\n');
    expect((await caught(verifySignature(signers, NAMESPACES.plan, 'hellO\n', sig, 'the thing'))).message).toBe(
      `the thing: the signature by ${BEN} (key ${signers.signers[1].fingerprint}) does not verify: the signed content was changed`,
    );
    expect((await caught(verifySignature(signers, NAMESPACES.approval, 'hello\n', sig, 'the thing'))).message).toMatch(
      /it was made for 'c2c-plan@commit-to-cloud', not 'c2c-approval@commit-to-cloud'/,
    );
    const eve = await signMessage(keys.key('eve@example.com'), NAMESPACES.plan, 'hello\n');
    const unlisted = await caught(verifySignature(signers, NAMESPACES.plan, 'hello\n', eve, 'the thing'));
    expect(unlisted.message).toMatch(new RegExp(`^the thing is signed with key SHA256:\\S+, which is not in ${signers.path}$`));
    expect(unlisted.hint).toContain(`>> ${signers.path}`);
    expect((await caught(verifySignature(signers, NAMESPACES.plan, 'hello\n', undefined, 'the thing'))).code).toBe('GATE_BAD_SIGNATURE');
  });

  it('an allowed-signers line with a wildcard, a non-ASCII (homoglyph) name or one key for two people is refused', async () => {
    const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIFhw0cLpFJN7c5Vqx0ppKyKvC8JHxU9ZmYPjcfO0oXS';
    for (const [text, why] of [
      [`*@example.com ${pub}`, "principals must be exact ASCII names (got '*@example.com')"],
      [`\u0430na@example.com ${pub}`, "principals must be exact ASCII names (got '\u0430na@example.com')"],
      [`group:leads@example.com ${pub}`, "a key must belong to exactly one person (got 'group:leads@example.com')"],
    ]) {
      writeFileSync(join(dir, 'bad'), `${text}\n`);
      expect((await caught(loadAllowedSigners(join(dir, 'bad')))).message).toBe(`${join(dir, 'bad')} line 1: ${why}`);
    }
    writeFileSync(join(dir, 'bad'), `${ANA} ${pub}\n${BEN} ${pub}\n`);
    expect((await caught(loadAllowedSigners(join(dir, 'bad')))).message).toBe(
      `${join(dir, 'bad')} lines 1 and 2: one key is listed for two people (${ANA}, ${BEN})`,
    );
    expect((await caught(loadAllowedSigners(join(dir, 'missing')))).code).toBe('GATE_NO_ALLOWED_SIGNERS');
  });
});

describe('which key signs', () => {
  it('--key, else DEPLOY_SIGNING_KEY, else git user.signingkey (a path or a key:: literal)', async () => {
    expect(await findSigningKey({ flag: 'k1', env: { DEPLOY_SIGNING_KEY: '/k2' }, cwd: '/w' })).toBe('/w/k1');
    expect(await findSigningKey({ env: { DEPLOY_SIGNING_KEY: '/k2' }, cwd: '/w' })).toBe('/k2');
    const repo = join(dir, 'repo');
    execFileSync('git', ['init', '-q', repo]);
    execFileSync('git', ['-C', repo, 'config', 'user.signingkey', 'keys/mine']);
    expect(await findSigningKey({ env: {}, cwd: repo })).toBe(join(repo, 'keys/mine'));
    const pub = readFileSync(`${keys.key(BEN)}.pub`, 'utf8').trim();
    execFileSync('git', ['-C', repo, 'config', 'user.signingkey', `key::${pub}`]);
    const literal = await findSigningKey({ env: {}, cwd: repo });
    expect(readFileSync(literal ?? '', 'utf8').trim()).toBe(pub);
    expect((await principalOfKey(signers, literal ?? '')).principal).toBe(BEN);
  });
});

describe('approve: what the reviewer sees and signs', () => {
  it('derives the diff from the app and the live app, signs the approval and records it with its signature', async () => {
    const p = await plan();
    const { approval, derived } = await approve(p, BEN, { comment: 'lgtm' });
    expect(derived.diff).toEqual([{ path: 'container.docker.image', kind: 'changed', from: 'reg:5000/web:old', to: 'reg:5000/web:v2' }]);
    expect(approval).toMatchObject({ planId: p.id, approver: BEN, time: now.toISOString(), expiresAt: '2026-11-28T12:00:00.000Z' });
    const [event] = await audit.list({ types: ['approval.recorded'] });
    expect(event).toMatchObject({ approver: BEN, actor: BEN, planId: p.id, signature: expect.stringContaining('BEGIN SSH SIGNATURE') });
    expect(await authorize(p)).toMatchObject({ approval: { approver: BEN, source: 'cli' } });
  });

  it('a staging plan needs no approval: USAGE (exit 2)', async () => {
    const p = await plan(ANA, { environment: 'staging' });
    expect((await caught(approve(p, BEN))).code).toBe('USAGE');
  });

  it('four-eyes on verified identities: the signer of the plan, the commit author', async () => {
    const own = await caught(approve(await plan(), ANA));
    expect(own.code).toBe('GATE_SELF_APPROVAL');
    const committed = await caught(approve(await plan(ANA, { commitAuthor: 'BEN@example.com' }), BEN));
    expect(committed.message).toMatch(/^ben@example.com wrote plan [0-9a-f]{12} and may not approve it \(four-eyes rule for web\)$/);
    // Rewriting createdBy (and re-sealing) does not change who signed it.
    const renamed = await plan(ANA);
    const relabelled = { ...sealPlan({ ...renamed, createdBy: BEN }), signature: renamed.signature };
    expect((await caught(approve(relabelled, ANA))).code).toBe('GATE_BAD_SIGNATURE');
  });

  it('fourEyes: false lets the author approve', async () => {
    const relaxed = { ...service, fourEyes: false };
    const p = await plan();
    await approve(p, ANA, { service: relaxed });
    expect(await authorize(p, { service: relaxed })).toMatchObject({ approval: { approver: ANA } });
  });

  it('a group approves only through a member listed for it', async () => {
    const p = await plan();
    expect((await approve(p, CAT)).approval.approver).toBe(CAT);
    const r = await caught(approve(p, MALLORY));
    expect(r.code).toBe('GATE_NOT_APPROVER');
    expect(r.hint).toBe(
      `a group approves through its members' keys: list '${MALLORY},group:leads@example.com' on the key's line in the allowed-signers file`,
    );
  });

  it('an unsigned plan, a key that is not listed and no key at all are refused, naming what is missing', async () => {
    expect((await caught(approve(await plan(ANA, {}, false), BEN))).message).toMatch(/^plan [0-9a-f]{12} is not signed$/);
    expect((await caught(approve(await plan(), 'eve@example.com'))).message).toMatch(
      /^the key .*eve_example.com-\d+ \(SHA256:\S+\) is not in /,
    );
    const none = await caught(approvePlan({ plan: await plan(), service, live: live(), audit, signers, keyPath: undefined, now }));
    expect(none.code).toBe('GATE_NO_SIGNING_KEY');
    expect(await audit.list()).toEqual([]);
  });
});

describe('the plan shows and applies one thing', () => {
  it('a swapped image with a recomputed id and a fresh signature: stored image field disagrees with the app', async () => {
    const honest = await plan();
    const app = {
      ...honest.app,
      container: { ...honest.app.container!, docker: { ...honest.app.container!.docker, image: 'evil.example/miner:latest' } },
    };
    const forged = sealPlan({ ...honest, app });
    expect((await caught(approve(forged, BEN))).message).toMatch(
      /says one thing and runs another: its image field says reg:5000\/web:v2, but its app runs evil.example\/miner:latest$/,
    );
  });

  it('an extra env var with the stored diff left alone: the stored diff is not what the app changes', async () => {
    const honest = await plan();
    const forged = sealPlan({ ...honest, app: { ...honest.app, env: { ...honest.app.env, MINER: '1' } } });
    expect((await caught(approve(forged, BEN))).message).toMatch(
      /its stored diff \(1 change\(s\)\) is not what its app changes against version .* \(2\)$/,
    );
  });

  it('a staging plan relabelled production, and a plan moved to another service', async () => {
    const staging = await plan(ANA, {
      environment: 'staging',
      app: renderForDeploy(service, 'staging', { image: 'reg:5000/web:v2', actor: ANA }),
    });
    const relabelled = sealPlan({ ...staging, environment: 'production' });
    expect((await caught(authorize(relabelled))).message).toMatch(/its app is \/staging\/web, but the plan is for \/production\/web$/);
    const moved = sealPlan({ ...(await plan()), service: 'other' });
    expect((await caught(authorize(moved))).code).toBe('GATE_WRONG_SERVICE');
  });

  it('a stale plan: the live app changed since planning', async () => {
    const p = await plan();
    await approve(p, BEN);
    const r = await caught(authorize(p, { live: live('reg:5000/web:old', '2026-11-27T11:45:00.000Z') }));
    expect(r.message).toBe(
      `plan ${p.id.slice(0, 12)} was made against version ${LIVE}, but /production/web now runs version 2026-11-27T11:45:00.000Z`,
    );
  });

  it('derivePlan returns the image and digest that run', async () => {
    expect(derivePlan(await plan(), live())).toMatchObject({ image: 'reg:5000/web:v2', digest: null, liveVersion: LIVE });
  });
});

describe('the gate counts only approvals whose signature verifies', () => {
  /** An approval record as someone with write access to the log could append it. */
  const forge = (p: PlanFile, fields: Record<string, unknown> = {}) =>
    audit.record({
      type: 'approval.recorded',
      service: 'web',
      environment: 'production',
      actor: BEN,
      approver: BEN,
      approvalSource: 'cli',
      planId: p.id,
      time: now.toISOString(),
      expiresAt: '2026-11-28T12:00:00.000Z',
      ...fields,
    });

  it('no approval, and an approval of another plan', async () => {
    const p = await plan();
    expect((await caught(authorize(p))).message).toBe(`plan ${p.id.slice(0, 12)} for web in production has no approval`);
    const other = await plan(ANA, { image: 'v3' });
    await approve(other, BEN);
    expect((await caught(authorize(p))).code).toBe('GATE_APPROVAL_MISMATCH');
  });

  it('a forged unsigned line, a line signed by a key not listed, a signature by someone else', async () => {
    const p = await plan();
    await forge(p);
    expect((await caught(authorize(p))).message).toBe(`the approval of plan ${p.id.slice(0, 12)} recorded for ${BEN} is not signed`);
    const fields = {
      planId: p.id,
      service: 'web',
      environment: 'production',
      approver: BEN,
      time: now.toISOString(),
      expiresAt: '2026-11-28T12:00:00.000Z',
    };
    await forge(p, { signature: await signMessage(keys.key(MALLORY), NAMESPACES.approval, approvalStatement(fields)) });
    expect((await caught(authorize(p))).message).toBe(
      `the approval of plan ${p.id.slice(0, 12)} names ${BEN}, but it is signed by ${MALLORY}`,
    );
  });

  it('an approval replayed onto another service or environment does not verify', async () => {
    const p = await plan();
    await approve(p, BEN);
    const [real] = await audit.list({ types: ['approval.recorded'] });
    audit = AuditLog.inMemory();
    await forge(p, {
      service: 'web',
      environment: 'production',
      signature: real.signature,
      time: real.time,
      expiresAt: '2026-11-29T12:00:00.000Z',
    });
    expect((await caught(authorize(p))).message).toMatch(/does not verify: the signed content was changed$/);
  });

  it('a future-dated approval is refused, even when its signature is good', async () => {
    const p = await plan();
    await approve(p, BEN, { now: new Date('2099-01-01T00:00:00.000Z') });
    const r = await caught(authorize(p));
    expect(r.code).toBe('GATE_APPROVAL_FUTURE');
    expect(r.message).toBe(`the approval of plan ${p.id.slice(0, 12)} by ${BEN} is dated 2099-01-01T00:00:00.000Z, in the future`);
  });

  it('an expired approval (24 h by default)', async () => {
    const p = await plan();
    await approve(p, BEN, { now: new Date('2026-11-26T11:00:00.000Z') });
    expect(await caught(authorize(p))).toMatchObject({
      code: 'GATE_APPROVAL_EXPIRED',
      message: `the approval of plan ${p.id.slice(0, 12)} by ${BEN} expired at 2026-11-27T11:00:00.000Z`,
    });
  });
});

describe('the production gate (Cloud Build approval)', () => {
  function build(p: PlanFile, overrides: Record<string, unknown> = {}) {
    return {
      id: 'b-123',
      status: 'WORKING',
      substitutions: { _PLAN_ID: p.id, _SERVICE: 'web' },
      approval: {
        state: 'APPROVED',
        config: { approvalRequired: true },
        result: { approverAccount: BEN, approvalTime: '2026-11-27T11:50:00.123456Z', decision: 'APPROVED', comment: 'ship it' },
      },
      ...overrides,
    };
  }
  const cloudbuild = (url: string): ApprovalSource => ({
    kind: 'cloudbuild',
    build: { project: 'acme', buildId: 'b-123', location: 'global' },
    auth: { accessToken: 'tok-secret' },
    baseUrl: url,
  });

  it('reads the approver, time and comment of its own build and keeps them in the audit log', async () => {
    const p = await plan(ANA, { commitAuthor: ANA }, false);
    const srv = await startRecordingServer((_req, res) => sendJson(res, 200, build(p)));
    try {
      const { approval } = await authorize(p, { source: cloudbuild(srv.url) });
      expect(approval).toEqual({
        planId: p.id,
        approver: BEN,
        time: '2026-11-27T11:50:00.123456Z',
        expiresAt: '2026-11-28T11:50:00.123Z',
        source: 'cloudbuild',
        buildId: 'b-123',
        comment: 'ship it',
      });
      expect(srv.received.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
        ['GET', '/v1/projects/acme/locations/global/builds/b-123', 'Bearer tok-secret'],
      ]);
      expect(await audit.list({ types: ['approval.recorded'] })).toEqual([
        expect.objectContaining({ approver: BEN, approvalSource: 'cloudbuild', planId: p.id, reason: 'Cloud Build build b-123' }),
      ]);
    } finally {
      await srv.close();
    }
  });

  it('refuses a pending or rejected build, one approved for another plan, and the commit author approving', async () => {
    const cases: [Record<string, unknown>, string, Partial<PlanFile>][] = [
      [{ approval: { state: 'PENDING' } }, 'GATE_NO_APPROVAL', { commitAuthor: ANA }],
      [
        { approval: { state: 'REJECTED', result: { approverAccount: BEN, approvalTime: '2026-11-27T11:50:00Z', decision: 'REJECTED' } } },
        'GATE_NO_APPROVAL',
        { commitAuthor: ANA },
      ],
      [{ substitutions: { _PLAN_ID: 'f'.repeat(64) } }, 'GATE_APPROVAL_MISMATCH', { commitAuthor: ANA }],
      [{}, 'GATE_SELF_APPROVAL', { commitAuthor: BEN }],
      [
        { approval: { state: 'APPROVED', result: { approverAccount: BEN, approvalTime: '2099-01-01T00:00:00Z', decision: 'APPROVED' } } },
        'GATE_APPROVAL_FUTURE',
        { commitAuthor: ANA },
      ],
    ];
    for (const [overrides, code, planFields] of cases) {
      const p = await plan(ANA, planFields, false);
      const srv = await startRecordingServer((_req, res) => sendJson(res, 200, build(p, overrides)));
      try {
        expect((await caught(authorize(p, { source: cloudbuild(srv.url) }))).code).toBe(code);
      } finally {
        await srv.close();
      }
    }
  });
});

describe('issue 20: the Cloud Build path decides on verified identities only', () => {
  const cloudbuild = (url: string): ApprovalSource => ({
    kind: 'cloudbuild',
    build: { project: 'acme', buildId: 'b-9', location: 'global' },
    auth: { accessToken: 'tok' },
    baseUrl: url,
  });
  const approvedBy = (p: PlanFile, account: string) => ({
    id: 'b-9',
    status: 'WORKING',
    substitutions: { _PLAN_ID: p.id },
    approval: { state: 'APPROVED', result: { approverAccount: account, approvalTime: '2026-11-27T11:50:00Z', decision: 'APPROVED' } },
  });
  async function decide(p: PlanFile, account: string, svc = service): Promise<string> {
    const srv = await startRecordingServer((_req, res) => sendJson(res, 200, approvedBy(p, account)));
    try {
      return await authorize(p, { source: cloudbuild(srv.url), service: svc }).then(
        ({ approval }) => `approved by ${approval.approver}`,
        (e: { code: string; message: string }) => `${e.code}: ${e.message}`,
      );
    } finally {
      await srv.close();
    }
  }

  it('item 9: an unsigned plan with no verified commit author cannot be approved by anyone (four-eyes)', async () => {
    const p = await plan('unknown-author', {}, false);
    expect(await decide(p, BEN)).toMatch(/^GATE_AUTHOR_UNVERIFIED: plan [0-9a-f]{12} has no verified author \(it is unsigned/);
    expect(await audit.list({ types: ['approval.recorded'] })).toEqual([]);
    // With four-eyes off, there is nobody to keep out.
    expect(await decide(p, BEN, { ...service, fourEyes: false })).toBe(`approved by ${BEN}`);
  });

  it('item 10: a group approves in Cloud Build only through members the allowed-signers file lists for it', async () => {
    const led: ServiceDefinition = { ...service, approvers: ['group:leads@example.com'] };
    const p = await plan(ANA, { commitAuthor: ANA }, false);
    expect(await decide(p, CAT, led)).toBe(`approved by ${CAT}`);
    // Mallory holds the approver role in IAM (Cloud Build let her click), but she is not listed in the group.
    expect(await decide(p, MALLORY, led)).toMatch(/^GATE_NOT_APPROVER: mallory@example.com is not an approver of web /);
    expect(await decide(p, 'stranger@example.com', led)).toMatch(/^GATE_NOT_APPROVER: /);
  });
});

describe('which plan a Cloud Build build was approved for', () => {
  it('reads _PLAN_ID, else the plan id in the _PLAN_OBJECT file name', () => {
    const id = 'a'.repeat(64);
    expect(approvedPlanId({ substitutions: { _PLAN_ID: id } })).toBe(id);
    expect(approvedPlanId({ substitutions: { _PLAN_OBJECT: `plans/web/${id}.json` } })).toBe(id);
    expect(approvedPlanId({ substitutions: { _PLAN_OBJECT: 'plans/web/abc-123.json' } })).toBeUndefined();
    expect(approvedPlanId({})).toBeUndefined();
  });
});
