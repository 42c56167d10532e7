// The gate as one library call (applyPlan) and production rollback, against a real local Marathon behind a recording
// proxy, with an in-memory audit log and SSH keys made here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../lib/audit/log';
import { applyService } from '../../../lib/deploy/apply-service';
import { planService } from '../../../lib/gate/plan-service';
import { rollbackService } from '../../../lib/deploy/rollback';
import { authorizationsOf, breakGlassStatement, gatedRollback } from '../../../lib/gate/rollback-rules';
import { DeployContext } from '../../../lib/deploy/types';
import { applyPlan } from '../../../lib/gate/apply-plan';
import { approvePlan } from '../../../lib/gate/gate';
import { PlanFile } from '../../../lib/gate/plan-file';
import { AllowedSigners, loadAllowedSigners, NAMESPACES, principalOfKey, signMessage } from '../../../lib/signing';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { C2CError } from '../../../lib/errors';
import { caught } from '../../helpers/errors';
import { testKeys, TestKeys } from '../../helpers/keys';
import { recordingProxy } from '../../helpers/proxy';
import { deployContext, makeImageStore, rawApp, startMarathon, testService } from '../deploy/helpers';

const ANA = 'ana@example.com';
const BEN = 'ben@example.com';
const service = testService('gated', { approvers: [`user:${ANA}`, `user:${BEN}`] });

