// The main job's "Release strategies" step against a local Marathon and a real HAProxy (the marathon-lb stand-in):
// a blue/green release and an aborted canary, with the figures it prints and the audit records it writes; no request
// through HAProxy fails.
import { AuditLog } from '../../lib/audit/log';
import { rolloutImageStore } from '../../lib/demo/marathon-lb/images';
import { startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { showReleaseStrategies } from '../../scripts/demo/strategies';
import { haproxyOnPath, rolloutService } from '../helpers/rollout';

jest.setTimeout(180_000);

let store: ReturnType<typeof rolloutImageStore>;
afterAll(() => store?.remove());

it('releases blue/green, aborts a canary at its first step, prints the figures; 0 failed requests', async () => {
  const haproxy = haproxyOnPath();
  store = rolloutImageStore('shop');
  const def = await rolloutService('shop');
  const lines: string[] = [];
  const smoked: string[] = [];
  const servers: string[] = [];
  const audit = AuditLog.inMemory();
  const figures = await showReleaseStrategies({
    def,
    images: ['reg:5000/shop:v1', 'reg:5000/shop:v2', 'reg:5000/shop:v3'],
    haproxy,
    startMarathon: () => startLocalMarathon({ docker: 'never', imageStore: store.dir }),
    smokeTest: async (url) => {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
      smoked.push(await res.text());
      return { ok: res.ok };
    },
    audit,
    actor: 'dev@example.com',
    say: (line) => lines.push(line),
    started: (what) => {
      servers.push(what);
      return () => servers.splice(servers.indexOf(what), 1);
    },
  });

  // No request failed, and each phase had requests in it.
  expect(figures.service).toBe('shop');
  for (const phase of [figures.blueGreen, figures.canary, figures.canaryAbort]) {
    expect(phase.failed).toBe(0);
    expect(phase.sent).toBeGreaterThan(0);
    expect(phase.seconds).toBeGreaterThan(0);
  }
  // The printed figures are the measured ones.
  const text = lines.join('\n');
  expect(text).toContain(
    `  blue/green: shop-green at 100 % in ${figures.blueGreen.seconds} s; ${figures.blueGreen.sent} requests, 0 failed`,
  );
  expect(text).toContain(
    `  canary: shop-blue at step 1 (50 % of the tasks) in ${figures.canary.seconds} s, waiting for promote; aborted instead`,
  );
  expect(text).toContain(
    `  abort: 100 % back on shop-green in ${figures.canaryAbort.seconds} s; ${figures.canaryAbort.sent} requests, 0 failed`,
  );
  expect(lines[lines.length - 1]).toBe(
    `  requests through HAProxy: blue/green switch ${figures.blueGreen.sent} sent, 0 failed; canary ${figures.canary.sent} sent, 0 failed; abort ${figures.canaryAbort.sent} sent, 0 failed (goal: 0 failed)`,
  );
  // The smoke test ran against the new colours (v2 at the blue/green step, v3 at the canary's first step).
  expect(smoked).toEqual(expect.arrayContaining(['v2', 'v3']));
  // Every step is in the audit log, as the page and the DORA report read it.
  const types = (await audit.list()).map((e) => e.type);
  expect(types.filter((t) => t !== 'rollout.step')).toEqual([
    'rollout.started',
    'rollout.succeeded',
    'rollout.started',
    'rollout.succeeded',
    'rollout.started',
    'rollout.paused',
    'rollout.aborted',
  ]);
  expect((await audit.list()).every((e) => e.service === 'shop' && e.environment === 'staging' && e.actor === 'dev@example.com')).toBe(
    true,
  );
  // The step stopped what it started.
  expect(servers).toEqual([]);
});
