// What a benchmark started and must stop when the run is interrupted (Ctrl-C, SIGTERM): local Marathon servers and
// their task processes, work directories. bench/index.ts runs these before it exits.
const cleanups = new Set<() => Promise<void> | void>();

/** Registers `fn` to run on an interrupt; returns a function that unregisters it (call it when `fn` ran normally). */
export function onInterrupt(fn: () => Promise<void> | void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs every registered cleanup once (errors are reported, not thrown). */
export async function runCleanups(report: (message: string) => void): Promise<void> {
  const all = [...cleanups];
  cleanups.clear();
  await Promise.all(
    all.map(async (fn) => {
      try {
        await fn();
      } catch (err) {
        report(`bench: cleanup failed: ${(err as Error).message}`);
      }
    }),
  );
}
