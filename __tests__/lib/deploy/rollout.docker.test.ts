// Blue/green and canary releases against the local Marathon and a real HAProxy configured as marathon-lb configures
// it (the marathon-lb stand-in in lib/demo/marathon-lb), with a request loop counting failed requests all along.
import { ServiceDefinition } from '../../../lib/catalog';
import {
  abortRollout,
  advanceRollout,
  backendServers,
  fetchStats,
  RolloutContext,
  startRollout,
  StatsRow,
} from '../../../lib/deploy/rollout';
import { C2CError } from '../../../lib/errors';
import { renderMarathonApp } from '../../../lib/marathon/render';
import { caught } from '../../helpers/errors';
import { freePort } from '../../../lib/demo/marathon-lb';
import { requestLoop } from '../../../lib/demo/marathon-lb/traffic';
import { colours as coloursOf, fresh, rolloutService, RolloutStand, startRolloutStand } from '../../helpers/rollout';
import { memoryAudit } from './helpers';

let stand: RolloutStand;

beforeAll(async () => {
  stand = await startRolloutStand('shop', { backoffMs: 20, maxBackoffMs: 100 });
});
/** Request loops started by a test; stopped after it whatever its outcome, so a failed test never keeps jest alive. */
const loops: ReturnType<typeof requestLoop>[] = [];
function loop(url: string, host: string): ReturnType<typeof requestLoop> {
  const started = requestLoop(url, host);
  loops.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(loops.splice(0).map((l) => l.stop()));
});
afterAll(async () => {
  await stand?.close();
});

const service = (name: string, strategy: ServiceDefinition['strategy']) => rolloutService(name, { instances: 4, strategy });

function context(extra: Partial<RolloutContext> = {}): RolloutContext & { audit: ReturnType<typeof memoryAudit> } {
  return {
    client: stand.client,
    actor: 'dev@example.com',
    timeoutMs: 30_000,
    pollIntervalMs: 100,
    lb: { urls: [stand.lb.statsUrl] },
    smokeTest: async (url) => {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
      return { ok: res.ok, detail: `GET / answered ${res.status}` };
    },
    audit: memoryAudit(),
    onProgress: (e) => process.env.ROLLOUT_DEBUG && console.error(new Date().toISOString(), JSON.stringify(e)),
    ...extra,
  } as RolloutContext & { audit: ReturnType<typeof memoryAudit> };
}

const image = (tag: string) => ({ image: `reg:5000/shop:${tag}` });

