// The stand the rollout docker tests share: the local Marathon running the rollout images (lib/demo/marathon-lb/images),
// a real HAProxy configured as marathon-lb configures it, a client, and the service and traffic helpers they read.
import { readFileSync } from 'node:fs';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { ServiceDefinition } from '../../lib/catalog';
import { findHaproxy, freePort, MarathonLbHarness, startMarathonLb } from '../../lib/demo/marathon-lb';
import { rolloutImageStore } from '../../lib/demo/marathon-lb/images';
import { requestLoop } from '../../lib/demo/marathon-lb/traffic';
import { MarathonClient, MarathonClientOptions } from '../../lib/marathon/client';
import { testService } from '../lib/deploy/helpers';

/** The HAProxy binary on PATH: the docker suite runs where the Debian package is installed. */
export function haproxyOnPath(): string {
  const haproxy = findHaproxy(process.env.PATH ?? '');
  if (!haproxy) throw new Error('no haproxy on PATH: the docker suite needs the Debian package haproxy');
  return haproxy;
}

export interface RolloutStand {
  /** The rollout images of the service (`reg:5000/<service>:v1|v2|v3|bad`). */
  readonly images: { dir: string; remove(): void };
  readonly marathon: LocalMarathon;
  readonly lb: MarathonLbHarness;
  readonly client: MarathonClient;
  /** Stops HAProxy and the local Marathon and removes the images (stop request loops first). */
  close(): Promise<void>;
}

/** Starts the stand for the rollout images of `service`; `client` adds options to the test's Marathon client. */
export async function startRolloutStand(service: string, client: Partial<MarathonClientOptions> = {}): Promise<RolloutStand> {
  const haproxy = haproxyOnPath();
  const images = rolloutImageStore(service);
  let marathon: LocalMarathon | undefined;
  try {
    marathon = await startLocalMarathon({ docker: 'never', imageStore: images.dir });
    const lb = await startMarathonLb(marathon.url, { haproxy });
    const started = marathon;
    return {
      images,
      marathon: started,
      lb,
      client: new MarathonClient({ baseUrl: started.url, auth: { source: 'none' }, requestTimeoutMs: 3000, ...client }),
      async close() {
        await lb.close();
        await started.close();
        images.remove();
      },
    };
  } catch (e) {
    await marathon?.close();
    images.remove();
    throw e;
  }
}

/**
 * A test service (testService) for the rollout images, answering on a free service port at `<name>.example.com`, with
 * health checks every 0.5 s; `extra` sets the rest (instances; a strategy takes its altPort from `freePort()`).
 */
export async function rolloutService(name: string, extra: Partial<ServiceDefinition> = {}): Promise<ServiceDefinition> {
  return testService(name, {
    instances: 2,
    ports: [{ name: 'http', containerPort: 8080, servicePort: await freePort() }],
    virtualHost: `${name}.example.com`,
    healthCheck: { path: '/health', gracePeriodSeconds: 2, intervalSeconds: 0.5, timeoutSeconds: 0.45, maxConsecutiveFailures: 3 },
    ...extra,
  });
}

/** The instances of the app's two colours (`<app>-blue`, `<app>-green`); null for a colour that does not exist. */
export async function colours(client: MarathonClient, app: string): Promise<{ blue: number | null; green: number | null }> {
  const [b, g] = await Promise.all([client.getApp(`${app}-blue`), client.getApp(`${app}-green`)]);
  return { blue: b?.instances ?? null, green: g?.instances ?? null };
}

/**
 * Counts from zero with requests sent from now on, until 20 answered: the loop is sequential, so once one more request
 * has finished after a reset, every later one started after it.
 */
export async function fresh(traffic: ReturnType<typeof requestLoop>): Promise<void> {
  traffic.reset();
  await until(() => traffic.count.ok + traffic.count.failed + traffic.count.appErrors >= 1);
  traffic.reset();
  await until(() => traffic.count.ok >= 20);
}

/** Polls `done` every 20 ms (the request loop has no events of its own; it only counts). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}

/** The records of a JSON-lines audit log file. */
export function readAudit<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}
