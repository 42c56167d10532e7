/**
 * Runs a command (docker, the registry) to completion and returns what it printed; never throws for a non-zero exit,
 * so each caller turns a failure into its own error with the command, the service and the fix.
 */
import { spawn } from 'node:child_process';

/** What a finished command printed, and how it ended (127: it could not be started, e.g. not on PATH). */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link execCommand}. */
export interface ExecOptions {
  readonly cwd?: string;
  /** @default - inherited from this process */
  readonly env?: NodeJS.ProcessEnv;
  /** Kills the command (SIGTERM) when it fires. */
  readonly signal?: AbortSignal;
  /** @default 600000 */
  readonly timeoutMs?: number;
}

/** Runs `file args` without a shell and collects stdout and stderr. */
export function execCommand(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(file, args, {
      cwd: options.cwd,
      ...(options.env ? { env: options.env } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    // Not spawn's own `timeout`: its timer outlives a command that could not start.
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 600_000);
    const done = (r: ExecResult) => {
      clearTimeout(timer);
      resolve(r);
    };
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') done({ code: 127, stdout, stderr: `${file}: command not found` });
      else if (err.name === 'AbortError') done({ code: 130, stdout, stderr: stderr || `${file}: interrupted` });
      else done({ code: 1, stdout, stderr: stderr || err.message });
    });
    child.once('close', (code, signal) => done({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** The last non-empty lines of a command's output, for an error message. */
export function tail(text: string, lines = 5): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}
