#!/usr/bin/env node
/**
 * `npm run marathon:local`: runs the local Marathon in the foreground until SIGINT/SIGTERM, then stops every task.
 * The server itself lives in ./local-marathon (importable, never reads argv or exits).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { PortInUseError, startLocalMarathon } from './local-marathon';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected an integer from 0 to 65535');
  return n;
}

function parseCredentials(v: string): string {
  if (!/^[^:]+:.*$/.test(v)) throw new InvalidArgumentError("expected 'user:password'");
  return v;
}

async function main(): Promise<void> {
  const program = new Command('marathon-local')
    .description('A local Marathon-compatible server: REST API, deployments, real local task processes, health checks, events.')
    .option('--port <n>', 'port on 127.0.0.1 (0 = a free port)', parsePort, 8080)
    .option('--state <dir>', 'keep apps, versions and deployments in this directory (default: memory only)')
    .option('--credentials <user:pass>', 'require HTTP basic auth on every path (like --http_credentials)', parseCredentials)
    .option('--token <token>', "DC/OS mode: require 'Authorization: token=<token>'")
    .option('--images <dir>', 'local image store: <dir>/<name>/<tag>/run is run for a Docker image')
    .option('--enable-features <list>', "comma-separated Marathon features, e.g. 'secrets'", (v: string) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .option('--no-docker', 'never use docker run, even when a Docker engine answers')
    .option('--json', 'print {"url": ...} as one JSON line instead of text')
    .option('--verbose', 'log task starts, exits and errors to stderr')
    .addHelpText(
      'after',
      '\nFault injection (not in real Marathon): POST/GET/DELETE <url>/__local/faults; state dump: GET <url>/__local/state.\n' +
        'See docs/local-marathon.md.\n\nExit codes:\n  0  stopped cleanly (SIGINT/SIGTERM)\n  1  unexpected error\n  2  bad usage, or the port is in use\n',
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    throw e;
  }
  const o = program.opts<{
    port: number;
    state?: string;
    credentials?: string;
    token?: string;
    images?: string;
    enableFeatures?: string[];
    docker: boolean;
    json?: boolean;
    verbose?: boolean;
  }>();
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
      process.stderr.write(`marathon-local: ${e.message}\n`);
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
    if (!o.json) process.stderr.write(`marathon-local: ${signal}, stopping tasks\n`);
    running.close().then(
      () => {
        process.exitCode = 0;
      },
      (e: unknown) => {
        process.stderr.write(`marathon-local: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`marathon-local: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
