import { ProgressEvent } from '../../lib/deploy/types';
import { safeField, terminalSafe } from '../../lib/terminal-safe';

/** Reports progress: a zx spinner on a terminal, plain lines on stderr otherwise (or when CI is set). */
export interface Progress {
  event(e: ProgressEvent): void;
  line(text: string): void;
  /** Runs `work` under a spinner titled `title` (terminal only). */
  run<T>(title: string, work: () => Promise<T>): Promise<T>;
}

/**
 * The progress reporter: on a terminal a spinner (redrawn every 100 ms) with lines printed above it; otherwise plain
 * lines, and a `still waiting` line every `everyMs`.
 */
export function createProgress(o: {
  interactive: boolean;
  startedAt: number;
  timeoutMs: () => number;
  everyMs: number;
  /** A line of text (stderr). */
  err: (text: string) => void;
  /** Raw bytes (stderr), for the spinner. */
  write: (raw: string) => void;
}): Progress {
  let summary = '';
  let outage: string | undefined;
  const text = (e: ProgressEvent): string | undefined => {
    if (e.kind !== 'outage') outage = undefined;
    switch (e.kind) {
      case 'phase':
        return `${e.appId}: ${e.message}`;
      case 'submitted':
        return `${e.appId}: deployment ${e.deploymentId} started (version ${e.version})`;
      case 'waiting-for-lock':
        return `${e.appId}: locked by deployment ${e.deploymentIds.join(', ') || '(unknown)'}; waiting for it`;
      case 'step':
        return `${e.appId}: step ${e.currentStep} of ${e.totalSteps}${e.actions.length ? ` (${e.actions.join(', ')})` : ''}`;
      case 'tasks':
        summary = e.healthChecks ? `${e.healthy} of ${e.wanted} healthy` : `${e.running} of ${e.wanted} running`;
        return e.healthChecks
          ? `${e.appId}: healthy ${e.healthy} of ${e.wanted} (running ${e.running})`
          : `${e.appId}: running ${e.running} of ${e.wanted}`;
      case 'rollback':
        return `${e.appId}: rolling back: ${e.message}`;
      case 'outage':
        // Once per outage: the wait polls again and again, the line would repeat.
        if (outage === e.message) return undefined;
        outage = e.message;
        return `${e.appId}: Marathon does not answer (${e.message}); still polling until the deadline`;
      case 'done':
        return `${e.appId}: ${e.message}`;
      default:
        return undefined;
    }
  };
  // On a terminal, clear the spinner's line before printing so lines do not mix with it.
  // Lines carry outside input (app ids, Marathon's messages): the escape that clears the spinner is ours, the rest is
  // printed through the one sanitizer.
  const line = (s: string) => (o.interactive ? o.write(`\r\x1b[K${terminalSafe(s)}\n`) : o.err(s));
  const clock = () => {
    const total = o.timeoutMs();
    return `${Math.round((Date.now() - o.startedAt) / 1000)} s${total > 0 ? ` of ${Math.round(total / 1000)} s` : ''}`;
  };
  return {
    event: (e) => {
      const s = text(e);
      if (s !== undefined) line(s);
    },
    line,
    run: async (title, work) => {
      const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
      let frame = 0;
      const timer = o.interactive
        ? setInterval(() => {
            frame = (frame + 1) % frames.length;
            o.write(`\r\x1b[K${frames[frame]} ${safeField(`${title}${summary ? `: ${summary}` : ''}`)}, ${clock()}`);
          }, 100)
        : setInterval(() => o.err(`still waiting: ${summary || title}, ${clock()}`), o.everyMs);
      timer.unref();
      try {
        return await work();
      } finally {
        clearInterval(timer);
        if (o.interactive) o.write('\r\x1b[K');
      }
    },
  };
}
