// What every CLI of this repository shares: commander set up to return instead of exiting, one way to print an
// error (`name: message`, `hint: ...`, the stack only for unexpected errors), exit codes from the one table in
// lib/errors.ts, and shell quoting for commands a message suggests.
import { isAbsolute, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { C2CError, exitCodeOf } from '../lib/errors';
import { terminalSafe } from '../lib/terminal-safe';

/** Where a CLI writes (process streams, or a test's). */
export interface CliWriters {
  out(text: string): void;
  err(text: string): void;
}

/** Makes commander throw instead of exiting, and write through `io`; applies to `cmd` and its sub-commands. */
export function configureCommander(cmd: Command, io: CliWriters): Command {
  const setup = (c: Command) =>
    c
      .exitOverride()
      .showHelpAfterError('(run with --help for usage)')
      .configureOutput({ writeErr: (s) => io.err(s.replace(/\n$/, '')), writeOut: (s) => io.out(s) });
  setup(cmd);
  for (const sub of cmd.commands) setup(sub);
  return cmd;
}

/** The exit code of an error: commander's help/version 0 and usage errors 2; C2CErrors by the table; else 1. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  return exitCodeOf(error);
}

/**
 * Prints `name: message` and `hint: ...` for a C2CError (commander has printed its own), and the stack only for an
 * unexpected error; returns the exit code.
 */
export function reportCliError(name: string, io: Pick<CliWriters, 'err'>, error: unknown): number {
  const code = exitCodeFor(error);
  if (error instanceof CommanderError) return code;
  // Messages carry outside input (Marathon's bodies, file names, log fields): printed through the one sanitizer.
  if (error instanceof C2CError) {
    io.err(terminalSafe(`${name}: ${error.message}`));
    if (error.hint) io.err(terminalSafe(`hint: ${error.hint}`));
  } else {
    const e = error as Error;
    io.err(terminalSafe(`${name}: unexpected error: ${e?.message ?? String(error)}`));
    if (e?.stack) io.err(terminalSafe(e.stack));
  }
  return code;
}

/** Quotes arguments for a POSIX shell, so that a suggested command can be pasted as printed. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Turns SIGINT/SIGTERM into an abort of the returned signal (its reason is the signal's name), so the command can stop
 * cleanly and say what is still running; a second signal exits at once (130 or 143). `dispose` removes the handlers.
 */
export function interruptOnSignals(
  proc: Pick<NodeJS.Process, 'on' | 'removeListener' | 'exit'>,
  onFirst: (signal: NodeJS.Signals) => void,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) proc.exit(signal === 'SIGTERM' ? 143 : 130);
    onFirst(signal);
    controller.abort(signal);
  };
  proc.on('SIGINT', handler);
  proc.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      proc.removeListener('SIGINT', handler);
      proc.removeListener('SIGTERM', handler);
    },
  };
}

/**
 * A path the user typed, resolved against the directory they typed it in: `npm run` starts scripts in the package
 * root and passes the caller's directory as INIT_CWD, so `--key ../x` from a sub-directory means what it says.
 * Unchanged when the command runs where it was typed (no npm, or npm from the root).
 */
export function callerPath(env: Readonly<Record<string, string | undefined>>, path: string): string {
  const from = env.INIT_CWD;
  if (isAbsolute(path) || !from || resolve(from) === process.cwd()) return path;
  return resolve(from, path);
}

/**
 * Commands quoted in a message (`'deploy status …'`) written the way the user can paste them: under npm
 * (`npm_lifecycle_event` is the script's name) `deploy` is not on PATH, so they read `'npm run deploy -- status …'`.
 */
export function pasteable(env: Readonly<Record<string, string | undefined>>, text: string): string {
  if (env.npm_lifecycle_event !== 'deploy') return text;
  return text.replace(/(['`])deploy (?=[a-z-]+)/g, '$1npm run deploy -- ');
}