let dir: string;
let keys: TestKeys;
let signers: AllowedSigners;
let store: ReturnType<typeof makeImageStore>;
let lm: LocalMarathon;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let audit: ReturnType<typeof AuditLog.inMemory>;
/** Requests that change Marathon since `from`. */
const changing = (from: number) => proxy.seen.slice(from).filter((s) => !s.startsWith('GET '));
const ctx = (): DeployContext & { audit: AuditLog } => ({ ...deployContext(proxy.url), audit });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-gate-apply-'));
  keys = testKeys(dir, [ANA, BEN]);
  signers = await loadAllowedSigners(keys.allowedSigners);
  store = makeImageStore(['gated']);
  lm = await startMarathon(store.dir);
  proxy = await recordingProxy(lm.url);
  audit = AuditLog.inMemory();
  // The records are signed by whoever writes them (as the CLI does with a listed key): outcomes count only then.
  const writer = await principalOfKey(signers, keys.key(BEN));
  audit.signWith({ ...writer, sign: (m) => signMessage(keys.key(BEN), NAMESPACES.audit, m) });
}, 30_000);
afterAll(async () => {
  await proxy.close();
  await lm.close();
  store.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** Plan (signed by ana), approve (ben), nothing applied yet. */
async function approvedPlan(tag: string): Promise<PlanFile> {
  const { plan, live } = await planService(ctx(), {
    service,
    environment: 'production',
    image: `reg:5000/gated:${tag}`,
    signing: { keyPath: keys.key(ANA), signers },
  });
  await approvePlan({ plan, service, live, audit, signers, keyPath: keys.key(BEN) });
  return plan;
}

describe('applyPlan: the one way into production', () => {
  it('submits exactly the approved app plus the plan-id, approved-by and audit-head labels', async () => {
    const plan = await approvedPlan('1');
    const before = proxy.seen.length;
    const result = await applyPlan(ctx(), { plan, service, signers });
    expect(changing(before)).toEqual(['PUT /v2/apps/production/gated?partialUpdate=false']);
    const put = proxy.seen.findIndex((x, i) => i >= before && x.startsWith('PUT '));
    expect(JSON.parse(proxy.bodies.get(put) ?? '')).toEqual({
      ...plan.app,
      labels: {
        ...plan.app.labels,
        'c2c.plan-id': plan.id,
        'c2c.approved-by': BEN,
        'c2c.audit-head': expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    expect(result.image).toBe('reg:5000/gated:1');
  }, 30_000);

  it('issue 20 item 4: the intent is recorded before anything is sent; when it cannot be written, nothing is sent', async () => {
    const plan = await approvedPlan('2');
    // A log that reads (the approval is there) but cannot be written: a full disk, a lock never released.
    const readOnly = AuditLog.withSink({
      location: 'read-only',
      append: async () => {
        throw new C2CError('AUDIT_WRITE', 'audit log is locked by another writer (read-only.lock)');
      },
      readAll: async () => [...audit.lines],
    });
    const before = proxy.seen.length;
    const err = await caught(applyPlan({ ...ctx(), audit: readOnly }, { plan, service, signers }));
    expect([err.code, err.message]).toEqual(['AUDIT_WRITE', 'audit log is locked by another writer (read-only.lock)']);
    expect(changing(before)).toEqual([]);
  }, 30_000);

  it('a second caller cannot go around it: applyService refuses production without the gate, sending nothing', async () => {
    const before = proxy.seen.length;
    const err = await caught(applyService(deployContext(proxy.url), { service, environment: 'production', image: 'reg:5000/gated:evil' }));
    expect(err.code).toBe('PRODUCTION_NEEDS_PLAN');
    const hook = async () => ({ labels: {} });
    const forged = await caught(
      applyService(deployContext(proxy.url), { service, environment: 'production', image: 'x:1', beforeSubmit: hook }),
    );
    expect(forged.code).toBe('PRODUCTION_NEEDS_PLAN');
    expect(proxy.seen.slice(before)).toEqual([]);
  });

  it("nor around the rollback rules: rollbackService refuses production without the gate's sealed rule, sending nothing", async () => {
    const before = proxy.seen.length;
    const bare = await caught(rollbackService(deployContext(proxy.url), { service, environment: 'production' }));
    expect(bare.code).toBe('PRODUCTION_NEEDS_GATE');
    const rule = { reject: () => undefined, override: true, refusal: () => new C2CError('USAGE', 'x'), wanted: 'x', hint: 'x' };
    const forged = await caught(rollbackService(deployContext(proxy.url), { service, environment: 'production', rule }));
    expect(forged.code).toBe('PRODUCTION_NEEDS_GATE');
    expect(proxy.seen.slice(before)).toEqual([]);
  });

  it('records every refusal with who, when, code and reason; --force is refused in production', async () => {
    const { plan } = await planService(ctx(), {
      service,
      environment: 'production',
      image: 'reg:5000/gated:2',
      signing: { keyPath: keys.key(ANA), signers },
    });
    const before = proxy.seen.length;
    const err = await caught(applyPlan({ ...ctx(), actor: 'runner@example.com' }, { plan, service, signers }));
    expect(err.code).toBe('GATE_APPROVAL_MISMATCH');
    expect((await caught(applyPlan(ctx(), { plan, service, signers, force: true }))).code).toBe('GATE_NO_FORCE_IN_PRODUCTION');
    expect(changing(before)).toEqual([]);
    const refused = await audit.list({ types: ['gate.refused'] });
    expect(refused.slice(-2)).toEqual([
      expect.objectContaining({
        actor: 'runner@example.com',
        planId: plan.id,
        code: 'GATE_APPROVAL_MISMATCH',
        reason: err.message,
        time: expect.any(String),
      }),
      expect.objectContaining({ code: 'GATE_NO_FORCE_IN_PRODUCTION' }),
    ]);
  });
});

describe('production rollback: only to known-good versions', () => {
  let good: string;
  let current: string;
  let failed: string;

  beforeAll(async () => {
    good = (await applyPlan(ctx(), { plan: await approvedPlan('3'), service, signers })).version as string;
    const bad = await caught(applyPlan(ctx(), { plan: await approvedPlan('broken'), service, signers }));
    expect(bad.code).toBe('DEPLOY_FAILED_ROLLED_BACK');
    failed = (bad.details as { failedVersion: string }).failedVersion;
    current = (await applyPlan(ctx(), { plan: await approvedPlan('4'), service, signers })).version as string;
  }, 60_000);

  const history = async () => audit.list({ service: 'gated', environment: 'production' });

  it('never restores a version that failed, nor one never seen healthy, nor with an empty log; nothing is sent', async () => {
    const before = proxy.seen.length;
    const authorizations = authorizationsOf(await audit.read());
    const toFailed = await caught(
      gatedRollback(ctx(), { signers, service, environment: 'production', to: failed, history: await history(), authorizations }),
    );
    expect(toFailed.code).toBe('GATE_ROLLBACK_NOT_KNOWN_GOOD');
    expect(toFailed.message).toBe(`refusing to restore /production/gated to ${failed}: version ${failed} failed in production`);
    expect(toFailed.hint).toContain('--break-glass --reason TEXT');
    // An empty log where the live version names its authorization: damaged, not "nothing known".
    const empty = await caught(gatedRollback(ctx(), { signers, service, environment: 'production', history: [] }));
    expect(empty.code).toBe('GATE_AUDIT_LOG_DAMAGED');
    // A log that holds the live version's authorization but no earlier healthy version: nothing to go back to.
    const none = await caught(
      gatedRollback(ctx(), {
        signers,
        service,
        environment: 'production',
        history: (await history()).filter((e) => e.type !== 'apply.succeeded'),
        authorizations,
      }),
    );
    expect(none.message).toBe(
      '/production/gated has no earlier known-good version (healthy here, from an approved plan, never failed) to roll back to',
    );
    const forced = await caught(
      gatedRollback(ctx(), { signers, service, environment: 'production', force: true, history: await history(), authorizations }),
    );
    expect(forced.code).toBe('GATE_FORCE_NEEDS_BREAK_GLASS');
    expect(changing(before)).toEqual([]);
    expect(current).not.toBe(good);
  });

  it('item 5: only outcome records whose writer signature verifies make a version known good', async () => {
    const before = proxy.seen.length;
    const authorizations = authorizationsOf(await audit.read());
    const events = await history();
    const success = events.find((e) => e.type === 'apply.succeeded' && e.appVersion === good);
    expect(success?.writer).toBe(BEN);
    const attempt = (edit: (e: (typeof events)[number]) => (typeof events)[number], withSigners = true) =>
      caught(
        gatedRollback(ctx(), {
          ...(withSigners ? { signers } : {}),
          service,
          environment: 'production',
          to: good,
          history: events.map((e) => (e === success ? edit(e) : e)),
          authorizations,
        }),
      );
    // Written without a key: unsigned.
    const unsigned = await attempt(({ writer: _w, writerKey: _k, writerSignature: _s, ...rest }) => rest);
    expect([unsigned.code, unsigned.message]).toEqual([
      'GATE_ROLLBACK_NOT_KNOWN_GOOD',
      `refusing to restore /production/gated to ${good}: version ${good} is not known good: the only record of it running healthy does not verify (apply.succeeded is unsigned (written without a key listed in the allowed signers))`,
    ]);
    // The failed version's rollback record rewritten as a success: its writer signature no longer verifies.
    const edited = await attempt((e) => ({ ...e, planId: 'f'.repeat(64) }));
    expect(edited.message).toMatch(
      /is not known good: .*apply\.succeeded written by ben@example\.com: .*this record was changed after it was written\)$/,
    );
    // Without the allowed signers nothing verifies.
    const blind = await attempt((e) => e, false);
    expect(blind.message).toMatch(/no allowed-signers file\)$/);
    expect(changing(before)).toEqual([]);
  });

  it('a plain rollback goes to the last known-good version, skipping the failed one, without an approval', async () => {
    // Item 5: a forged log (an unsigned approval marked as from Cloud Build and a success for the failed version) makes
    // nothing known good: no authorization in it is named by a version's c2c.audit-head, nor by the live one's.
    const forged = AuditLog.inMemory();
    const planOfFailed = ((await rawApp(lm.url, '/production/gated')) as { labels: Record<string, string> }).labels['c2c.plan-id'];
    await forged.record({
      type: 'approval.recorded',
      service: 'gated',
      environment: 'production',
      actor: BEN,
      approvalSource: 'cloudbuild',
      planId: planOfFailed,
    });
    await forged.record({
      type: 'apply.succeeded',
      service: 'gated',
      environment: 'production',
      actor: BEN,
      appVersion: failed,
      planId: planOfFailed,
    });
    const before = proxy.seen.length;
    const fake = await caught(
      gatedRollback(ctx(), {
        signers,
        service,
        environment: 'production',
        to: failed,
        history: (await forged.read()).events,
        authorizations: authorizationsOf(await forged.read()),
      }),
    );
    expect([fake.code, fake.message]).toEqual([
      'GATE_AUDIT_LOG_DAMAGED',
      expect.stringMatching(
        /^the audit log does not hold the authorization [0-9a-f]{12} that \/production\/gated version \S+ was applied under: /,
      ),
    ]);
    expect(changing(before)).toEqual([]);
    const result = await gatedRollback(ctx(), {
      signers,
      service,
      environment: 'production',
      history: await history(),
      authorizations: authorizationsOf(await audit.read()),
    });
    expect(result).toMatchObject({ restored: good, image: 'reg:5000/gated:3' });
    expect((await rawApp(lm.url, '/production/gated'))?.labels).toMatchObject({ 'c2c.image': 'reg:5000/gated:3' });
    expect((await history()).filter((e) => e.type === 'rollback.succeeded').pop()).toMatchObject({ emergency: true });
  }, 30_000);

  it('break-glass: signed, with a reason, restores what the rules refuse and is recorded loudly', async () => {
    const time = new Date().toISOString();
    const fields = { service: 'gated', environment: 'production', to: failed, force: false, reason: 'need the old schema', time };
    const signature = await signMessage(keys.key(BEN), NAMESPACES.breakGlass, breakGlassStatement(fields));
    const stale = await caught(
      gatedRollback(ctx(), {
        signers,
        service,
        environment: 'production',
        to: failed,
        history: await history(),
        breakGlass: { reason: 'need the old schema', time, signature, signers },
        now: new Date(Date.now() + 11 * 60_000),
      }),
    );
    expect(stale.code).toBe('GATE_BREAK_GLASS_EXPIRED');
    const other = await caught(
      gatedRollback(ctx(), {
        signers,
        service,
        environment: 'production',
        to: good,
        history: await history(),
        breakGlass: { reason: 'need the old schema', time, signature, signers },
      }),
    );
    expect(other.code).toBe('GATE_BAD_SIGNATURE');
    // --force is break-glass only; signed for exactly this target and force, it goes through and is recorded loudly.
    const forceFields = { service: 'gated', environment: 'production', to: good, force: true, reason: 'stuck deployment', time };
    const forceSig = await signMessage(keys.key(BEN), NAMESPACES.breakGlass, breakGlassStatement(forceFields));
    const result = await gatedRollback(ctx(), {
      signers,
      service,
      environment: 'production',
      to: good,
      force: true,
      history: await history(),
      breakGlass: { reason: 'stuck deployment', time, signature: forceSig, signers },
    });
    expect(result.restored).toBe(good);
    const started = (await history()).filter((e) => e.type === 'rollback.started').pop();
    expect(started).toMatchObject({
      actor: BEN,
      breakGlass: true,
      reason: 'BREAK-GLASS: stuck deployment',
      appVersion: good,
      signature: forceSig,
      signedStatement: breakGlassStatement(forceFields),
    });
    // A break-glass rollback does not make its target known-good.
    expect((await history()).filter((e) => e.type === 'rollback.succeeded').pop()).toMatchObject({ breakGlass: true });
  }, 60_000);
});
