#!/usr/bin/env node
/**
 * The `local-marathon` command (`npm run marathon:local` at the repository root): runs the local Marathon in the
 * foreground until SIGINT/SIGTERM, then stops every task. The server itself is `startLocalMarathon` (./index), which
 * never reads argv or the environment and never exits; this file does, once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KNOWN_FEATURES, LocalMarathon, LocalMarathonConfigError, PortInUseError, startLocalMarathon } from './index';

const HELP = `usage: local-marathon [options]

A local Marathon-compatible server: REST API, deployments, real local task processes, health checks, events.

Options:
  --port <n>                 port on 127.0.0.1 (0 = a free port) (default: 8080)
  --state <dir>              keep apps, versions and deployments in this directory (default: memory only)
  --credentials-file <file>  require HTTP basic auth on every path (like --http_credentials); the file holds
                             'user:password' (or set LOCAL_MARATHON_CREDENTIALS)
  --token-file <file>        DC/OS mode: require 'Authorization: token=<token>'; the file holds the token
                             (or set LOCAL_MARATHON_TOKEN)
  --allowed-hosts <list>     comma-separated host names accepted in the Host header besides 127.0.0.1,
                             localhost and [::1]; any other Host gets 403 (against DNS rebinding)
  --images <dir>             local image store: <dir>/<name>/<tag>/run is run for a Docker image
  --enable-features <list>   comma-separated Marathon features: ${KNOWN_FEATURES.join(', ')}
  --docker <auto|never>      auto (default): Docker apps run as containers when a Docker engine answers
                             (docker info); never: they run as a local stand-in process, no engine needed
  --no-docker                the same as --docker never
  --json                     print {"url": ...} as one JSON line instead of text
  --verbose                  log task starts, exits and errors to stderr
  -h, --help                 print this help

Credentials and tokens are never taken from the command line, where every user sees them in ps.
Not in real Marathon, behind the same auth: <url>/__local/info, /__local/tasks, /__local/faults (fault
injection), /__local/state. See packages/local-marathon/README.md.

Exit codes:
  0  stopped cleanly (SIGINT/SIGTERM), or --help
  1  unexpected error
  2  bad usage (unknown flag, bad value, --state not a directory, a corrupt state file, --images missing,
     an unknown feature), or the port is in use; nothing was started or written
`;

/** A mistake in the command line: printed as one line plus a hint, exit 2. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly hint = 'local-marathon --help lists the options',
  ) {
    super(message);
  }
}

interface Flags {
  port: number;
  state?: string;
  credentials?: string;
  token?: string;
  allowedHosts?: string[];
  images?: string;
  enableFeatures?: string[];
  docker: boolean;
  json: boolean;
  verbose: boolean;
  help: boolean;
}

/** A secret from a file (one line; the trailing newline dropped) or else from an environment variable. */
function secret(file: string | undefined, env: string | undefined, flag: string): string | undefined {
  if (file === undefined) return env === '' ? undefined : env;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new UsageError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, `give a readable file`);
  }
}

const list = (v: string | undefined): string[] | undefined =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function parseFlags(argv: string[], env: NodeJS.ProcessEnv): Flags {
  for (const arg of argv) {
    const name = /^--(credentials|token)(=|$)/.exec(arg)?.[1];
    if (name) {
      throw new UsageError(
        `--${name} is not accepted: a value on the command line shows in ps`,
        `set LOCAL_MARATHON_${name.toUpperCase()} or use --${name}-file`,
      );
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        state: { type: 'string' },
        'credentials-file': { type: 'string' },
        'token-file': { type: 'string' },
        'allowed-hosts': { type: 'string' },
        images: { type: 'string' },
        'enable-features': { type: 'string' },
        docker: { type: 'string' },
        'no-docker': { type: 'boolean' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.split(/\.\s/)[0] : String(e));
  }
  const v = parsed.values;
  let port = 8080;
  if (v.port !== undefined) {
    port = Number(v.port);
    if (v.port.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port '${v.port}': expected an integer from 0 to 65535`);
  }
  for (const [flag, value] of [
    ['--state', v.state],
    ['--images', v.images],
    ['--credentials-file', v['credentials-file']],
    ['--token-file', v['token-file']],
  ] as const) {
    if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} needs a path, got an empty value`);
  }
  if (v.docker !== undefined && v.docker !== 'auto' && v.docker !== 'never') {
    throw new UsageError(`--docker '${v.docker}': expected auto or never`, 'use --docker never to run Docker apps without an engine');
  }
  if (v.images !== undefined && !existsSync(v.images)) {
    throw new UsageError(`--images ${v.images} is not a directory`, 'give an existing image store directory: <dir>/<name>/<tag>/run');
  }
  return {
    port,
    state: v.state,
    credentials: secret(v['credentials-file'], env.LOCAL_MARATHON_CREDENTIALS, '--credentials-file'),
    token: secret(v['token-file'], env.LOCAL_MARATHON_TOKEN, '--token-file'),
    allowedHosts: list(v['allowed-hosts']),
    images: v.images,
    enableFeatures: list(v['enable-features']),
    docker: !v['no-docker'] && v.docker !== 'never',
    json: v.json ?? false,
    verbose: v.verbose ?? false,
    help: v.help ?? false,
  };
}

async function main(): Promise<void> {
  let o: Flags;
  try {
    o = parseFlags(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`local-marathon: ${e.message}\nhint: ${e.hint}\n`);
    process.exitCode = 2;
    return;
  }
  if (o.help) {
    process.stdout.write(HELP);
    return;
  }
  // The signal handlers come first: a SIGTERM that arrives while the server starts (a --state restart may start tasks
  // then) or right after the URL line (a harness that stops it as soon as it is up) would otherwise kill the process
  // with its default action and leave every task running.
  let server: LocalMarathon | undefined;
  let stopping = false;
  const close = (running: LocalMarathon) =>
    running.close().then(
      () => {
        process.exitCode = 0;
      },
      (e: unknown) => {
        process.stderr.write(`local-marathon: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!o.json) process.stderr.write(`local-marathon: ${signal}, stopping tasks\n`);
    if (server) void close(server);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    server = await startLocalMarathon({
      port: o.port,
      stateDir: o.state,
      credentials: o.credentials,
      token: o.token,
      allowedHosts: o.allowedHosts,
      imageStore: o.images,
      enableFeatures: o.enableFeatures,
      docker: o.docker ? 'auto' : 'never',
      hostEnv: process.env,
      log: o.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
    });
  } catch (e) {
    if (e instanceof LocalMarathonConfigError) {
      process.stderr.write(`local-marathon: ${e.message}\nhint: ${e.hint}\n`);
      process.exitCode = 2;
      return;
    }
    if (e instanceof PortInUseError) {
      process.stderr.write(`local-marathon: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  // Stopped while it started: it stops now, and never says it is up.
  if (stopping) return void close(server);
  process.stdout.write(
    o.json ? `${JSON.stringify({ url: server.url })}\n` : `Local Marathon listening on ${server.url} (Ctrl-C stops it and every task)\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`local-marathon: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
