import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { C2CError } from '../../../lib/errors';
import { canonicalJson } from '../../../lib/canonical-json';
import { formatDiff, MAX_PLAN_BYTES, PlanContent, planId, readPlanFile, sealPlan, writePlanFile } from '../../../lib/gate/plan-file';
import { caught } from '../../helpers/errors';
import { renderMarathonApp } from '../../../lib/marathon/render';
import { loadCatalog } from '../../../services';

const service = loadCatalog().get('bulb-api');
const content: PlanContent = {
  format: 'c2c.plan/v1',
  service: 'bulb-api',
  environment: 'production',
  image: 'registry:5000/bulb-api:abc1234',
  commit: 'abc1234',
  app: renderMarathonApp(service, 'production', { image: 'registry:5000/bulb-api:abc1234' }),
  liveVersion: '2026-11-27T10:00:00.000Z',
  diff: [{ path: 'container.docker.image', kind: 'changed', from: 'registry:5000/bulb-api:0000000', to: 'registry:5000/bulb-api:abc1234' }],
  createdBy: 'ana@acme-lighting.example',
  createdAt: '2026-11-27T11:00:00.000Z',
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-plan-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as C2CError).code;
  }
  return 'no error';
}

describe('plan files', () => {
  it('the id is the SHA-256 of the canonical content, independent of key order', () => {
    const reordered = Object.fromEntries(Object.entries(content).reverse()) as unknown as PlanContent;
    expect(planId(reordered)).toBe(planId(content));
    expect(planId(content)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  it('round-trips through a file and keeps its id', async () => {
    const plan = sealPlan(content);
    const path = join(dir, 'p.json');
    await writePlanFile(path, plan);
    expect(await readPlanFile(path)).toEqual(plan);
  });

  it('tamper: one byte changed in the rendered JSON is PLAN_TAMPERED', async () => {
    const path = join(dir, 'p.json');
    await writePlanFile(path, sealPlan(content));
    writeFileSync(path, readFileSync(path, 'utf8').replace('"mem": 256', '"mem": 257'));
    expect(await codeOf(readPlanFile(path))).toBe('PLAN_TAMPERED');
  });

  it('tamper: a swapped image is PLAN_TAMPERED', async () => {
    const path = join(dir, 'p.json');
    await writePlanFile(path, sealPlan(content));
    writeFileSync(path, readFileSync(path, 'utf8').replace(/bulb-api:abc1234/g, 'bulb-api:evil999'));
    await expect(readPlanFile(path)).rejects.toThrow(/was changed after planning/);
  });

  it('a missing file, bad JSON or a non-plan is PLAN_INVALID', async () => {
    expect(await codeOf(readPlanFile(join(dir, 'nope.json')))).toBe('PLAN_INVALID');
    writeFileSync(join(dir, 'bad.json'), '{not json');
    expect(await codeOf(readPlanFile(join(dir, 'bad.json')))).toBe('PLAN_INVALID');
    writeFileSync(join(dir, 'other.json'), '{"format":"something"}');
    expect(await codeOf(readPlanFile(join(dir, 'other.json')))).toBe('PLAN_INVALID');
  });

  it('a plan file over 1 MiB is PLAN_INVALID before it is parsed', async () => {
    const path = join(dir, 'huge.json');
    writeFileSync(path, JSON.stringify({ ...sealPlan(content), pad: 'x'.repeat(MAX_PLAN_BYTES) }));
    const err = await caught(readPlanFile(path));
    expect(err.code).toBe('PLAN_INVALID');
    expect(err.message).toMatch(/^plan file '.*huge.json' is \d{7} bytes; a plan is at most 1048576 bytes \(1 MiB\)$/);
  });

  it('a field of the wrong type is PLAN_INVALID, even with a matching id', async () => {
    const path = join(dir, 'typed.json');
    const bad = { ...content, image: 42 } as unknown as PlanContent;
    writeFileSync(path, JSON.stringify({ ...bad, id: planId(bad) }));
    expect((await caught(readPlanFile(path))).message).toMatch(/is not a valid plan: 'image' must be a string$/);
  });

  it('sealing drops an id and signature made for other content', () => {
    const sealed = sealPlan({ ...sealPlan(content), signature: 'old', id: 'f'.repeat(64), image: 'other' } as PlanContent);
    expect(sealed.id).toBe(planId({ ...content, image: 'other' }));
    expect('signature' in sealed).toBe(false);
  });

  it('formats the diff for a reviewer', () => {
    expect(formatDiff([])).toBe('no change');
    expect(
      formatDiff([
        { path: 'container.docker.image', kind: 'changed', from: 'a:1', to: 'a:2' },
        { path: 'env.NEW', kind: 'added', to: 'x' },
        { path: 'labels.OLD', kind: 'removed', from: 'y' },
      ]),
    ).toBe('~ container.docker.image: "a:1" -> "a:2"\n+ env.NEW: "x"\n- labels.OLD: "y"');
  });
});
