// Blue/green and canary through marathon-lb (the harness: real HAProxy configured from the local Marathon as
// marathon-lb does): time from the approved start to 100 % on the new colour, from abort to 100 % on the old, and the
// requests that failed meanwhile (a request loop on the virtual host; the goal is zero); for a canary also an abort at
// its first step. Skipped without haproxy on PATH.
import { ServiceDefinition } from '../lib/catalog';
import { abortRollout, advanceRollout, RolloutContext, RolloutTarget, startRollout } from '../lib/deploy/rollout';
import { MarathonClient } from '../lib/marathon/client';
import { marathonAppId, renderMarathonApp } from '../lib/marathon/render';
import { startLocalMarathon } from '../packages/local-marathon';
import { findHaproxy, freePort, HAPROXY_INSTALL, startMarathonLb } from '../lib/demo/marathon-lb';
import { rolloutImageStore } from '../lib/demo/marathon-lb/images';
import { requestLoop, TrafficCount } from '../lib/demo/marathon-lb/traffic';
import { firstAnswer, rolloutSettled } from '../lib/demo/marathon-lb/waits';

export async function main(): Promise<void> {
  const haproxy = findHaproxy(process.env.PATH ?? '');
  if (!haproxy) {
    console.log(`skipped: no haproxy on PATH (${HAPROXY_INSTALL})`);
    return;
  }
  const store = rolloutImageStore('shop');
  const marathon = await startLocalMarathon({ docker: 'never', imageStore: store.dir });
  const lb = await startMarathonLb(marathon.url, { haproxy });
  try {
    const client = new MarathonClient({ baseUrl: marathon.url, auth: { source: 'none' } });
    const rc: RolloutContext = { client, actor: 'bench', timeoutMs: 60_000, pollIntervalMs: 100, lb: { urls: [lb.statsUrl] } };
    for (const kind of ['blueGreen', 'canary'] as const) {
      const def = await service(`${kind.toLowerCase()}-bench`, kind);
      const t: RolloutTarget = { def, env: 'staging' };
      const app = (tag: string) => renderMarathonApp(def, 'staging', { image: `reg:5000/shop:${tag}` });
      await startRollout(rc, t, app('v1'));
      const traffic = requestLoop(lb.httpUrl, `${def.name}.example.com`);
      await firstAnswer(traffic);
      // The approved release: from its start to 100 % on the new colour (a canary's pauses promoted at once).
      let began = Date.now();
      let outcome = await startRollout(rc, t, app('v2'));
      while (outcome.state === 'paused') outcome = await advanceRollout(rc, t, { promote: true });
      const release = { ms: Date.now() - began, ...counted(traffic.reset()) };
      // Going back after 100 %: the kept old colour takes all traffic again.
      began = Date.now();
      await abortRollout(rc, t, 'bench');
      const back = { ms: Date.now() - began, ...counted(traffic.reset()) };
      const name = kind.padEnd(10);
      console.log(`${name} 4 instances: start to 100 % new ${figure(release)}; abort after 100 % to 100 % old ${figure(back)}`);
      if (kind === 'canary') {
        // The usual canary abort: at its first step (25 %), back to 100 % on the old colour. Marathon finishes the
        // deployment of the colour started again a moment after it serves (a release is refused until then).
        await rolloutSettled(client, marathonAppId(def.name, 'staging'));
        began = Date.now();
        const paused = await startRollout(rc, t, app('v3'));
        const step = { ms: Date.now() - began, ...counted(traffic.reset()) };
        began = Date.now();
        await abortRollout(rc, t, 'bench');
        const mid = { ms: Date.now() - began, ...counted(await traffic.stop()) };
        const at = paused.state === 'paused' ? `step ${paused.step.index} (${paused.step.percent} %)` : paused.state;
        console.log(`${name} 4 instances: start to ${at} ${figure(step)}; abort at that step to 100 % old ${figure(mid)}`);
      } else await traffic.stop();
    }
  } finally {
    await lb.close();
    await marathon.close();
    store.remove();
  }
}

async function service(name: string, kind: 'blueGreen' | 'canary'): Promise<ServiceDefinition> {
  const altPort = await freePort();
  return {
    name,
    repo: `acme/${name}`,
    cpus: 0.1,
    mem: 32,
    instances: 4,
    ports: [{ name: 'http', containerPort: 8080, servicePort: await freePort() }],
    virtualHost: `${name}.example.com`,
    healthCheck: { path: '/health', gracePeriodSeconds: 2, intervalSeconds: 0.5, timeoutSeconds: 0.45, maxConsecutiveFailures: 3 },
    strategy: kind === 'blueGreen' ? { kind, altPort } : { kind, altPort, steps: [{ percent: 25 }, { percent: 50 }, { percent: 100 }] },
    smokeTest: './e2e.sh',
    approvers: ['user:ana@example.com'],
  };
}

const counted = (c: TrafficCount) => ({ sent: c.ok + c.failed + c.appErrors, failed: c.failed });

const figure = (m: { ms: number; sent: number; failed: number }) =>
  `${(m.ms / 1000).toFixed(1)} s (${m.sent} requests, ${m.failed} failed)`;
