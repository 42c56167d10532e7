import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../lib/audit/log';
import { ServiceDefinition } from '../../../lib/catalog/types';
import { C2CError } from '../../../lib/errors';
import { approvedPlanId } from '../../../lib/gate/cloudbuild';
import { approvePlan, authorizeProduction } from '../../../lib/gate/gate';
import { PlanFile, sealPlan } from '../../../lib/gate/plan';
import { renderMarathonApp } from '../../../lib/marathon/render';
import { loadCatalog } from '../../../services';
import { sendJson, startRecordingServer } from '../../helpers/http';

const service = loadCatalog().get('bulb-api'); // approvers: user:ana@…, user:ben@…
const ANA = 'ana@acme-lighting.example';
const BEN = 'ben@acme-lighting.example';
const LIVE = '2026-11-27T10:00:00.000Z';

function plan(overrides: Partial<PlanFile> = {}): PlanFile {
  const image = overrides.image ?? 'registry:5000/bulb-api:abc1234';
  return sealPlan({
    format: 'c2c.plan/v1',
    service: 'bulb-api',
    environment: 'production',
    image,
    app: renderMarathonApp(service, 'production', { image }),
    liveVersion: LIVE,
    diff: [],
    createdBy: ANA,
    createdAt: '2026-11-27T11:00:00.000Z',
    ...overrides,
  });
}

let dir: string;
let audit: AuditLog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-gate-'));
  audit = AuditLog.open(join(dir, 'audit.jsonl'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: (err as C2CError).code, message: (err as Error).message };
  }
  return { code: 'no error', message: '' };
}

const now = new Date('2026-11-27T12:00:00.000Z');
const authorize = (p: PlanFile, extra: Partial<Parameters<typeof authorizeProduction>[0]> = {}) =>
  authorizeProduction({ plan: p, service, liveVersion: LIVE, audit, approvalSource: 'local', now, ...extra });

describe('the production gate (local approvals)', () => {
  it('passes with an approval of this exact plan by another approver', async () => {
    const p = plan();
    await approvePlan({ plan: p, service, audit, actor: BEN, comment: 'lgtm', now: new Date('2026-11-27T11:30:00.000Z') });
    const approval = await authorize(p);
    expect(approval).toEqual({ planId: p.id, approver: BEN, time: '2026-11-27T11:30:00.000Z', source: 'cli', comment: 'lgtm' });
    const [event] = await audit.list({ types: ['approval.recorded'] });
    expect(event).toMatchObject({ planId: p.id, approver: BEN, actor: BEN, expiresAt: '2026-11-28T11:30:00.000Z', comment: 'lgtm' });
  });

  it('refuses without any approval', async () => {
    expect(await refusal(authorize(plan()))).toEqual({
      code: 'GATE_NO_APPROVAL',
      message: `plan ${plan().id.slice(0, 12)} for bulb-api in production has no approval`,
    });
  });

  it('refuses a replayed approval of another plan', async () => {
    const approved = plan();
    await approvePlan({ plan: approved, service, audit, actor: BEN, now });
    const other = plan({ image: 'registry:5000/bulb-api:evil999' });
    const r = await refusal(authorize(other));
    expect(r.code).toBe('GATE_APPROVAL_MISMATCH');
    expect(r.message).toContain(`no approval for plan ${other.id.slice(0, 12)}`);
    expect(r.message).toContain(`is for plan ${approved.id.slice(0, 12)}`);
  });

  it('refuses a stale plan when the live app changed since planning', async () => {
    const p = plan();
    await approvePlan({ plan: p, service, audit, actor: BEN, now });
    const r = await refusal(authorize(p, { liveVersion: '2026-11-27T11:45:00.000Z' }));
    expect(r.code).toBe('GATE_STALE_PLAN');
    expect(r.message).toBe(
      `plan ${p.id.slice(0, 12)} was made against version ${LIVE}, but /production/bulb-api now runs version 2026-11-27T11:45:00.000Z`,
    );
  });

  it('refuses an expired approval (24 h by default)', async () => {
    const p = plan();
    await approvePlan({ plan: p, service, audit, actor: BEN, now: new Date('2026-11-26T11:00:00.000Z') });
    const r = await refusal(authorize(p));
    expect(r).toEqual({
      code: 'GATE_APPROVAL_EXPIRED',
      message: `the approval of plan ${p.id.slice(0, 12)} by ${BEN} expired at 2026-11-27T11:00:00.000Z`,
    });
  });

  it('four-eyes: the author cannot approve their own plan', async () => {
    const r = await refusal(approvePlan({ plan: plan(), service, audit, actor: ANA, now }));
    expect(r.code).toBe('GATE_SELF_APPROVAL');
    expect(r.message).toBe(`${ANA} created plan ${plan().id.slice(0, 12)} and may not approve it (four-eyes rule for bulb-api)`);
    expect(await audit.list()).toEqual([]);
  });

  it('four-eyes also holds at apply time for an approval written by hand into the log', async () => {
    const p = plan();
    await audit.record({
      type: 'approval.recorded',
      service: 'bulb-api',
      environment: 'production',
      actor: ANA,
      approver: ANA,
      planId: p.id,
      time: now.toISOString(),
    });
    expect((await refusal(authorize(p))).code).toBe('GATE_SELF_APPROVAL');
  });

  it('fourEyes: false lets the author approve', async () => {
    const relaxed: ServiceDefinition = { ...service, fourEyes: false };
    const p = plan();
    await approvePlan({ plan: p, service: relaxed, audit, actor: ANA, now });
    await expect(
      authorizeProduction({ plan: p, service: relaxed, liveVersion: LIVE, audit, approvalSource: 'local', now }),
    ).resolves.toMatchObject({ approver: ANA });
  });

  it('someone who is not an approver cannot approve', async () => {
    const r = await refusal(approvePlan({ plan: plan(), service, audit, actor: 'mallory@example.com', now }));
    expect(r.code).toBe('GATE_NOT_APPROVER');
    expect(r.message).toBe(
      'mallory@example.com is not an approver of bulb-api (approvers: user:ana@acme-lighting.example, user:ben@acme-lighting.example)',
    );
  });

  it('a plan for another service or another app id is refused', async () => {
    const p = plan();
    const billing = loadCatalog().get('billing');
    expect(
      (await refusal(authorizeProduction({ plan: p, service: billing, liveVersion: LIVE, audit, approvalSource: 'local', now }))).code,
    ).toBe('GATE_WRONG_SERVICE');
    const moved = plan({ app: { ...p.app, id: '/staging/bulb-api' } });
    expect((await refusal(authorize(moved))).code).toBe('GATE_WRONG_APP');
  });
});

