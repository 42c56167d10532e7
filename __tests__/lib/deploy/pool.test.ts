import { mapLimit, mapPool, settleAll } from '../../../lib/deploy/pool';

/** A worker that records how many run at once and resolves (or rejects) when told. */
function gated() {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const release = new Map<number, { ok: () => void; fail: (e: Error) => void }>();
  const worker = (n: number) =>
    new Promise<number>((resolve, reject) => {
      running++;
      most = Math.max(most, running);
      started.push(n);
      release.set(n, {
        ok: () => (running--, resolve(n * 10)),
        fail: (e) => (running--, reject(e)),
      });
    });
  return { worker, started, release, most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('mapPool', () => {
  it('keeps at most `concurrency` running, the input order in its results, and a failure in its slot', async () => {
    const g = gated();
    const p = mapPool([1, 2, 3, 4], 2, g.worker);
    await tick();
    expect(g.started).toEqual([1, 2]);
    g.release.get(2)!.fail(new Error('two'));
    await tick();
    expect(g.started).toEqual([1, 2, 3]);
    for (const n of [1, 3]) g.release.get(n)!.ok();
    await tick();
    g.release.get(4)!.ok();
    const out = await p;
    expect(out.map((r) => (r.ok ? r.value : (r.error as Error).message))).toEqual([10, 'two', 30, 40]);
    expect(g.most()).toBe(2);
  });
});

describe('mapLimit', () => {
  it('returns the values in the input order', async () => {
    await expect(mapLimit([3, 1, 2], 2, async (n) => n * 2)).resolves.toEqual([6, 2, 4]);
  });

  it('starts nothing after the first failure and throws it once the running ones have settled', async () => {
    const g = gated();
    let settled = false;
    const p = mapLimit([1, 2, 3, 4], 2, g.worker).finally(() => (settled = true));
    await tick();
    g.release.get(1)!.fail(new Error('one'));
    await tick();
    expect(g.started).toEqual([1, 2]); // 3 did not start
    expect(settled).toBe(false); // 2 still runs
    g.release.get(2)!.ok();
    await expect(p).rejects.toThrow('one');
    expect(g.started).toEqual([1, 2]);
  });

  it('throws the failure that came first in time, not the first in input order', async () => {
    const g = gated();
    const p = mapLimit([1, 2], 2, g.worker);
    await tick();
    g.release.get(2)!.fail(new Error('two, first'));
    await tick();
    g.release.get(1)!.fail(new Error('one, because two failed'));
    await expect(p).rejects.toThrow('two, first');
  });
});

describe('settleAll', () => {
  it('returns the values in order, typed per position', async () => {
    const [n, s] = await settleAll([Promise.resolve(1), Promise.resolve('two')]);
    expect([n + 1, s.length]).toEqual([2, 3]);
  });

  it('settles only once every promise has: a failure does not leave its sibling running behind the caller', async () => {
    let finish: (v: string) => void = () => undefined;
    const slow = new Promise<string>((resolve) => (finish = resolve));
    let settled = false;
    const p = settleAll([Promise.reject(new Error('first')), slow]).catch((e: Error) => {
      settled = true;
      return e.message;
    });
    await tick();
    expect(settled).toBe(false);
    finish('late');
    expect(await p).toBe('first');
  });

  it('throws the first rejection in input order', async () => {
    const later = new Promise<never>((_, reject) => setImmediate(() => reject(new Error('a'))));
    await expect(settleAll([later, Promise.reject(new Error('b'))])).rejects.toThrow('a');
  });
});
