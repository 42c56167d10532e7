// Composes the platform: one App, the platform stack and one stack per service (each with a GCS state backend).
// This is the synth command (`npm run synth`, `cdktf synth/deploy`): it reads the environment once, and a mistake in
// the settings or the services is one message and exit code 2, never a stack trace.
import { findRepoRoot } from './constructs/settings';
import { synthesize } from './constructs/synth';
import { C2CError } from './lib/errors';

/** A user mistake (a catalog rule, a setting) as its one-line messages and a hint, exit 2; anything else keeps its stack. */
function reportSynthError(e: unknown): number {
  if (!(e instanceof C2CError)) throw e;
  for (const line of e.message.split('\n')) process.stderr.write(`synth: ${line}\n`);
  process.stderr.write(`hint: ${e.hint ?? "fix the field named above (services/<name>.ts), then run 'npm run synth' again"}\n`);
  return 2;
}

try {
  synthesize(process.env, { root: findRepoRoot(__dirname) });
} catch (e) {
  process.exitCode = reportSynthError(e);
}
