// The main job (`npm start`: the built scripts/demo) as a child process of a test, its output collected.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../..');

export interface MainJobRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `npm start -- ARGS` (node scripts/run.mjs scripts/demo ARGS) from the checkout and resolves when it exits. */
export function runMainJobProcess(args: readonly string[]): Promise<MainJobRun> {
  const child = spawn('node', ['scripts/run.mjs', 'scripts/demo', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}
