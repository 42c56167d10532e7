// `--smoke-test DIR`: the service's catalog `smokeTest` command, run in its repository checkout against one task of
// the new colour at each step of a blue/green or canary rollout (the analysis beside HAProxy's error rate). It runs
// repository code, so it is CLI-side and opt-in: the cloud's deploy steps, which hold Marathon's credentials, never
// pass it (smoke tests run in separate builds without Marathon secrets).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ServiceDefinition, strategyOf } from '../../lib/catalog';
import { RolloutContext, SmokeResult } from '../../lib/deploy/rollout';
import { C2CError, interruption } from '../../lib/errors';
import { safeField } from '../../lib/terminal-safe';
import { callerPath } from '../cli-kit';
import { parseCount } from './options';

/** How long a smoke test may run unless `--smoke-timeout` says otherwise. */
export const DEFAULT_SMOKE_TIMEOUT_SECONDS = 120;
/** How many of the last output lines a failure shows. */
export const SMOKE_TAIL_LINES = 20;
/** Output kept while it runs (the tail of stdout and stderr together). */
const KEEP_BYTES = 64 * 1024;
/** After SIGTERM (timeout, Ctrl-C), how long the process group gets before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** What one run needs: the command, where, with which environment, for how long, and the CLI's interrupt. */
export interface SmokeRun {
  /** The catalog's `smokeTest`, run with `bash -c`. */
  readonly command: string;
  /** The service's repository checkout (the working directory). */
  readonly dir: string;
  /** The environment it gets (plus `SERVICE_URL`). */
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  /** Ctrl-C/SIGTERM: the smoke test is killed and the run rejects with INTERRUPTED/TERMINATED. */
  readonly signal?: AbortSignal;
}

/**
 * Runs the smoke test once against `url` (`http://host:port`): passes when it exits 0; otherwise the detail names the
 * exit (or the timeout) and its last output lines, control characters escaped. The command runs in its own process
 * group, so a timeout or an interrupt kills whatever it started too.
 * @throws C2CError INTERRUPTED / TERMINATED when `signal` aborts (the rollout stops where it is, both colours serve).
 */
export function runSmokeTest(run: SmokeRun, url: string): Promise<SmokeResult> {
  if (run.signal?.aborted) return Promise.reject(interruption(run.signal, 'interrupted before the smoke test'));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', run.command], {
      cwd: run.dir,
      env: { ...withoutMarathonSecrets(run.env), SERVICE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = Buffer.alloc(0);
    const keep = (chunk: Buffer) => {
      output = Buffer.concat([output, chunk]);
      if (output.length > KEEP_BYTES) output = output.subarray(output.length - KEEP_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let stopped: 'timeout' | 'signal' | null = null;
    let killer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const stop = (why: 'timeout' | 'signal') => {
      if (stopped) return;
      stopped = why;
      killGroup('SIGTERM');
      killer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), run.timeoutMs);
    const onAbort = () => stop('signal');
    run.signal?.addEventListener('abort', onAbort, { once: true });
    // When bash exits, whatever it left running in its group goes too (and so the pipes close).
    child.on('exit', () => killGroup('SIGKILL'));
    child.on('error', (error) => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      resolve({ ok: false, detail: `could not start bash: ${safeField(error.message)}` });
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      clearTimeout(killer);
      run.signal?.removeEventListener('abort', onAbort);
      if (stopped === 'signal') return reject(interruption(run.signal, `interrupted during the smoke test '${safeField(run.command)}'`));
      if (stopped === null && code === 0) return resolve({ ok: true });
      const how =
        stopped === 'timeout'
          ? `did not finish within ${run.timeoutMs / 1000} s (killed)`
          : code !== null
            ? `exited ${code}`
            : `was killed by ${sig}`;
      resolve({ ok: false, detail: `'${safeField(run.command)}' ${how}${tail(output)}` });
    });
  });
}

/**
 * The CLI's environment without what authenticates to Marathon (`MARATHON_TOKEN`, `MARATHON_CREDENTIALS`, a
 * `MARATHON_URL*` with user info): a smoke test talks to the service, never to Marathon. A mitigation, not a boundary:
 * locally it runs as the same user.
 */
export function withoutMarathonSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([k, v]) =>
        k !== 'MARATHON_TOKEN' && k !== 'MARATHON_CREDENTIALS' && !(k.startsWith('MARATHON_URL') && /:\/\/[^/?#]*@/.test(v ?? '')),
    ),
  );
}

/** `; last output: a | b | c` from the last lines, each escaped; empty without output. */
function tail(output: Buffer): string {
  const lines = output
    .toString('utf8')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-SMOKE_TAIL_LINES);
  return lines.length === 0 ? '' : `; last output: ${lines.map(safeField).join(' | ')}`;
}

/** `--smoke-test DIR` and `--smoke-timeout SECONDS` on `deploy apply` and `deploy promote`. */
export function smokeOptions(cmd: Command): Command {
  return cmd
    .option(
      '--smoke-test <dir>',
      "blue/green and canary: at each step run the service's catalog smokeTest (bash -c, in DIR, the service's repository checkout) with SERVICE_URL set to a task of the new colour; a failure aborts the rollout",
    )
    .addOption(
      new Option(
        '--smoke-timeout <seconds>',
        `with --smoke-test: a run that takes longer is killed and fails the analysis (default ${DEFAULT_SMOKE_TIMEOUT_SECONDS})`,
      ).argParser((v) => parseCount(v, '--smoke-timeout', 1, 3600)),
    );
}

/** The options `smokeOptions` adds. */
export interface SmokeOptions {
  readonly smokeTest?: string;
  readonly smokeTimeout?: number;
}

/**
 * The rollout's smoke test from `--smoke-test`, or undefined without it. Checks before anything is sent: the
 * directory exists, and the service releases by blue/green or canary (a rolling restart has no steps to analyse).
 * @throws C2CError USAGE naming the flag, the value and the fix.
 */
export function smokeTestOf(
  io: { readonly env: NodeJS.ProcessEnv; readonly signal?: AbortSignal },
  service: ServiceDefinition,
  opts: SmokeOptions,
): RolloutContext['smokeTest'] | undefined {
  if (opts.smokeTest === undefined) {
    if (opts.smokeTimeout !== undefined) {
      throw new C2CError('USAGE', '--smoke-timeout only applies with --smoke-test DIR', { hint: 'add --smoke-test DIR, or leave it out' });
    }
    return undefined;
  }
  const kind = strategyOf(service).kind;
  if (kind === 'rolling') {
    throw new C2CError(
      'USAGE',
      `--smoke-test only applies to blue/green and canary releases: ${service.name} releases by a rolling restart, which has no steps to analyse`,
      { hint: `leave out --smoke-test, and run the smoke test after the deploy (in its checkout: SERVICE_URL=... ${service.smokeTest})` },
    );
  }
  const dir = callerPath(io.env, opts.smokeTest);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new C2CError('USAGE', `--smoke-test '${opts.smokeTest}' is not a directory`, {
      hint: `pass the checkout of ${service.name}'s repository, where its smokeTest '${service.smokeTest}' runs, e.g. --smoke-test ../${service.name}`,
    });
  }
  const run: SmokeRun = {
    command: service.smokeTest,
    dir,
    env: io.env,
    timeoutMs: (opts.smokeTimeout ?? DEFAULT_SMOKE_TIMEOUT_SECONDS) * 1000,
    ...(io.signal ? { signal: io.signal } : {}),
  };
  return (url) => runSmokeTest(run, url);
}
