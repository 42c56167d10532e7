// `deploy apply/promote --smoke-test DIR` in-process against the local Marathon and a real HAProxy configured as
// marathon-lb configures it: the service's smoke test (a script in DIR that GETs $SERVICE_URL) runs against a task of
// the new colour at each step. A canary whose smoke test fails is aborted by the analysis (all traffic back on the old
// colour, recorded) with no failed request; one whose smoke test passes pauses and is promoted to 100 %.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, ServiceDefinition } from '../../lib/catalog';
import { freePort } from '../../lib/demo/marathon-lb';
import { requestLoop } from '../../lib/demo/marathon-lb/traffic';
import { runDeployCli } from '../helpers/deploy-cli';
import { colours, fresh, readAudit, rolloutService, RolloutStand, startRolloutStand } from '../helpers/rollout';

/** Records `$SERVICE_URL body`, passes only when the body is a version listed in ./good-versions. */
const SMOKE = `#!/usr/bin/env bash
body=$(node -e 'fetch(process.env.SERVICE_URL + "/").then((r) => r.text()).then((t) => process.stdout.write(t))')
echo "$SERVICE_URL $body" >> runs.log
echo "got $body"
grep -qx "$body" good-versions
`;

let stand: RolloutStand;
let work: string;
let repo: string;
let def: ServiceDefinition;
let traffic: ReturnType<typeof requestLoop> | undefined;

beforeAll(async () => {
  stand = await startRolloutStand('shop');
  work = mkdtempSync(join(tmpdir(), 'c2c-smoke-docker-'));
  repo = join(work, 'shop');
  mkdirSync(repo);
  writeFileSync(join(repo, 'e2e.sh'), SMOKE, { mode: 0o755 });
  writeFileSync(join(repo, 'good-versions'), 'v1\n');
  def = await rolloutService('shop', {
    strategy: { kind: 'canary', altPort: await freePort(), keepOldMinutes: 15, steps: [{ percent: 50 }, { percent: 100 }] },
  });
});
afterAll(async () => {
  await traffic?.stop();
  await stand?.close();
  rmSync(work, { recursive: true, force: true });
});

const auditFile = () => join(work, 'audit.jsonl');
const audit = () => readAudit<{ type: string; reason?: string }>(auditFile());
const runs = () =>
  readFileSync(join(repo, 'runs.log'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

function cli(args: string[]) {
  return runDeployCli([...args, '--smoke-test', repo], {
    env: {
      CI: 'true',
      PATH: process.env.PATH,
      MARATHON_URL: stand.marathon.url,
      MARATHON_LB_URL: stand.lb.statsUrl,
      DEPLOY_ACTOR: 'dev@example.com',
      C2C_AUDIT_LOG: auditFile(),
    },
    catalog: new Catalog([def]),
  });
}

const apply = (tag: string) => ['apply', '--service', 'shop', '--env', 'staging', '--image', `reg:5000/shop:${tag}`];

describe('deploy apply / promote --smoke-test through marathon-lb', () => {
  it('aborts a canary whose smoke test fails (no failed request), and promotes one whose smoke test passes', async () => {
    const first = await cli(apply('v1'));
    expect(first.stderr).not.toContain('deploy:');
    expect(first.stdout).toMatch(/^released reg:5000\/shop:v1 on blue/);
    expect(runs().every((l) => l.endsWith(' v1'))).toBe(true);
    traffic = requestLoop(stand.lb.httpUrl, 'shop.example.com');

    // v2 is not a good version: the smoke test fails at step 1, the analysis moves all traffic back to blue.
    const failed = await cli(apply('v2'));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("the smoke test failed against green: './e2e.sh' exited 1; last output: got v2");
    expect(failed.stderr).toContain('all traffic is back on blue');
    expect(await colours(stand.client, '/staging/shop')).toEqual({ blue: 2, green: null });
    const blue = (await stand.client.getApp('/staging/shop-blue'))!;
    expect(runs().at(-1)).toMatch(/^http:\/\/[\d.]+:\d+ v2$/);
    expect(runs().at(-1)).not.toContain(`:${blue.tasks[0]?.ports[0]} `);
    expect(audit().filter((e) => e.type === 'rollout.aborted')).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('analysis at step 1 (50 %): the smoke test failed against green') }),
    ]);
    await fresh(traffic);
    expect(Object.keys(traffic.count.bodies)).toEqual(['v1']);

    // v3 is good: step 1 passes the smoke test and pauses; promote runs it again at 100 %.
    appendFileSync(join(repo, 'good-versions'), 'v3\n');
    const before = runs().length;
    const paused = await cli(apply('v3'));
    expect(paused.stderr).not.toContain('deploy:');
    expect(paused.stdout).toContain('at step 1: 50 % of the instances; paused');
    const done = await cli(['promote', 'shop', '--env', 'staging', '--json']);
    expect(done.stderr).not.toContain('deploy:');
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: true, state: 'released' });
    const smokeRuns = runs().slice(before);
    expect(smokeRuns.length).toBeGreaterThanOrEqual(2);
    expect(smokeRuns.every((l) => l.endsWith(' v3'))).toBe(true);
    await fresh(traffic);
    expect(Object.keys(traffic.count.bodies)).toEqual(['v3']);

    const total = await traffic.stop();
    traffic = undefined;
    expect(total.failures).toEqual([]);
  });
});
