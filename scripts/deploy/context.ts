import { Command, CommanderError, Option } from 'commander';
import { AuditLog } from '../../lib/audit/log';
import { Catalog, ENVIRONMENTS, EnvironmentName, packageOf, ServiceDefinition } from '../../lib/catalog';
import { ArtifactRef, artifactRefProblem } from '../../lib/catalog/artifact';
import { ProgressEvent } from '../../lib/deploy/types';
import { C2CError } from '../../lib/errors';
import { currentActor } from '../../lib/gate/identity';
import { authFromEnv, MarathonClient } from '../../lib/marathon/client';
import { loadCatalog } from '../../services';

/** Exit codes: part of the interface (documented in --help and docs/deploy.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2, gate: 3 } as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (including "nothing to change")
  1  the deploy failed (the message says whether it was rolled back), or Marathon failed
  2  bad usage or bad input; nothing was sent to Marathon
  3  refused by the production gate (no/other/expired approval, stale or edited plan, self-approval)

Environment:
  MARATHON_URL, MARATHON_URL_STAGING, MARATHON_URL_PRODUCTION   Marathon base URL (may carry a path prefix)
  MARATHON_CREDENTIALS (user:password, basic auth) or MARATHON_TOKEN (DC/OS token)   never printed
  DEPLOY_ACTOR   who acts (else the git user's email, else the OS user); C2C_AUDIT_LOG   audit log location
  CI             plain progress lines instead of a spinner`;

const USAGE_CODES = new Set([
  'USAGE',
  'UNKNOWN_SERVICE',
  'INVALID_DEFINITION',
  'PLAN_INVALID',
  'ROLLBACK_NO_TARGET',
  'PRODUCTION_NEEDS_PLAN',
  'IMAGE_NOT_FOUND',
]);

/** Maps an error to the CLI's exit code: GATE_* and PLAN_TAMPERED 3; bad usage/input 2; everything else 1. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (!(error instanceof C2CError)) return EXIT.failed;
  if (error.code.startsWith('GATE_') || error.code === 'PLAN_TAMPERED') return EXIT.gate;
  if (USAGE_CODES.has(error.code)) return EXIT.usage;
  return EXIT.failed;
}

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
  /** Data: stdout. */
  out(text: string): void;
  /** Data as JSON: stdout. */
  json(value: unknown): void;
  /** Messages and progress: stderr. */
  err(text: string): void;
  catalog(): Catalog;
  actor(): string;
  audit(): AuditLog;
  /** A Marathon client for an environment from `--marathon`, else `MARATHON_URL_<ENV>`, else `MARATHON_URL`. */
  client(options: { environment?: EnvironmentName; marathon?: string; timeoutSeconds: number }): MarathonClient;
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
  setExitCode(code: number): void;
}

/** Builds the context over real or test streams. */
export function createContext(io: CliIo): CliContext {
  let catalog: Catalog | undefined;
  let actor: string | undefined;
  let audit: AuditLog | undefined;
  const interactive = Boolean(io.stderr.isTTY) && !io.env.CI;
  const ctx: CliContext = {
    env: io.env,
    out: (text) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    json: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    err: (text) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    catalog: () => (catalog ??= loadCatalog()),
    actor: () => (actor ??= currentActor(io.env)),
    audit: () => (audit ??= AuditLog.open(undefined, io.env)),
    hasMarathon: (environment, marathon) => Boolean(marathonUrl(io.env, environment, marathon)),
    client: ({ environment, marathon, timeoutSeconds }) => {
      const url = marathonUrl(io.env, environment, marathon);
      if (!url) {
        const specific = environment ? `MARATHON_URL_${environment.toUpperCase()} or ` : '';
        throw new C2CError('USAGE', `no Marathon URL${environment ? ` for ${environment}` : ''}`, {
          hint: `pass --marathon URL, or set ${specific}MARATHON_URL`,
        });
      }
      return new MarathonClient({
        baseUrl: url,
        auth: authFromEnv(io.env),
        requestTimeoutMs: Math.min(10_000, Math.max(1000, timeoutSeconds * 1000)),
        onRetry: (r) => ctx.err(`  retrying ${r.method} ${r.path} (${r.reason}), attempt ${r.attempt + 1} in ${r.delayMs} ms`),
      });
    },
    progress: () => createProgress(ctx, interactive),
    action:
      (fn) =>
      async (...args) => {
        try {
          const code = await fn(...args);
          io.setExitCode(code ?? EXIT.ok);
        } catch (error) {
          io.setExitCode(reportError(ctx, error));
        }
      },
  };
  return ctx;
}

function marathonUrl(env: NodeJS.ProcessEnv, environment?: EnvironmentName, flag?: string): string | undefined {
  if (flag) return flag;
  if (environment) {
    const specific = env[`MARATHON_URL_${environment.toUpperCase()}`];
    if (specific) return specific;
  }
  return env.MARATHON_URL || undefined;
}

/** Prints `deploy: <message>` and `hint: ...` (the stack only for unexpected errors); returns the exit code. */
export function reportError(ctx: Pick<CliContext, 'err'>, error: unknown): number {
  const code = exitCodeFor(error);
  if (error instanceof CommanderError) return code;
  if (error instanceof C2CError) {
    ctx.err(`deploy: ${error.message}`);
    if (error.hint) ctx.err(`hint: ${error.hint}`);
  } else {
    const e = error as Error;
    ctx.err(`deploy: unexpected error: ${e?.message ?? String(error)}`);
    if (e?.stack) ctx.err(e.stack);
  }
  return code;
}

function createProgress(ctx: CliContext, interactive: boolean): Progress {
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
        return e.healthChecks
          ? `${e.appId}: healthy ${e.healthy} of ${e.wanted} (running ${e.running})`
          : `${e.appId}: running ${e.running} of ${e.wanted}`;
      case 'rollback':
        return `${e.appId}: rolling back: ${e.message}`;
      case 'done':
        return `${e.appId}: ${e.message}`;
      default:
        return undefined;
    }
  };
  // On a terminal, clear the spinner's line before printing so lines do not mix with it.
  const line = (s: string) => ctx.err(interactive ? `\r\x1b[K${s}` : s);
  return {
    event: (e) => {
      const s = text(e);
      if (s !== undefined) line(s);
    },
    line,
    run: async (title, work) => {
      if (!interactive) return work();
      const { spinner } = await import('zx');
      return spinner(title, work);
    },
  };
}

// ---- option helpers shared by the commands ----

/** `--timeout SECONDS` (default 300) and `--marathon URL` on a command. */
export function marathonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--timeout <seconds>', 'give up (and roll back) after this many seconds').default(300).argParser(parseSeconds))
    .option('--marathon <url>', 'Marathon base URL (default: MARATHON_URL_<ENV>, else MARATHON_URL)');
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new C2CError('USAGE', `--timeout '${value}' must be a number of seconds > 0`, { hint: 'e.g. --timeout 300' });
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
