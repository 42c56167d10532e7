#!/usr/bin/env node
/**
 * The `local-marathon` command (`npm run marathon:local` at the repository root): runs the local Marathon in the
 * foreground until SIGINT/SIGTERM, then stops every task. The server itself is `startLocalMarathon` (./index), which
 * never reads argv or the environment and never exits; this file does, once.
 */
import { parseArgs } from 'node:util';
import { PortInUseError, startLocalMarathon } from './index';

const HELP = `usage: local-marathon [options]

A local Marathon-compatible server: REST API, deployments, real local task processes, health checks, events.

Options:
  --port <n>                 port on 127.0.0.1 (0 = a free port) (default: 8080)
  --state <dir>              keep apps, versions and deployments in this directory (default: memory only)
  --credentials <user:pass>  require HTTP basic auth on every path (like --http_credentials)
  --token <token>            DC/OS mode: require 'Authorization: token=<token>'
  --images <dir>             local image store: <dir>/<name>/<tag>/run is run for a Docker image
  --enable-features <list>   comma-separated Marathon features, e.g. 'secrets'
  --no-docker                never use docker run, even when a Docker engine answers
  --json                     print {"url": ...} as one JSON line instead of text
  --verbose                  log task starts, exits and errors to stderr
  -h, --help                 print this help

Fault injection (not in real Marathon): POST/GET/DELETE <url>/__local/faults; state dump: GET <url>/__local/state.
See packages/local-marathon/README.md.

Exit codes:
  0  stopped cleanly (SIGINT/SIGTERM), or --help
  1  unexpected error
  2  bad usage, or the port is in use
`;

/** A mistake in the command line: printed as one line, exit 2. */
class UsageError extends Error {}

interface Flags {
  port: number;
  state?: string;
  credentials?: string;
  token?: string;
  images?: string;
  enableFeatures?: string[];
  docker: boolean;
  json: boolean;
  verbose: boolean;
  help: boolean;
}

function parseFlags(argv: string[]): Flags {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        state: { type: 'string' },
        credentials: { type: 'string' },
        token: { type: 'string' },
        images: { type: 'string' },
        'enable-features': { type: 'string' },
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
  if (v.credentials !== undefined && !/^[^:]+:.*$/.test(v.credentials)) throw new UsageError("--credentials: expected 'user:password'");
  return {
    port,
    state: v.state,
    credentials: v.credentials,
    token: v.token,
    images: v.images,
    enableFeatures: v['enable-features']
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    docker: !v['no-docker'],
    json: v.json ?? false,
    verbose: v.verbose ?? false,
    help: v.help ?? false,
  };
}

async function main(): Promise<void> {
  let o: Flags;
  try {
    o = parseFlags(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`local-marathon: ${e.message}\nhint: local-marathon --help lists the options\n`);
    process.exitCode = 2;
    return;
  }
  if (o.help) {
    process.stdout.write(HELP);
    return;
  }
  let server;
  try {
    server = await startLocalMarathon({
      port: o.port,
      stateDir: o.state,
      credentials: o.credentials,
      token: o.token,
      imageStore: o.images,
      enableFeatures: o.enableFeatures,
      docker: o.docker ? 'auto' : 'never',
      log: o.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
    });
  } catch (e) {
    if (e instanceof PortInUseError) {
      process.stderr.write(`local-marathon: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  process.stdout.write(
    o.json ? `${JSON.stringify({ url: server.url })}\n` : `Local Marathon listening on ${server.url} (Ctrl-C stops it and every task)\n`,
  );
  const running = server;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!o.json) process.stderr.write(`local-marathon: ${signal}, stopping tasks\n`);
    running.close().then(
      () => {
        process.exitCode = 0;
      },
      (e: unknown) => {
        process.stderr.write(`local-marathon: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`local-marathon: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
