import { Command, Option } from 'commander';
import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AuditLog } from '../../lib/audit/log';
import { Catalog, ENVIRONMENTS, EnvironmentName, packageOf, ServiceDefinition } from '../../lib/catalog';
import { ArtifactRef, artifactRefProblem } from '../../lib/catalog/artifact';
import { DeployInFlight } from '../../lib/deploy/apply';
import { DEFAULT_MAX_TASK_FAILURES, DeployContext, ProgressEvent } from '../../lib/deploy/types';
import { C2CError } from '../../lib/errors';
import { CLOUDBUILD_BASE_URL } from '../../lib/gate/cloudbuild';
import { currentActor } from '../../lib/gate/identity';
import { authFromEnv, MarathonClient } from '../../lib/marathon/client';
import { loadCatalog } from '../../services';
import { exitCodeFor, reportCliError, shellQuote } from '../cli-kit';

/** Exit codes: part of the interface (documented in --help and docs/deploy.md; per error code in lib/errors.ts). */
export const EXIT = { ok: 0, failed: 1, usage: 2, gate: 3, interrupted: 130, terminated: 143 } as const;

/**
 * After the deadline, a failed deploy still gets this long to send its rollback, so that `--timeout N` ends the
 * command within N + 1 seconds.
 */
export const ROLLBACK_GRACE_MS = 800;

/** Progress lines without a terminal: one every this many ms while waiting. */
export const PLAIN_PROGRESS_EVERY_MS = 10_000;

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (including "nothing to change")
  1  the deploy failed (the message says whether it was rolled back), or Marathon failed
  2  bad usage or bad input; nothing was sent to Marathon
  3  refused by the production gate (no/other/expired approval, stale or edited plan, self-approval)
  130, 143  interrupted by Ctrl-C (SIGINT) or SIGTERM: waiting stopped, the message says what keeps running

Environment:
  MARATHON_URL, MARATHON_URL_STAGING, MARATHON_URL_PRODUCTION   Marathon base URL (may carry a path prefix)
  MARATHON_CREDENTIALS (user:password, basic auth) or MARATHON_TOKEN (DC/OS token)   never printed
  DEPLOY_ACTOR   who acts (else the git user's email, else the OS user); C2C_AUDIT_LOG   audit log location
  CI             plain progress lines instead of a spinner`;

export { exitCodeFor };

/** Reports progress: a zx spinner on a terminal, plain lines on stderr otherwise (or when CI is set). */
export interface Progress {
  event(e: ProgressEvent): void;
  line(text: string): void;
  /** Runs `work` under a spinner titled `title` (terminal only). */
  run<T>(title: string, work: () => Promise<T>): Promise<T>;
}

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
  const ctx: CliContext = {
    env: io.env,
    cloudBuildBaseUrl: io.cloudBuildBaseUrl ?? CLOUDBUILD_BASE_URL,
    out: (text) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    json: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    err: (text) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    catalog: () => (catalog ??= io.catalog ?? loadCatalog()),
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
        onRetry: (r) => ctx.err(`  retrying ${r.method} ${r.path} (${r.reason}), attempt ${r.attempt + 1} in ${r.delayMs} ms`),
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
      (progress ??= createProgress(ctx, {
        interactive,
        startedAt,
        timeoutMs: () => timeoutMs,
        everyMs: io.progressEveryMs ?? PLAIN_PROGRESS_EVERY_MS,
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

function createProgress(
  ctx: CliContext,
  o: { interactive: boolean; startedAt: number; timeoutMs: () => number; everyMs: number; write: (raw: string) => void },
): Progress {
  let summary = '';
  const text = (e: ProgressEvent): string | undefined => {
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
        return `${e.appId}: Marathon does not answer (${e.message}); still polling until the deadline`;
      case 'done':
        return `${e.appId}: ${e.message}`;
      default:
        return undefined;
    }
  };
  // On a terminal, clear the spinner's line before printing so lines do not mix with it.
  const line = (s: string) => ctx.err(o.interactive ? `\r\x1b[K${s}` : s);
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
            o.write(`\r\x1b[K${frames[frame]} ${title}${summary ? `: ${summary}` : ''}, ${clock()}`);
          }, 100)
        : setInterval(() => ctx.err(`still waiting: ${summary || title}, ${clock()}`), o.everyMs);
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

// ---- option helpers shared by the commands ----

/** `--max-task-failures N` (default 3) on a command that waits for a deployment, plus `marathonOptions`. */
export function waitOptions(cmd: Command): Command {
  return marathonOptions(cmd).addOption(
    new Option('--max-task-failures <n>', 'stop waiting and roll back after this many failed tasks of the new version')
      .default(DEFAULT_MAX_TASK_FAILURES)
      .argParser((v) => parseCount(v, '--max-task-failures', 1, 100)),
  );
}

/** A whole number from `min` to `max` given for `flag`. */
export function parseCount(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new C2CError('USAGE', `${flag} '${value}' must be a whole number from ${min} to ${max}`, { hint: `e.g. ${flag} ${min + 1}` });
  }
  return n;
}

/** `--timeout SECONDS` (default 300) and `--marathon URL` on a command. */
export function marathonOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--timeout <seconds>', 'the whole command ends within this many seconds (a failed deploy is rolled back), at least 1')
        .default(300)
        .argParser(parseSeconds),
    )
    .option('--marathon <url>', 'Marathon base URL (default: MARATHON_URL_<ENV>, else MARATHON_URL)');
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 86_400) {
    throw new C2CError('USAGE', `--timeout '${value}' must be a number of seconds from 1 to 86400`, { hint: 'e.g. --timeout 300' });
  }
  return n;
}

export function parseEnvironment(value: string | undefined, flag = '--env'): EnvironmentName {
  if (value === undefined) {
    throw new C2CError('USAGE', `${flag} is required`, { hint: `give ${flag} ${ENVIRONMENTS.join(' or ')}` });
  }
  if (!(ENVIRONMENTS as readonly string[]).includes(value)) {
    throw new C2CError('USAGE', `${flag} '${value}' is not an environment`, { hint: `use ${ENVIRONMENTS.join(' or ')}` });
  }
  return value as EnvironmentName;
}

export function requireOption(value: string | undefined, flag: string, example: string): string {
  if (value === undefined || value.trim() === '') {
    throw new C2CError('USAGE', `${flag} is required`, { hint: `e.g. ${flag} ${example}` });
  }
  return value;
}

/** An image reference: no spaces, a repository and a tag or digest. */
export function parseImage(value: string | undefined): string {
  const image = requireOption(value, '--image', 'registry.internal:5000/bulb-api:3f2a9c1');
  if (/\s/.test(image) || !/^[a-z0-9][^\s]*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/.test(image)) {
    throw new C2CError('USAGE', `--image '${image}' is not an image reference with a tag or digest`, {
      hint: 'give registry/repository:tag, e.g. registry.internal:5000/bulb-api:3f2a9c1',
    });
  }
  return image;
}

/**
 * Checks, before anything is sent or recorded, that a file can be written at `path` (named `what` in the message): not
 * a directory, in a directory where a file can be created (probed with a file that is removed at once).
 * @throws C2CError FILE_TARGET (exit 2)
 */
export function checkFileTarget(path: string, what: string): void {
  const bad = (why: string) =>
    new C2CError('FILE_TARGET', `${what} '${path}' ${why}`, { hint: 'give the path of a file in a directory you can write to' });
  const full = resolve(path);
  const stat = statSync(full, { throwIfNoEntry: false });
  if (stat?.isDirectory()) throw bad('is a directory');
  if (stat && !stat.isFile()) throw bad('is not a regular file');
  let dir = dirname(full);
  for (let up = statSync(dir, { throwIfNoEntry: false }); up === undefined; up = statSync(dir, { throwIfNoEntry: false })) {
    if (dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw bad(`cannot be created: ${dir} is not a directory`);
  const probe = join(dir, `.c2c-probe-${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw bad(`cannot be written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} in ${dir}`);
  }
}

/** An http(s) base URL given for `flag`; user info is never echoed. */
export function parseHttpUrl(value: string, flag: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new C2CError('USAGE', `${flag} must be an http(s) URL`, { hint: `e.g. ${flag} https://registry.internal:5000` });
  }
  return value;
}

/** A commit id as git prints it: 7 to 40 hex digits (it becomes the `c2c.commit` label). */
export function parseCommit(value: string): string {
  if (!/^[0-9a-f]{7,40}$/.test(value)) {
    throw new C2CError('USAGE', '--commit must be a commit sha (7 to 40 hex digits)', { hint: 'e.g. --commit $(git rev-parse HEAD)' });
  }
  return value;
}

/** When the commit was made: an ISO date-time, not in the future (it starts the DORA lead time). */
export function parseCommitTime(value: string, now: Date = new Date()): string {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) {
    throw new C2CError('USAGE', `--commit-time '${value}' is not an ISO date-time`, {
      hint: 'e.g. --commit-time $(git show -s --format=%cI HEAD)',
    });
  }
  if (t > now.getTime() + 5 * 60_000) {
    throw new C2CError('USAGE', `--commit-time '${value}' is in the future`, {
      hint: 'give the time the commit was made (git show -s --format=%cI)',
    });
  }
  return value;
}

