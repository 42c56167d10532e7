// Waits the main job's strategies step and the benchmark share around the marathon-lb stand-in (not product).
import { inFlight, readRollout } from '../../deploy/rollout';
import { MarathonClient } from '../../marathon/client';
import { requestLoop } from './traffic';

/**
 * Waits until the request loop has had a 2xx answer (HAProxy serves the first release), then starts its counts afresh
 * (the failures before stay in `failures`).
 * @throws Error after `timeoutMs` without one
 */
export async function firstAnswer(traffic: ReturnType<typeof requestLoop>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (traffic.count.ok === 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `HAProxy did not serve the first release within ${timeoutMs / 1000} s: ${traffic.count.failures.slice(-1)[0] ?? 'no answer'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  traffic.reset();
}

/**
 * Waits until no rollout of `baseId` is in flight: Marathon finishes the deployment of a colour a moment after
 * HAProxy serves it (after an abort, the colour started again), and a release is refused until then.
 * @throws Error after `timeoutMs`
 */
export async function rolloutSettled(client: MarathonClient, baseId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (inFlight(await readRollout(client, baseId))) {
    if (Date.now() > deadline) throw new Error(`a rollout of ${baseId} is still in flight after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
