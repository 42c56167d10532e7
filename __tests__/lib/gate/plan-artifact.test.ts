// A plan pins an artifact as it pins an image digest: the fetch URI and the SHA-256 label are in the rendered app,
// and the artifact in the plan's content, all under the plan id; swapping any of them is a tampered plan.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactUri, ServiceDefinition } from '../../../lib/catalog';
import { C2CError } from '../../../lib/errors';
import { checkPlanConsistency, packageOfPlan } from '../../../lib/gate/gate';
import { PlanContent, PlanFile, readPlanFile, sealPlan, writePlanFile } from '../../../lib/gate/plan-file';
import { renderMarathonApp } from '../../../lib/marathon/render';

const service: ServiceDefinition = {
  name: 'timer',
  repo: 'acme/timer',
  cpus: 0.1,
  mem: 64,
  instances: 2,
  package: { kind: 'artifact', cmd: 'node server.js' },
  build: 'make',
  smokeTest: './e2e.sh',
  approvers: ['user:ana@example.com'],
};
const sha256 = 'ab'.repeat(32);
const uri = artifactUri('https://storage.googleapis.com/acme-artifacts', service, 'abc1234', sha256);
const content: PlanContent = {
  format: 'c2c.plan/v1',
  service: 'timer',
  environment: 'production',
  image: uri,
  artifact: { uri, sha256 },
  commit: 'abc1234',
  app: renderMarathonApp(service, 'production', { artifact: { uri, sha256 } }),
  liveVersion: null,
  diff: [],
  createdBy: 'ana@example.com',
  createdAt: '2026-11-27T11:00:00.000Z',
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-plan-artifact-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function reread(edit: (plan: PlanFile & { app: { fetch: { uri: string }[]; labels: Record<string, string> } }) => void) {
  const file = join(dir, 'plan.json');
  await writePlanFile(file, sealPlan(content));
  const plan = JSON.parse(readFileSync(file, 'utf8'));
  edit(plan);
  writeFileSync(file, JSON.stringify(plan));
  return readPlanFile(file).then(
    (p) => p.artifact,
    (e: C2CError) => e.code,
  );
}

it('an untouched artifact plan reads back with its artifact', async () => expect(await reread(() => undefined)).toEqual({ uri, sha256 }));
it('another fetch URI in the app is a tampered plan', async () =>
  expect(
    await reread((p) => {
      p.app.fetch[0].uri = uri.replace('abc1234', 'evil000');
    }),
  ).toBe('PLAN_TAMPERED'));
it('another checksum label in the app is a tampered plan', async () =>
  expect(
    await reread((p) => {
      p.app.labels['c2c.artifact-sha256'] = 'cd'.repeat(32);
    }),
  ).toBe('PLAN_TAMPERED'));
it("another checksum in the plan's artifact is a tampered plan", async () =>
  expect(
    await reread((p) => {
      (p as { artifact: { sha256: string } }).artifact.sha256 = 'cd'.repeat(32);
    }),
  ).toBe('PLAN_TAMPERED'));

describe('issue 20 item 2: what is shown and recorded for an artifact plan is what app fetches', () => {
  const consistency = (edit: (p: PlanContent & { app: { fetch: { uri: string }[] } }) => void): string => {
    const plan = JSON.parse(JSON.stringify({ ...content, commit: undefined }));
    edit(plan);
    try {
      checkPlanConsistency(sealPlan(plan));
      return packageOfPlan(sealPlan(plan));
    } catch (e) {
      return `${(e as C2CError).code}: ${(e as C2CError).message}`;
    }
  };
  const evil = uri.replace('abc1234', 'evil000');

  it('an honest plan runs, shows and records its fetch URI', () => expect(consistency(() => undefined)).toBe(uri));
  it('image, artifact and c2c.image say good while app.fetch fetches another: refused even with the id recomputed', () =>
    expect(consistency((p) => (p.app.fetch[0].uri = evil))).toBe(
      `GATE_PLAN_INCONSISTENT: plan ${sealPlan({ ...content, commit: undefined, app: { ...content.app, fetch: [{ ...content.app.fetch![0], uri: evil }] } }).id.slice(0, 12)} says one thing and runs another: its image field says ${uri}, but its app fetches ${evil}`,
    ));
  it('a second fetch entry is refused', () =>
    expect(consistency((p) => p.app.fetch.push({ uri: evil }))).toMatch(
      /its app fetches 2 URIs; an artifact app fetches exactly its artifact$/,
    ));
  it('a checksum in artifact that is not the label is refused', () =>
    expect(consistency((p) => ((p as { artifact: { sha256: string } }).artifact.sha256 = 'cd'.repeat(32)))).toMatch(
      /its artifact field says .* \(sha256 cdcd.*\), but its app fetches .* \(sha256 abab/,
    ));
});
