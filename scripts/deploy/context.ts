import { AuditLog } from '../../lib/audit/log';
import { Catalog, EnvironmentName } from '../../lib/catalog';
import { DeployInFlight } from '../../lib/deploy/apply-service';
import { DEFAULT_MAX_TASK_FAILURES, DeployContext } from '../../lib/deploy/types';
import { C2CError } from '../../lib/errors';
import { CLOUDBUILD_BASE_URL } from '../../lib/gate/cloudbuild';
import { currentActor } from '../../lib/gate/identity';
import { authFromEnv, MarathonClient, RetryInfo } from '../../lib/marathon/client';
import { redactSecrets, terminalSafe } from '../../lib/terminal-safe';
import { loadTolerantCatalog } from '../../services';
import { pasteable, reportCliError, shellQuote } from '../cli-kit';
import { checkFileTarget } from './file-target';
import { createProgress, Progress } from './progress';
import { retryLine } from './retry-line';

/** Exit codes: part of the interface (documented in --help and docs/deploy.md; per error code in lib/errors.ts). */
export const EXIT = { ok: 0, failed: 1, usage: 2, gate: 3, interrupted: 130, terminated: 143 } as const;

/**
 * After the deadline, a failed deploy still gets this long to send its rollback, so that `--timeout N` ends the
 * command within N + 1 seconds.
 */
export const ROLLBACK_GRACE_MS = 800;

/** Progress lines without a terminal: one every this many ms while waiting. */
export const PLAIN_PROGRESS_EVERY_MS = 10_000;

/** What every command gets: output writers, the catalog, clients, actor, audit log, progress, exit handling. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  /** The Cloud Build API base URL: Google's, unless a test of the CLI in-process gives its own (never from env). */
  readonly cloudBuildBaseUrl: string;
  /** Data: stdout. */
  out(text: string): void;
  /** Data as JSON: stdout. */
  json(value: unknown): void;
  /** Messages and progress: stderr. */
  err(text: string): void;
  catalog(): Catalog;
  actor(): string;
  audit(): AuditLog;
  /**
   * A Marathon client for an environment from `--marathon`, else `MARATHON_URL_<ENV>`, else `MARATHON_URL`; its
   * requests, retries and waits end `timeoutSeconds` after the command started (a change, e.g. a rollback, may still be
   * sent for `changeGraceMs`), and reads stop on an interrupt.
   */
  client(options: { environment?: EnvironmentName; marathon?: string; timeoutSeconds: number; changeGraceMs?: number }): MarathonClient;
  /** What the deploy library needs for a command with `--timeout`/`--marathon`/`--max-task-failures`. */
  deployContext(options: WaitOptions, environment: EnvironmentName): DeployContext;
  /** Whether a Marathon URL is configured for the environment (flag or variables). */
  hasMarathon(environment: EnvironmentName, marathon?: string): boolean;
  progress(): Progress;
  /** Wraps a command action: maps errors to one `deploy: message` line plus `hint:`, and the exit code. */
  action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void>;
}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C/SIGTERM (reason: the signal's name). @default - never */
  readonly signal?: AbortSignal;
  /** The service catalog. @default - the repository's services/ */
  readonly catalog?: Catalog;
  /** Without a terminal, how often a `still waiting` line is printed. @default 10000 */
  readonly progressEveryMs?: number;
  /**
   * The Cloud Build API base URL `deploy remind` lists builds from: only tests of the CLI in-process set it; the
   * program (scripts/deploy.ts) never does, and no setting does.
   * @default {@link CLOUDBUILD_BASE_URL}
   */
  readonly cloudBuildBaseUrl?: string;
}

/** The options of a command that waits on Marathon (`waitOptions`). */
export interface WaitOptions {
  readonly timeout: number;
  readonly marathon?: string;
  readonly maxTaskFailures?: number;
}

