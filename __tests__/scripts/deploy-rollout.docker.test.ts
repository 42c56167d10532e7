// The deploy CLI's rollout commands in-process (main(argv, io)) against the local Marathon and a real HAProxy
// configured as marathon-lb configures it (the marathon-lb stand-in in lib/demo/marathon-lb): a canary released with
// `deploy apply` pauses, a second apply is refused, Ctrl-C mid-way leaves both colours serving and `deploy promote`
// resumes, `deploy status` shows the split from HAProxy's stats, `deploy abort` moves all traffic back; the audit log
// records each step, promote and abort with who did it, and the request loop counts no failed request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Catalog, ServiceDefinition } from '../../lib/catalog';
import { CliIo } from '../../scripts/deploy/context';
import { freePort } from '../../lib/demo/marathon-lb';
import { requestLoop } from '../../lib/demo/marathon-lb/traffic';
import { sink } from '../helpers/sink';
import { runDeployCli } from '../helpers/deploy-cli';
import { testKeys, TestKeys } from '../helpers/keys';
import { colours, fresh, readAudit, rolloutService, RolloutStand, startRolloutStand } from '../helpers/rollout';

let stand: RolloutStand;
let work: string;
let def: ServiceDefinition;
let traffic: ReturnType<typeof requestLoop> | undefined;
let keys: TestKeys;
const APPROVER = 'ana@example.com';

beforeAll(async () => {
  stand = await startRolloutStand('shop');
  work = mkdtempSync(join(tmpdir(), 'c2c-rollout-cli-docker-'));
  keys = testKeys(work, ['dev@example.com', APPROVER]);
  def = await rolloutService('shop', {
    instances: 4,
    strategy: {
      kind: 'canary',
      altPort: await freePort(),
      keepOldMinutes: 15,
      steps: [{ percent: 25 }, { percent: 50 }, { percent: 100 }],
    },
  });
});
afterAll(async () => {
  await traffic?.stop();
  await stand?.close();
  rmSync(work, { recursive: true, force: true });
});

const auditFile = () => join(work, 'audit.jsonl');
const audit = () => readAudit<{ type: string; actor: string; reason?: string; rolloutStep?: number; trafficPercent?: number }>(auditFile());

async function cli(args: string[], actor = 'dev@example.com', io: Partial<CliIo> = {}) {
  return runDeployCli(args, {
    env: {
      CI: 'true',
      MARATHON_URL: stand.marathon.url,
      MARATHON_LB_URL: stand.lb.statsUrl,
      DEPLOY_ACTOR: actor,
      C2C_AUDIT_LOG: auditFile(),
      C2C_ALLOWED_SIGNERS: keys.allowedSigners,
    },
    catalog: new Catalog([def]),
    ...io,
  });
}

const apply = (tag: string) => ['apply', '--service', 'shop', '--env', 'staging', '--image', `reg:5000/shop:${tag}`];

