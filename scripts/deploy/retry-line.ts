// How the deploy CLI reports the Marathon client's retries: one line that updates on a terminal (one line per reason
// elsewhere), every attempt with --verbose. Several requests retry at once (the wait reads the deployments and the app
// together), so a line per retry would interleave twenty lines before the one useful error.
import { RetryInfo } from '../../lib/marathon/client';

/** Where the lines go and how. */
export interface RetryLineOptions {
  /** Print every attempt (--verbose). */
  readonly verbose: boolean;
  /** stderr is a terminal: rewrite one line in place. */
  readonly interactive: boolean;
  /** Writes raw text to stderr (no newline added). */
  readonly write: (raw: string) => void;
}

/** The client's `onRetry` for the CLI. */
export function retryLine(o: RetryLineOptions): (r: RetryInfo) => void {
  const reported = new Set<string>();
  let attempts = 0;
  return (r) => {
    attempts += 1;
    const next = `next attempt in ${(r.delayMs / 1000).toFixed(1)} s`;
    if (o.verbose) {
      o.write(`  retrying ${r.method} ${r.path} (${r.reason}), attempt ${r.attempt + 1} in ${r.delayMs} ms\n`);
    } else if (o.interactive) {
      o.write(`\r\x1b[K  Marathon does not answer (${r.reason}); retrying, ${attempts} so far, ${next} (--verbose shows each)`);
    } else if (!reported.has(r.reason)) {
      reported.add(r.reason);
      o.write(`  Marathon does not answer (${r.reason}); retrying with backoff (--verbose shows each attempt)\n`);
    }
  };
}
