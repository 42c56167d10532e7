/**
 * The fallback for a Docker image that nothing else can run. The task's process is a shell that sleeps (a real process
 * group: signals, exit codes and the orphan record work as for any task), and the server answers 200 `ok` on every
 * assigned port for as long as that process lives, so health checks pass. It ignores the app's `cmd` and `args`.
 * (A Node process per task that served the ports itself cost about 0.13 s of CPU to start on a 2-core machine; the
 * shell costs a few milliseconds.)
 */
import { createServer } from 'node:http';
import { Launcher } from './types';

/** Exits 0 on SIGTERM, as the task of a well-behaved image does; the `sleep` goes with the group's signal. */
const HOLD = 'trap "exit 0" TERM; sleep 2147483647 & wait';

/** The stand-in runner kind. */
export function standInLauncher(): Launcher {
  return {
    kind: 'stand-in',
    async command({ spec }) {
      return { file: '/bin/sh', argv: ['-c', HOLD], serve: spec.ports };
    },
  };
}

/** HTTP servers answering 200 `ok` on `ports` (127.0.0.1); `close` drops them and their connections, as an exit would. */
export interface OkServers {
  close(): void;
}

/**
 * Listens on every port; rejects with the first listen error (a port taken), after closing the ones that listened.
 */
export async function answerOk(ports: readonly number[]): Promise<OkServers> {
  const servers = ports.map(() =>
    createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    }),
  );
  const close = () => {
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
  };
  const listening = servers.map(
    (s, i) =>
      new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(ports[i], '127.0.0.1', () => resolve());
      }),
  );
  const failed = (await Promise.allSettled(listening)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    close();
    throw failed.reason;
  }
  return { close };
}
