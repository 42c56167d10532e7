// The gate's check before a production `deploy promote` (authorizePromote): the promoter proves their key and is an
// approver of the service; the newer colour is the rollout an approved plan started, by the audit log's records and
// Marathon's own state (its stamps, image and lastConfigChangeAt), never a file a user edits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../../lib/audit/log';
import { authorizePromote } from '../../../lib/gate/gate';
import { MarathonAppInfo } from '../../../lib/marathon/client';
import { AllowedSigners, loadAllowedSigners } from '../../../lib/signing';
import { testService } from '../deploy/helpers';
import { caught } from '../../helpers/errors';
import { testKeys, TestKeys } from '../../helpers/keys';

const APPROVER = 'ana@example.com';
const service = testService('shop', { approvers: [`user:${APPROVER}`] });
const PLAN = 'a'.repeat(64);
const IMAGE = 'reg:5000/shop:v2';
const CREATED = '2026-12-07T10:00:00.000Z';

let dir: string;
let keys: TestKeys;
let signers: AllowedSigners;
let audit: AuditLog;
let head: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-promote-'));
  keys = testKeys(dir, ['dev@example.com', APPROVER]);
  signers = await loadAllowedSigners(keys.allowedSigners);
  audit = AuditLog.open(join(dir, 'audit.jsonl'));
  const base = { service: 'shop', environment: 'production' as const, actor: 'ci@example.com', planId: PLAN, image: IMAGE };
  ({ hash: head } = await audit.append({ type: 'apply.authorized', ...base, approver: APPROVER }));
  await audit.record({ type: 'rollout.started', ...base, appVersion: CREATED });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function green(extra: Partial<MarathonAppInfo> = {}, labels: Record<string, string> = {}): MarathonAppInfo {
  return {
    id: '/production/shop-green',
    instances: 1,
    version: '2026-12-07T10:05:00.000Z',
    lastConfigChangeAt: CREATED,
    labels: { 'c2c.plan-id': PLAN, 'c2c.audit-head': head, 'c2c.image': IMAGE, ...labels },
    image: IMAGE,
    hasHealthChecks: true,
    tasksStaged: 0,
    tasksRunning: 1,
    tasksHealthy: 1,
    tasksUnhealthy: 0,
    deployments: [],
    tasks: [],
    raw: {},
    ...extra,
  };
}

const promote = (newer: MarathonAppInfo, who = APPROVER) => authorizePromote({ service, newer, audit, signers, keyPath: keys.key(who) });

describe('authorizePromote', () => {
  it('accepts an approver, on the rollout the approved plan started', async () => {
    expect(await promote(green())).toEqual({ principal: APPROVER, planId: PLAN });
  });

  it('refuses a promoter who is not an approver of the service', async () => {
    const err = await caught(promote(green(), 'dev@example.com'));
    expect(err.code).toBe('GATE_NOT_APPROVER');
  });

  it('refuses without a key', async () => {
    const err = await caught(authorizePromote({ service, newer: green(), audit, signers, keyPath: undefined }));
    expect(err.code).toBe('GATE_NO_SIGNING_KEY');
  });

  it('refuses a colour whose definition changed since the rollout created it', async () => {
    const err = await caught(promote(green({ lastConfigChangeAt: '2026-12-07T11:00:00.000Z' })));
    expect(err.code).toBe('GATE_ROLLOUT_NOT_APPROVED');
    expect(err.message).toContain(
      `its definition was changed (version 2026-12-07T11:00:00.000Z) since the rollout of plan ${PLAN.slice(0, 12)} created it`,
    );
  });

  it('refuses a colour running another image than the approved plan', async () => {
    // The stamp label is not what counts: the image Marathon runs is.
    const err = await caught(promote(green({ image: 'reg:5000/shop:evil' })));
    expect(err.code).toBe('GATE_ROLLOUT_NOT_APPROVED');
    expect(err.message).toContain(`it runs reg:5000/shop:evil, and plan ${PLAN.slice(0, 12)} was approved for ${IMAGE}`);
  });

  it('refuses a colour whose stamps name another plan, or a record that is not an authorization', async () => {
    const other = await caught(promote(green({}, { 'c2c.plan-id': 'b'.repeat(64) })));
    expect(other.code).toBe('GATE_ROLLOUT_NOT_APPROVED');
    expect(other.message).toContain(`is not the authorization of plan ${'b'.repeat(12)}`);
    const { hash } = await audit.append({ type: 'plan.created', service: 'shop', environment: 'production', actor: 'x', planId: PLAN });
    const notAuth = await caught(promote(green({}, { 'c2c.audit-head': hash })));
    expect(notAuth.code).toBe('GATE_ROLLOUT_NOT_APPROVED');
  });
});
