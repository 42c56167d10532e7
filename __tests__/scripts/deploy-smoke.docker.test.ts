// `deploy apply/promote --smoke-test DIR` in-process against the local Marathon and a real HAProxy configured as
// marathon-lb configures it: the service's smoke test (a script in DIR that GETs $SERVICE_URL) runs against a task of
// the new colour at each step. A canary whose smoke test fails is aborted by the analysis (all traffic back on the old
// colour, recorded) with no failed request; one whose smoke test passes pauses and is promoted to 100 %.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, ServiceDefinition } from '../../lib/catalog';
import { MarathonClient } from '../../lib/marathon/client';
import { LocalMarathon, startLocalMarathon } from '../../packages/local-marathon';
import { findHaproxy, freePort, MarathonLbHarness, startMarathonLb } from '../../lib/demo/marathon-lb';
import { rolloutImageStore } from '../../lib/demo/marathon-lb/images';
import { requestLoop } from '../../lib/demo/marathon-lb/traffic';
import { runDeployCli } from '../helpers/deploy-cli';

/** Records `$SERVICE_URL body`, passes only when the body is a version listed in ./good-versions. */
const SMOKE = `#!/usr/bin/env bash
body=$(node -e 'fetch(process.env.SERVICE_URL + "/").then((r) => r.text()).then((t) => process.stdout.write(t))')
echo "$SERVICE_URL $body" >> runs.log
echo "got $body"
grep -qx "$body" good-versions
`;

let store: { dir: string; remove(): void };
let marathon: LocalMarathon;
let lb: MarathonLbHarness;
let client: MarathonClient;
let work: string;
let repo: string;
let def: ServiceDefinition;
let traffic: ReturnType<typeof requestLoop> | undefined;

beforeAll(async () => {
  const haproxy = findHaproxy(process.env.PATH ?? '');
  expect(haproxy).toBeDefined();
  store = rolloutImageStore('shop');
  marathon = await startLocalMarathon({ docker: 'never', imageStore: store.dir });
  lb = await startMarathonLb(marathon.url, { haproxy: haproxy! });
  client = new MarathonClient({ baseUrl: marathon.url, auth: { source: 'none' }, requestTimeoutMs: 3000 });
  work = mkdtempSync(join(tmpdir(), 'c2c-smoke-docker-'));
  repo = join(work, 'shop');
  mkdirSync(repo);
  writeFileSync(join(repo, 'e2e.sh'), SMOKE, { mode: 0o755 });
  writeFileSync(join(repo, 'good-versions'), 'v1\n');
  def = {
    name: 'shop',
    repo: 'acme/shop',
    cpus: 0.1,
    mem: 32,
    instances: 2,
    ports: [{ name: 'http', containerPort: 8080, servicePort: await freePort() }],
    virtualHost: 'shop.example.com',
    healthCheck: { path: '/health', gracePeriodSeconds: 2, intervalSeconds: 0.5, timeoutSeconds: 0.45, maxConsecutiveFailures: 3 },
    strategy: { kind: 'canary', altPort: await freePort(), keepOldMinutes: 15, steps: [{ percent: 50 }, { percent: 100 }] },
    smokeTest: './e2e.sh',
    approvers: ['user:ana@example.com'],
  };
});
afterAll(async () => {
  await traffic?.stop();
  await lb?.close();
  await marathon?.close();
  store?.remove();
  rmSync(work, { recursive: true, force: true });
});

const auditFile = () => join(work, 'audit.jsonl');
const audit = () =>
  readFileSync(auditFile(), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; reason?: string });
const runs = () =>
  readFileSync(join(repo, 'runs.log'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

function cli(args: string[]) {
  return runDeployCli([...args, '--smoke-test', repo], {
    env: {
      CI: 'true',
      PATH: process.env.PATH,
      MARATHON_URL: marathon.url,
      MARATHON_LB_URL: lb.statsUrl,
      DEPLOY_ACTOR: 'dev@example.com',
      C2C_AUDIT_LOG: auditFile(),
    },
    catalog: new Catalog([def]),
  });
}

async function colours(): Promise<Record<string, number | null>> {
  const [b, g] = await Promise.all([client.getApp('/staging/shop-blue'), client.getApp('/staging/shop-green')]);
  return { blue: b?.instances ?? null, green: g?.instances ?? null };
}

/** Counts from zero with requests sent from now on, until 20 answered. */
async function fresh(loop: ReturnType<typeof requestLoop>): Promise<void> {
  loop.reset();
  while (loop.count.ok + loop.count.failed + loop.count.appErrors < 1) await new Promise((r) => setTimeout(r, 20));
  loop.reset();
  while (loop.count.ok < 20) await new Promise((r) => setTimeout(r, 20));
}

const apply = (tag: string) => ['apply', '--service', 'shop', '--env', 'staging', '--image', `reg:5000/shop:${tag}`];

describe('deploy apply / promote --smoke-test through marathon-lb', () => {
  it('aborts a canary whose smoke test fails (no failed request), and promotes one whose smoke test passes', async () => {
    const first = await cli(apply('v1'));
    expect(first.stderr).not.toContain('deploy:');
    expect(first.stdout).toMatch(/^released reg:5000\/shop:v1 on blue/);
    expect(runs().every((l) => l.endsWith(' v1'))).toBe(true);
    traffic = requestLoop(lb.httpUrl, 'shop.example.com');

    // v2 is not a good version: the smoke test fails at step 1, the analysis moves all traffic back to blue.
    const failed = await cli(apply('v2'));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("the smoke test failed against green: './e2e.sh' exited 1; last output: got v2");
    expect(failed.stderr).toContain('all traffic is back on blue');
    expect(await colours()).toEqual({ blue: 2, green: null });
    const blue = (await client.getApp('/staging/shop-blue'))!;
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
