/**
 * A Docker registry on a loopback port, for the main job: Debian's `docker-registry` (Distribution 2.8) with its
 * filesystem storage in the job's work directory, the stand-in for the GCS-backed registry of the platform. dockerd
 * allows plain HTTP to registries on 127.0.0.0/8, so `127.0.0.1:<port>/<name>` needs no TLS and no daemon setting.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { C2CError } from '../errors';
import { tail } from './exec';

/** The registry binaries looked for on PATH, in order (Debian names it docker-registry; upstream, registry). */
export const REGISTRY_BINARIES = ['docker-registry', 'registry'] as const;

/** The registry's configuration file (YAML): filesystem storage under `rootDirectory`, HTTP on `addr`. */
export function registryConfig(input: { rootDirectory: string; addr: string; secret: string }): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(input.rootDirectory)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${JSON.stringify(input.addr)}`,
    `  secret: ${JSON.stringify(input.secret)}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    '',
  ].join('\n');
}

/**
 * The registry binary: `explicit` when given (it must exist), else the first of {@link REGISTRY_BINARIES} on `path`.
 * @throws C2CError REGISTRY_NOT_FOUND
 */
export function findRegistryBinary(path: string, explicit?: string): string {
  if (explicit !== undefined) {
    if (existsSync(explicit)) return explicit;
    throw new C2CError('REGISTRY_NOT_FOUND', `the registry binary ${explicit} does not exist`, {
      hint: 'install it (Debian: apt-get install docker-registry), or leave the setting out to look for docker-registry on PATH',
    });
  }
  for (const bin of REGISTRY_BINARIES) {
    for (const dir of path.split(delimiter)) if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  throw new C2CError('REGISTRY_NOT_FOUND', `no Docker registry binary (${REGISTRY_BINARIES.join(' or ')}) on PATH`, {
    hint: 'install it (Debian: apt-get install docker-registry), or run the main job with --docker never',
  });
}

/** A running registry. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>`: what image references start with. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`: the registry's HTTP API. */
  readonly url: string;
  readonly pid: number;
  /** Where the registry keeps its blobs and manifests. */
  readonly storage: string;
  /** Stops the registry (SIGTERM, SIGKILL after 5 s) and waits until it has exited. */
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function stopChild(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(timer);
}

/** Polls `GET /v2/` until it answers 200; false when the process exits first or the deadline passes. */
async function waitReady(url: string, child: ChildProcess, deadline: number): Promise<boolean> {
  let gone = false;
  void exited(child).then(() => (gone = true));
  while (!gone && Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Starts a registry on a free loopback port with its storage and config under `dir` (its log is `dir/registry.log`),
 * and waits until its API answers. A port taken between choosing and binding is retried with another port.
 * @throws C2CError REGISTRY_NOT_FOUND, REGISTRY_START_FAILED
 */
export async function startRegistry(options: {
  dir: string;
  /** Where the binary is looked for (the CLI passes its PATH). */
  path: string;
  /** @default - the first of REGISTRY_BINARIES on `path` */
  binary?: string;
  /** @default 15000 */
  timeoutMs?: number;
}): Promise<LocalRegistry> {
  const binary = findRegistryBinary(options.path, options.binary);
  const storage = join(options.dir, 'storage');
  await mkdir(storage, { recursive: true });
  const config = join(options.dir, 'config.yml');
  const log = join(options.dir, 'registry.log');
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    await writeFile(config, registryConfig({ rootDirectory: storage, addr: host, secret: randomBytes(16).toString('hex') }));
    await rm(log, { force: true });
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(binary, ['serve', config], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const spawnError = new Promise<Error | undefined>((r) => {
      child.once('error', r);
      child.once('spawn', () => r(undefined));
    });
    const err = await spawnError;
    if (err) throw new C2CError('REGISTRY_START_FAILED', `could not start ${binary} serve ${config}: ${err.message}`);
    const url = `http://${host}`;
    if (await waitReady(url, child, Date.now() + (options.timeoutMs ?? 15_000))) {
      return { host, url, pid: child.pid ?? 0, storage, close: () => stopChild(child) };
    }
    await stopChild(child);
    lastLog = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (!/address already in use/.test(lastLog)) break;
  }
  throw new C2CError(
    'REGISTRY_START_FAILED',
    `${binary} serve ${config} did not answer on GET /v2/:\n${tail(lastLog, 6) || '(no output)'}`,
    {
      hint: `run it alone to see why: ${binary} serve ${config}`,
    },
  );
}