/** Every server of the group's backend seen by a watcher, with the statuses it went through, in order. */
function watchServers(backend: string): { names(): Set<string>; stop(): Promise<Map<string, string[]>> } {
  const seen = new Map<string, string[]>();
  let on = true;
  const loop = (async () => {
    while (on) {
      const rows: StatsRow[] = (await fetchStats({ urls: [stand.lb.statsUrl] }).catch(() => [[]]))[0];
      for (const r of backendServers(rows, backend)) {
        const list = seen.get(r.svname) ?? [];
        if (list[list.length - 1] !== r.status) list.push(r.status);
        seen.set(r.svname, list);
      }
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  return {
    names: () => new Set(seen.keys()),
    async stop() {
      on = false;
      await loop;
      return seen;
    },
  };
}

const colours = (app: string) => coloursOf(stand.client, app);

describe('canary through marathon-lb', () => {
  let def: ServiceDefinition;
  const t = () => ({ def, env: 'staging' as const });

  beforeAll(async () => {
    def = await service('canary-shop', {
      kind: 'canary',
      altPort: await freePort(),
      steps: [{ percent: 25 }, { percent: 50 }, { percent: 100 }],
    });
  });

  it('releases v1 as blue, then v2 step by step: labels, drain before kill, pause, refusal, Ctrl-C, resume, switch back; no failed request', async () => {
    const rc = context();
    const first = await startRollout(rc, t(), renderMarathonApp(def, 'staging', image('v1')));
    expect(first).toMatchObject({ state: 'released', colour: 'blue', keptOld: null });
    const traffic = loop(stand.lb.httpUrl, 'canary-shop.example.com');
    const watcher = watchServers(`staging-canary-shop_${def.ports![0].servicePort}`);

    // Step 1: one of four on green, paused for a promote.
    const paused = await startRollout(rc, t(), renderMarathonApp(def, 'staging', image('v2')));
    expect(paused).toMatchObject({ state: 'paused', colour: 'green', step: { index: 1, newInstances: 1 } });
    expect(await colours('/staging/canary-shop')).toEqual({ blue: 3, green: 1 });
    const green = (await stand.client.getApp('/staging/canary-shop-green'))!;
    const blue = (await stand.client.getApp('/staging/canary-shop-blue'))!;
    expect(green.labels).toMatchObject({
      HAPROXY_DEPLOYMENT_GROUP: 'staging-canary-shop',
      HAPROXY_DEPLOYMENT_COLOUR: 'green',
      HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '4',
      HAPROXY_DEPLOYMENT_ALT_PORT: String((def.strategy as { altPort: number }).altPort),
      HAPROXY_0_PORT: String(def.ports![0].servicePort),
      HAPROXY_0_VHOST: 'canary-shop.example.com',
      HAPROXY_APP_ID: '/staging/canary-shop',
    });
    expect(Date.parse(green.labels.HAPROXY_DEPLOYMENT_STARTED_AT)).toBeGreaterThan(Date.parse(blue.labels.HAPROXY_DEPLOYMENT_STARTED_AT));
    // The colours hold different service ports: the public one and the alternate one.
    const sp = (a: typeof green) => (a.raw.container as { portMappings: { servicePort: number }[] }).portMappings[0].servicePort;
    expect(new Set([sp(green), sp(blue)])).toEqual(new Set([def.ports![0].servicePort, (def.strategy as { altPort: number }).altPort]));

    // A second deploy while this one is in flight is refused, and changes nothing.
    const refused = await caught(startRollout(context(), t(), renderMarathonApp(def, 'staging', image('v2'))));
    expect(refused.code).toBe('ROLLOUT_IN_PROGRESS');
    expect(refused.hint).toMatch(/deploy promote canary-shop --env staging.*deploy abort canary-shop --env staging/);
    expect(await colours('/staging/canary-shop')).toEqual({ blue: 3, green: 1 });

    // Promote: step 2 (2 of 4), paused again.
    expect(await advanceRollout(rc, t(), { promote: true })).toMatchObject({ state: 'paused', step: { index: 2, newInstances: 2 } });
    expect(await colours('/staging/canary-shop')).toEqual({ blue: 2, green: 2 });

    // Ctrl-C during step 3: both colours keep serving, and the error names the commands.
    const ctl = new AbortController();
    const interrupted = await caught(
      advanceRollout(
        context({ signal: ctl.signal, onProgress: (e) => e.kind === 'phase' && /step 3/.test(e.message) && ctl.abort('SIGINT') }),
        t(),
        { promote: true },
      ),
    );
    expect(interrupted.code).toBe('INTERRUPTED');
    expect(interrupted.message).toMatch(/both colours keep serving/);
    expect(interrupted.hint).toMatch(/deploy promote canary-shop --env staging' resumes it/);
    const after = await colours('/staging/canary-shop');
    expect(after.blue).toBeGreaterThan(0);
    expect(after.green).toBe(4);

    // Resume: 100 % on green, blue kept (drained, not serving) for a switch back.
    const done = await advanceRollout(rc, t(), { promote: true });
    expect(done).toMatchObject({ state: 'released', colour: 'green', keptOld: '/staging/canary-shop-blue' });
    await fresh(traffic);
    expect(Object.keys(traffic.count.bodies)).toEqual(['v2']);

    // Switch back: all traffic on blue again, green gone.
    const beforeSwitch = watcher.names();
    const back = await abortRollout(rc, t(), 'switch back');
    expect(back).toMatchObject({ state: 'aborted', colour: 'blue' });
    expect(await colours('/staging/canary-shop')).toEqual({ blue: 4, green: null });
    await fresh(traffic);
    expect(Object.keys(traffic.count.bodies)).toEqual(['v1']);

    const seen = await watcher.stop();
    const total = await traffic.stop();
    expect(total.failures).toEqual([]);
    // Drain before kill: every server of either colour that left the backend was MAINT (draining) before it went: the kept
    // blue tasks the switch back deletes and starts again, and the green tasks it deletes once blue serves.
    const live = new Set((await stand.client.getApp('/staging/canary-shop-blue'))!.tasks.map((x) => `127_0_0_1_${x.ports[0]}`));
    for (const [name, statuses] of seen)
      if (!live.has(name) && beforeSwitch.has(name)) expect([name, statuses[statuses.length - 1]]).toEqual([name, 'MAINT']);
    expect(rc.audit.events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'rollout.started',
        'rollout.step',
        'rollout.paused',
        'rollout.promoted',
        'rollout.succeeded',
        'rollout.aborted',
      ]),
    );
  });

  it('aborts by itself when HAProxy counts errors of the new colour, at the first step', async () => {
    const rc = context();
    const traffic = loop(stand.lb.httpUrl, 'canary-shop.example.com');
    const err = await caught(startRollout(rc, t(), renderMarathonApp(def, 'staging', image('bad'))));
    expect(err).toBeInstanceOf(C2CError);
    expect(err.code).toBe('ROLLOUT_ABORTED');
    expect(err.message).toMatch(/all traffic is back on blue/);
    expect(await colours('/staging/canary-shop')).toEqual({ blue: 4, green: null });
    await fresh(traffic);
    const total = await traffic.stop();
    expect(Object.keys(total.bodies)).toEqual(['v1']);
    expect(total.failures).toEqual([]);
    expect(rc.audit.events.find((e) => e.type === 'rollout.aborted')?.reason).toMatch(/analysis at step 1/);
  });
});

describe('blue/green through marathon-lb', () => {
  it('moves all traffic to the new colour once healthy, keeps the old, switches back; no failed request', async () => {
    const def = await service('bg-shop', { kind: 'blueGreen', altPort: await freePort() });
    const t = { def, env: 'staging' as const };
    const rc = context();
    await startRollout(rc, t, renderMarathonApp(def, 'staging', image('v1')));
    const traffic = loop(stand.lb.httpUrl, 'bg-shop.example.com');
    expect(await startRollout(rc, t, renderMarathonApp(def, 'staging', image('v2')))).toMatchObject({
      state: 'released',
      colour: 'green',
      keptOld: '/staging/bg-shop-blue',
    });
    expect(await colours('/staging/bg-shop')).toEqual({ blue: 4, green: 4 });
    await fresh(traffic);
    expect(Object.keys(traffic.count.bodies)).toEqual(['v2']);
    await abortRollout(rc, t, 'switch back');
    expect(await colours('/staging/bg-shop')).toEqual({ blue: 4, green: null });
    await fresh(traffic);
    const total = await traffic.stop();
    expect(Object.keys(total.bodies)).toEqual(['v1']);
    expect(total.failures).toEqual([]);
  });
});