describe('the production gate (Cloud Build approval)', () => {
  // Shapes of Cloud Build's v1 Build resource: approval.state, approval.result{approverAccount, approvalTime, decision, comment}.
  function build(p: PlanFile, overrides: Record<string, unknown> = {}) {
    return {
      id: 'b-123',
      status: 'WORKING',
      substitutions: { _PLAN_ID: p.id, _SERVICE: 'bulb-api' },
      approval: {
        state: 'APPROVED',
        config: { approvalRequired: true },
        result: { approverAccount: BEN, approvalTime: '2026-11-27T11:50:00.123456Z', decision: 'APPROVED', comment: 'ship it' },
      },
      ...overrides,
    };
  }
  const env = (url: string) => ({
    PROJECT_ID: 'acme',
    BUILD_ID: 'b-123',
    C2C_CLOUDBUILD_BASE_URL: url,
    GOOGLE_OAUTH_ACCESS_TOKEN: 'tok-secret',
  });

  it('reads the approver, time and comment of its own build', async () => {
    const p = plan();
    const srv = await startRecordingServer((_req, res) => sendJson(res, 200, build(p)));
    try {
      const approval = await authorize(p, { approvalSource: 'cloudbuild', env: env(srv.url) });
      expect(approval).toEqual({
        planId: p.id,
        approver: BEN,
        time: '2026-11-27T11:50:00.123456Z',
        source: 'cloudbuild',
        buildId: 'b-123',
        comment: 'ship it',
      });
      expect(srv.received).toHaveLength(1);
      expect(srv.received[0].method).toBe('GET');
      expect(srv.received[0].url).toBe('/v1/projects/acme/locations/global/builds/b-123');
      expect(srv.received[0].headers.authorization).toBe('Bearer tok-secret');
      // The click is also kept in the audit log: who, when, the comment, which build.
      expect(await audit.list({ types: ['approval.recorded'] })).toEqual([
        expect.objectContaining({
          approver: BEN,
          actor: BEN,
          approvalSource: 'cloudbuild',
          planId: p.id,
          time: '2026-11-27T11:50:00.123Z',
          comment: 'ship it',
          reason: 'Cloud Build build b-123',
          expiresAt: '2026-11-28T11:50:00.123Z',
        }),
      ]);
    } finally {
      await srv.close();
    }
  });

  it('refuses a build that is pending, rejected, or approved for another plan, and the author approving', async () => {
    const p = plan();
    const cases: [Record<string, unknown>, string][] = [
      [{ approval: { state: 'PENDING', config: { approvalRequired: true } } }, 'GATE_NO_APPROVAL'],
      [
        { approval: { state: 'REJECTED', result: { approverAccount: BEN, approvalTime: '2026-11-27T11:50:00Z', decision: 'REJECTED' } } },
        'GATE_NO_APPROVAL',
      ],
      [{ substitutions: { _PLAN_ID: 'f'.repeat(64) } }, 'GATE_APPROVAL_MISMATCH'],
      [
        { approval: { state: 'APPROVED', result: { approverAccount: ANA, approvalTime: '2026-11-27T11:50:00Z', decision: 'APPROVED' } } },
        'GATE_SELF_APPROVAL',
      ],
    ];
    for (const [overrides, code] of cases) {
      const srv = await startRecordingServer((_req, res) => sendJson(res, 200, build(p, overrides)));
      try {
        expect((await refusal(authorize(p, { approvalSource: 'cloudbuild', env: env(srv.url) }))).code).toBe(code);
      } finally {
        await srv.close();
      }
    }
  });

  it('without BUILD_ID it says how to run it', async () => {
    const r = await refusal(authorize(plan(), { approvalSource: 'cloudbuild', env: {} }));
    expect(r.code).toBe('GATE_NO_BUILD_CONTEXT');
  });
});

describe('which plan a Cloud Build build was approved for', () => {
  it('reads _PLAN_ID, else the plan id in the _PLAN_OBJECT file name', () => {
    const id = 'a'.repeat(64);
    expect(approvedPlanId({ substitutions: { _PLAN_ID: id } })).toBe(id);
    expect(approvedPlanId({ substitutions: { _PLAN_OBJECT: `plans/bulb-api/${id}.json` } })).toBe(id);
    expect(approvedPlanId({ substitutions: { _PLAN_OBJECT: 'plans/bulb-api/abc-123.json' } })).toBeUndefined();
    expect(approvedPlanId({})).toBeUndefined();
  });
});
