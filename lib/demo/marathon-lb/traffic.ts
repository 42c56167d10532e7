// Part of the marathon-lb stand-in (not product): see README.md in this folder.
import { request } from 'node:http';

/** What a request loop saw. `failed`: no answer, or an answer from HAProxy itself (502, 503, 504). */
export interface TrafficCount {
  ok: number;
  failed: number;
  /** Answers from the app with a status >= 500 (a bad release), by body. */
  appErrors: number;
  /** 2xx bodies (the release that answered) and how often. */
  bodies: Record<string, number>;
  /** Every failed request since the loop started (kept across `reset`). */
  failures: string[];
}

/** Sends GET / with a `Host` header back to back on new connections until stopped, counting outcomes. */
export function requestLoop(url: string, host: string): { count: TrafficCount; reset(): TrafficCount; stop(): Promise<TrafficCount> } {
  let count: TrafficCount = { ok: 0, failed: 0, appErrors: 0, bodies: {}, failures: [] };
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(url, { headers: { host }, agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          if (s >= 200 && s < 300) {
            count.ok++;
            count.bodies[body] = (count.bodies[body] ?? 0) + 1;
          } else if (s === 502 || s === 503 || s === 504) {
            count.failed++;
            count.failures.push(`HTTP ${s} at ${new Date().toISOString()}`);
          } else count.appErrors++;
          resolve();
        });
      });
      req.on('error', (e) => {
        count.failed++;
        count.failures.push(`${e.message} at ${new Date().toISOString()}`);
        resolve();
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
  const loop = (async () => {
    while (running) await one();
  })();
  return {
    get count() {
      return count;
    },
    reset() {
      const before = count;
      count = { ok: 0, failed: 0, appErrors: 0, bodies: {}, failures: before.failures };
      return before;
    },
    async stop() {
      running = false;
      await loop;
      return count;
    },
  };
}
