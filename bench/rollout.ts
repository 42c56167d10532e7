// Blue/green and canary through marathon-lb (the harness: real HAProxy configured from the local Marathon as
// marathon-lb does): time from the approved start to 100 % on the new colour, from abort to 100 % on the old, and the
// requests that failed meanwhile (a request loop on the virtual host; the goal is zero). Skipped without haproxy.
import { ServiceDefinition } from '../lib/catalog';
import { abortRollout, advanceRollout, RolloutContext, RolloutTarget, startRollout } from '../lib/deploy/rollout';
import { MarathonClient } from '../lib/marathon/client';
import { renderMarathonApp } from '../lib/marathon/render';
import { startLocalMarathon } from '../packages/local-marathon';
import { findHaproxy, freePort, HAPROXY_INSTALL, startMarathonLb } from '../lib/demo/marathon-lb';
import { rolloutImageStore } from '../lib/demo/marathon-lb/images';
import { requestLoop } from '../lib/demo/marathon-lb/traffic';

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
      let began = Date.now();
      let outcome = await startRollout(rc, t, app('v2'));
      while (outcome.state === 'paused') outcome = await advanceRollout(rc, t, { promote: true });
      const release = { ms: Date.now() - began, failed: traffic.reset().failed };
      began = Date.now();
      await abortRollout(rc, t, 'bench');
      const back = { ms: Date.now() - began, failed: (await traffic.stop()).failed };
      console.log(
        `${kind.padEnd(10)} 4 instances: start to 100 % new ${(release.ms / 1000).toFixed(1)} s (${release.failed} failed requests); abort to 100 % old ${(back.ms / 1000).toFixed(1)} s (${back.failed} failed requests)`,
      );
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