/** Builds the context over real or test streams; `argv` is the command line (for the commands a message suggests). */
export function createContext(io: CliIo & { setExitCode(code: number): void }, argv: readonly string[] = []): CliContext {
  const startedAt = Date.now();
  let catalog: Catalog | undefined = io.catalog;
  let actor: string | undefined;
  let audit: AuditLog | undefined;
  const interactive = Boolean(io.stderr.isTTY) && !io.env.CI;
  let progress: Progress | undefined;
  let timeoutMs = 0;
  let retries: ((r: RetryInfo) => void) | undefined;
  const ctx: CliContext = {
    env: io.env,
    cloudBuildBaseUrl: io.cloudBuildBaseUrl ?? CLOUDBUILD_BASE_URL,
    // Every line goes through the one sanitizer: outside input (log lines, Marathon's bodies, URLs) never reaches the
    // terminal raw, and credentials are redacted.
    out: (text) => io.stdout.write(terminalSafe(text.endsWith('\n') ? text : `${text}\n`)),
    json: (value) => io.stdout.write(`${redactSecrets(JSON.stringify(value, null, 2))}\n`),
    // On a terminal, first clear a line left open by the spinner or the retry line.
    err: (text) =>
      io.stderr.write(`${interactive ? '\r\x1b[K' : ''}${terminalSafe(pasteable(io.env, text.endsWith('\n') ? text : `${text}\n`))}`),
    catalog: () => (catalog ??= io.catalog ?? loadTolerantCatalog()),
    actor: () => (actor ??= currentActor(io.env)),
    audit: () => {
      if (audit === undefined) {
        const local = io.env.C2C_AUDIT_LOG;
        if (local !== undefined && local !== '' && !local.startsWith('gs://')) checkFileTarget(local, 'C2C_AUDIT_LOG');
        audit = AuditLog.open(undefined, io.env);
      }
      return audit;
    },
    hasMarathon: (environment, marathon) => Boolean(marathonUrl(io.env, environment, marathon)),
    client: ({ environment, marathon, timeoutSeconds, changeGraceMs = 0 }) => {
      const url = marathonUrl(io.env, environment, marathon);
      if (!url) {
        const specific = environment ? `MARATHON_URL_${environment.toUpperCase()} or ` : '';
        throw new C2CError('USAGE', `no Marathon URL${environment ? ` for ${environment}` : ''}`, {
          hint: `pass --marathon URL, or set ${specific}MARATHON_URL`,
        });
      }
      return new MarathonClient({
        baseUrl: url.value,
        urlSource: url.source,
        auth: authFromEnv(io.env),
        requestTimeoutMs: Math.min(10_000, Math.max(1000, timeoutSeconds * 1000)),
        deadline: startedAt + timeoutSeconds * 1000,
        changeGraceMs,
        signal: io.signal,
        onRetry: (retries ??= retryLine({ verbose: argv.includes('--verbose'), interactive, write: (raw) => io.stderr.write(raw) })),
      });
    },
    deployContext: (options, environment) => {
      timeoutMs = options.timeout * 1000;
      const progress = ctx.progress();
      return {
        client: ctx.client({ environment, marathon: options.marathon, timeoutSeconds: options.timeout, changeGraceMs: ROLLBACK_GRACE_MS }),
        actor: ctx.actor(),
        audit: ctx.audit(),
        timeoutMs: options.timeout * 1000,
        deadline: startedAt + options.timeout * 1000,
        signal: io.signal,
        maxTaskFailures: options.maxTaskFailures ?? DEFAULT_MAX_TASK_FAILURES,
        onProgress: (e) => progress.event(e),
      };
    },
    progress: () =>
      (progress ??= createProgress({
        interactive,
        startedAt,
        timeoutMs: () => timeoutMs,
        everyMs: io.progressEveryMs ?? PLAIN_PROGRESS_EVERY_MS,
        err: (text) => ctx.err(text),
        write: (raw) => io.stderr.write(raw),
      })),
    action:
      (fn) =>
      async (...args) => {
        try {
          const code = await fn(...args);
          io.setExitCode(code ?? EXIT.ok);
        } catch (error) {
          io.setExitCode(reportError(ctx, withNextSteps(error, argv)));
        }
      },
  };
  return ctx;
}

/** The Marathon URL and where it came from (errors name the source, never the value). */
function marathonUrl(env: NodeJS.ProcessEnv, environment?: EnvironmentName, flag?: string): { value: string; source: string } | undefined {
  if (flag) return { value: flag, source: '--marathon' };
  if (environment) {
    const name = `MARATHON_URL_${environment.toUpperCase()}`;
    if (env[name]) return { value: env[name] as string, source: name };
  }
  return env.MARATHON_URL ? { value: env.MARATHON_URL, source: 'MARATHON_URL' } : undefined;
}

/** Prints `deploy: <message>` and `hint: ...` (the stack only for unexpected errors); returns the exit code. */
export function reportError(ctx: Pick<CliContext, 'err'>, error: unknown): number {
  return reportCliError('deploy', ctx, error);
}

/**
 * An interrupted apply: the hint names the one command that resumes watching (this same command line: the apply
 * finds its own deployment and waits for it) and the one that rolls it back.
 */
function withNextSteps(error: unknown, argv: readonly string[]): unknown {
  if (!(error instanceof C2CError) || (error.code !== 'INTERRUPTED' && error.code !== 'TERMINATED')) return error;
  const d = error.details as DeployInFlight | undefined;
  if (!d?.deploymentId) return error;
  const rollback = [
    'deploy',
    'rollback',
    '--service',
    d.service,
    '--env',
    d.environment,
    ...(d.environment === 'staging' ? ['--force'] : []),
  ];
  return new C2CError(error.code, error.message, {
    hint: `resume watching with '${shellQuote(['deploy', ...argv.filter((a) => a !== '--json')])}', or roll it back with '${shellQuote(rollback)}'`,
    details: d,
  });
}
