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
