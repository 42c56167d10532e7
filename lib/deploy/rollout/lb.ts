import { C2CError, interruption } from '../../errors';
import { parseHaproxyStats, StatsRow } from './haproxy-stats';

/** The marathon-lb instances that serve the service (their stats pages, as `zdd.py --marathon-lb`). */
export interface LoadBalancers {
  /** Base URLs of the stats pages, e.g. `http://marathon-lb.marathon.mesos:9090`; each is read at `/haproxy?stats;csv`. */
  readonly urls: readonly string[];
  /** @default 5000 */
  readonly requestTimeoutMs?: number;
}

/** Every instance's stats, one list per instance (a task is drained only when it is drained on every instance). */
export async function fetchStats(lb: LoadBalancers, signal?: AbortSignal): Promise<StatsRow[][]> {
  if (lb.urls.length === 0) {
    throw new C2CError('HAPROXY_UNREACHABLE', 'no marathon-lb stats URL is configured', {
      hint: "give marathon-lb's stats page, e.g. --lb http://marathon-lb:9090 (or MARATHON_LB_URL)",
    });
  }
  return Promise.all(lb.urls.map((url) => fetchOne(url, lb.requestTimeoutMs ?? 5000, signal)));
}

async function fetchOne(base: string, timeoutMs: number, signal?: AbortSignal): Promise<StatsRow[]> {
  const url = `${base.replace(/\/+$/, '')}/haproxy?stats;csv`;
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch (err) {
    if (signal?.aborted) throw interruption(signal, "interrupted while reading marathon-lb's stats");
    throw new C2CError('HAPROXY_UNREACHABLE', `marathon-lb's stats at ${base} did not answer`, {
      hint: 'is marathon-lb running and its stats port (9090) reachable from here?',
      cause: err,
    });
  }
  if (!res.ok) {
    throw new C2CError('HAPROXY_UNREACHABLE', `marathon-lb's stats at ${base} answered ${res.status}`, {
      hint: "the URL must be marathon-lb's stats page, e.g. http://marathon-lb:9090",
    });
  }
  return parseHaproxyStats(await res.text());
}