describe('deploy apply / promote / abort / status of a canary through marathon-lb', () => {
  it('pauses, refuses a second release, resumes after Ctrl-C, shows the split, moves traffic back; all recorded, no failed request', async () => {
    const first = await cli(apply('v1'));
    expect(first.stderr).not.toContain('deploy:');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^released reg:5000\/shop:v1 on blue \(\/staging\/shop-blue, version /);
    traffic = requestLoop(stand.lb.httpUrl, 'shop.example.com');
    // The same release again: the newer colour runs it already, nothing is sent.
    const again = await cli(apply('v1'));
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^no change: \/staging\/shop-blue already runs reg:5000\/shop:v1 .*nothing sent/);
    expect(await colours(stand.client, '/staging/shop')).toEqual({ blue: 4, green: null });

    // Step 1: one of four on green, paused for a promote; the progress lines name the step.
    const paused = await cli(apply('v2'));
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(
      "reg:5000/shop:v2 on green (/staging/shop-green) at step 1: 25 % of the instances; paused: 'deploy promote shop --env staging' goes on, 'deploy abort shop --env staging' moves all traffic back",
    );
    expect(paused.stderr).toContain('/staging/shop: step 1: 25 % (1 of 4) on green');
    expect(await colours(stand.client, '/staging/shop')).toEqual({ blue: 3, green: 1 });

    // A second release while this one is in flight: refused, nothing changes.
    const second = await cli(apply('v2'), 'other@example.com');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('deploy: a rollout of shop in staging is in flight (/staging/shop-green at 1 of 4)');
    expect(await colours(stand.client, '/staging/shop')).toEqual({ blue: 3, green: 1 });

    // Promote to step 2, then Ctrl-C as step 3 begins: both colours keep serving, the hint names promote and abort.
    const step2 = await cli(['promote', 'shop', '--env', 'staging']);
    expect(step2.code).toBe(0);
    expect(step2.stdout).toContain('shop in staging: step 2, 50 % on green; paused');
    const ctl = new AbortController();
    // Ctrl-C (the CLI's abort signal, as scripts/deploy.ts aborts it on SIGINT) once the progress line of step 3 shows.
    const stderr = sink();
    const tee = new Writable({
      write(chunk: Buffer, _e, done) {
        stderr.stream.write(chunk);
        if (chunk.toString().includes('step 3: 100 %')) ctl.abort('SIGINT');
        done();
      },
    });
    const interrupted = await cli(['promote', 'shop', '--env', 'staging'], 'dev@example.com', { stderr: tee, signal: ctl.signal });
    expect(interrupted.code).toBe(130);
    expect(stderr.text()).toContain('the rollout stopped mid-way and both colours keep serving');
    expect(stderr.text()).toContain(
      "hint: 'deploy promote shop --env staging' resumes it, 'deploy abort shop --env staging' moves all traffic back",
    );
    const mid = await colours(stand.client, '/staging/shop');
    expect(mid.blue).toBeGreaterThan(0);
    expect(mid.green).toBe(4);

    // Resume: 100 % on green, blue kept for a switch back.
    const done = await cli(['promote', 'shop', '--env', 'staging', '--json'], 'lead@example.com');
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: true, state: 'released', colour: 'green', keptOld: '/staging/shop-blue' });
    await fresh(traffic);
    expect(Object.keys(traffic.count.bodies)).toEqual(['v2']);

    // Status: both colours, the step, the split from HAProxy's stats (MARATHON_LB_URL).
    const status = JSON.parse((await cli(['status', '--service', 'shop', '--env', 'staging', '--json'])).stdout);
    expect(status[0].rollout).toMatchObject({
      strategy: 'canary',
      inFlight: false,
      step: { index: 3, of: 3, percent: 100 },
      traffic: { newPercent: 100, oldPercent: 0, source: 'haproxy' },
      colours: [
        { role: 'new', colour: 'green', instances: 4, serving: 4 },
        { role: 'old', colour: 'blue', instances: 2, serving: 0 },
      ],
    });

    // Abort: all traffic back on blue, green gone.
    const back = await cli(['abort', 'shop', '--env', 'staging', '--reason', 'conversion dropped'], 'oncall@example.com');
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/^shop in staging: all traffic back on blue in [\d.]+ s; the new colour is removed/);
    expect(await colours(stand.client, '/staging/shop')).toEqual({ blue: 4, green: null });
    await fresh(traffic);
    const total = await traffic.stop();
    traffic = undefined;
    expect(Object.keys(total.bodies)).toEqual(['v1']);
    expect(total.failures).toEqual([]);

    const events = audit().filter((e) => e.type.startsWith('rollout.'));
    const by = (type: string) => events.filter((e) => e.type === type);
    expect(by('rollout.started')).toHaveLength(2);
    // v1 at full size (its one step: 3), then v2: step 1; each promote checks the step reached again (1, 2) and goes on.
    expect(by('rollout.step').map((e) => e.rolloutStep)).toEqual([3, 1, 1, 2, 2, 3]);
    expect(by('rollout.paused').map((e) => e.rolloutStep)).toEqual([1, 2]);
    expect(by('rollout.promoted').map((e) => e.actor)).toEqual(['dev@example.com', 'dev@example.com', 'lead@example.com']);
    expect(by('rollout.interrupted')).toHaveLength(1);
    expect(by('rollout.succeeded').map((e) => e.actor)).toEqual(['dev@example.com', 'lead@example.com']);
    expect(by('rollout.aborted')).toEqual([expect.objectContaining({ actor: 'oncall@example.com', reason: 'conversion dropped' })]);
  });
});

describe('a canary in production', () => {
  it('runs the approved plan: apply --plan pauses, promote needs an approver and the approved rollout, and finishes it', async () => {
    const plan = join(work, 'prod.json');
    const planned = await cli([
      ...['plan', '--service', 'shop', '--env', 'production', '--image', 'reg:5000/shop:v1', '--out', plan],
      ...['--key', keys.key('dev@example.com')],
    ]);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('release: canary: 25 % then promote, 50 % then promote, 100 %; old colour kept 15 min');
    const approved = await cli(['approve', plan, '--key', keys.key(APPROVER)], APPROVER);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(
      'release: canary: 25 % then promote, 50 % then promote, 100 %; old colour kept 15 min (the approval covers every step)',
    );
    const first = await cli(['apply', '--plan', plan]);
    expect(first.stderr).not.toContain('deploy:');
    expect(first.stdout).toMatch(/^released reg:5000\/shop:v1 on blue \(\/production\/shop-blue/);

    const plan2 = join(work, 'prod2.json');
    await cli([
      ...['plan', '--service', 'shop', '--env', 'production', '--image', 'reg:5000/shop:v2', '--out', plan2],
      ...['--key', keys.key('dev@example.com')],
    ]);
    expect((await cli(['approve', plan2, '--key', keys.key(APPROVER)], APPROVER)).code).toBe(0);
    const paused = await cli(['apply', '--plan', plan2]);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('at step 1: 25 % of the instances; paused');
    const green = (await stand.client.getApp('/production/shop-green'))!;
    expect(green.labels['c2c.approved-by']).toBe(APPROVER);

    const notApprover = await cli(['promote', 'shop', '--env', 'production', '--key', keys.key('dev@example.com')]);
    expect(notApprover.code).toBe(3);
    expect(notApprover.stderr).toContain('dev@example.com is not an approver of shop');
    expect((await stand.client.getApp('/production/shop-green'))!.instances).toBe(1);

    const step2 = await cli(['promote', 'shop', '--env', 'production', '--key', keys.key(APPROVER)]);
    expect(step2.stderr).not.toContain('deploy:');
    expect(step2.stdout).toContain('shop in production: step 2, 50 % on green; paused');
    const done = await cli(['promote', 'shop', '--env', 'production', '--key', keys.key(APPROVER), '--json']);
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: true, state: 'released', colour: 'green', keptOld: '/production/shop-blue' });
    const promoted = audit().filter((e) => e.type === 'rollout.promoted' && JSON.stringify(e).includes('"production"'));
    expect(promoted.map((e) => e.actor)).toEqual([APPROVER, APPROVER]);
  });
});
