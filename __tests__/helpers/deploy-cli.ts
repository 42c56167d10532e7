import { main } from '../../scripts/deploy/cli';
import { CliIo } from '../../scripts/deploy/context';
import { sink } from './sink';

/** What one in-process run of the deploy CLI printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the deploy CLI in-process (`main(args, io)`) with `io` (its env, catalog, signal, ...), capturing both streams;
 * a stream `io` gives (a test's own tee) is used instead, and what it receives is then not in the result.
 */
export async function runDeployCli(args: string[], io: Partial<CliIo> & Pick<CliIo, 'env'>): Promise<CliRun> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, ...io });
  return { code, stdout: out.text(), stderr: err.text() };
}