/**
 * What a deploy of `service` runs: `--image` for an image service (an upstream image defaults to the one its service
 * file pins), `--artifact URI --sha256 HEX` for an artifact service. `image` is the text shown and recorded for it
 * (for an artifact, its URI).
 */
export function parsePackage(
  service: ServiceDefinition,
  opts: { image?: string; artifact?: string; sha256?: string },
): { image: string; artifact?: ArtifactRef } {
  const pkg = packageOf(service);
  if (pkg.kind === 'artifact') {
    if (opts.image !== undefined) {
      throw new C2CError('USAGE', `${service.name} is deployed as an artifact, not an image`, {
        hint: 'give --artifact URI --sha256 HEX (the URI the build uploaded the file to and its SHA-256)',
      });
    }
    const artifact = {
      uri: requireOption(opts.artifact, '--artifact', 'https://storage.googleapis.com/BUCKET/artifacts/NAME/COMMIT/SHA256/app.tar.gz'),
      sha256: requireOption(opts.sha256, '--sha256', "$(sha256sum dist/app.tar.gz | cut -d' ' -f1)"),
    };
    const problem = artifactRefProblem(artifact);
    if (problem) {
      const flag = problem.field === 'uri' ? '--artifact' : '--sha256';
      throw new C2CError('USAGE', `${flag} '${artifact[problem.field]}' ${problem.message}`, { hint: `see 'deploy apply --help'` });
    }
    return { image: artifact.uri, artifact };
  }
  if (opts.artifact !== undefined || opts.sha256 !== undefined) {
    throw new C2CError('USAGE', `${service.name} is deployed as an image; --artifact and --sha256 are for artifact services`, {
      hint: 'give --image IMAGE',
    });
  }
  return { image: parseImage(opts.image ?? (pkg.kind === 'upstream-image' ? pkg.image : undefined)) };
}

/** Adds the exit-code and environment help to a command. */
export function withExitHelp(cmd: Command): Command {
  return cmd.addHelpText('after', EXIT_CODES_HELP);
}
