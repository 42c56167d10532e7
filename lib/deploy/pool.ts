/**
 * Runs `worker` over `items` with at most `concurrency` at a time; results keep the input order. A worker that throws
 * does not stop the others: its slot holds the error.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<({ ok: true; value: R } | { ok: false; error: unknown })[]> {
  const results: ({ ok: true; value: R } | { ok: false; error: unknown })[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      try {
        results[i] = { ok: true, value: await worker(items[i], i) };
      } catch (error) {
        results[i] = { ok: false, error };
      }
    }
  });
  await Promise.all(lanes);
  return results;
}

const SKIPPED = Symbol('not started: an earlier item failed');

/**
 * `worker` over `items`, at most `concurrency` at a time, results in the input order; after the first failure no
 * further item starts, and once the running ones have settled the first failure (in time) is thrown.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  // The first failure in time, not in input order: a failure often stops the others, whose errors only follow from it.
  let first: { error: unknown } | undefined;
  const settled = await mapPool(items, concurrency, async (item, i) => {
    if (first) throw SKIPPED;
    try {
      return await worker(item, i);
    } catch (error) {
      first ??= { error };
      throw error;
    }
  });
  if (first) throw first.error;
  return settled.map((r) => (r as { value: R }).value);
}

/**
 * `Promise.all` that leaves nothing running: it waits for every promise to settle, then throws the first rejection (in
 * input order) or returns the values. (With `Promise.all`, a read still retrying after its sibling failed keeps a
 * finished command's process alive until its retries end.)
 */
export async function settleAll<T extends readonly unknown[] | []>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results: readonly PromiseSettledResult<unknown>[] = await Promise.allSettled(promises as readonly unknown[]);
  const values: unknown[] = [];
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    values.push(r.value);
  }
  return values as { -readonly [K in keyof T]: Awaited<T[K]> };
}
