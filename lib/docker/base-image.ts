/**
 * The local base image: nothing can be pulled from outside on a build machine without a registry mirror, so the
 * image a service's Dockerfile starts `FROM` (`ARG BASE_IMAGE`) is made here from this machine's own Node runtime.
 * A root filesystem holding `node`, `npm`, `/bin/sh`, `grep`, `env`, the shared libraries they load (as `ldd` lists
 * them), `/etc/passwd` with a `node` user (uid 1000, as the public Node images have) and `/tmp`, imported with
 * `docker import`. The tag names the Node version, so a new runtime makes a new image and the same one is reused.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { C2CError } from '../errors';
import { probeDockerEngine } from './engine';
import { execCommand, ExecResult } from './exec';

/** The tag of the base image for this Node version. */
export function baseImageTag(nodeVersion: string = process.versions.node): string {
  return `c2c-base/node:${nodeVersion}`;
}

/** What {@link ensureBaseImage} did. */
export interface BaseImageResult {
  image: string;
  /** The image id (`sha256:...`). */
  id: string;
  /** False when the image already existed. */
  created: boolean;
  seconds: number;
}

const run = (file: string, args: string[], timeoutMs = 120_000) => execCommand(file, args, { timeoutMs });

/** The shared libraries a binary loads, as absolute paths (ldd's `=> /path` and the loader line). */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/** Where the files of the root filesystem come from: the running Node and the shell tools next to it. */
export interface RootfsSources {
  node: string;
  /** npm's package directory (holds bin/npm-cli.js). */
  npm: string;
  sh: string;
  grep: string;
  env: string;
}

async function which(bin: string): Promise<string> {
  const r = await run('sh', ['-c', `command -v ${bin}`]);
  if (r.code !== 0 || !r.stdout.trim()) throw new C2CError('DOCKER_NOT_FOUND', `'${bin}' is not on PATH; the base image needs it`);
  return resolve(r.stdout.trim());
}

async function defaultSources(): Promise<RootfsSources> {
  const prefix = join(dirname(process.execPath), '..');
  const npm = [join(prefix, 'lib/node_modules/npm'), '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm'].find((d) =>
    existsSync(join(d, 'bin/npm-cli.js')),
  );
  if (!npm) throw new C2CError('DOCKER_BUILD_FAILED', `npm not found next to ${process.execPath}; the base image needs it`);
  return { node: process.execPath, npm, sh: await which('sh'), grep: await which('grep'), env: await which('env') };
}

/** Copies a file to the same absolute path under `root`, following symlinks (the target's bytes, the link's name). */
function place(root: string, path: string, from = path): void {
  const to = join(root, path);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, statSync(from).mode & 0o777);
}

/** Writes the root filesystem into `root`. */
export async function writeRootfs(root: string, src: RootfsSources): Promise<void> {
  const bins: Array<[string, string]> = [
    [src.node, '/usr/bin/node'],
    [src.sh, '/bin/sh'],
    [src.grep, '/bin/grep'],
    [src.env, '/usr/bin/env'],
  ];
  const libs = new Set<string>();
  for (const [from, to] of bins) {
    place(root, to, from);
    const r = await run('ldd', [from]);
    if (r.code === 0) for (const lib of parseLdd(r.stdout)) libs.add(lib);
  }
  for (const lib of libs) place(root, lib);
  mkdirSync(join(root, 'usr/lib/node_modules'), { recursive: true });
  const cp = await run('cp', ['-a', src.npm, join(root, 'usr/lib/node_modules/npm')], 60_000);
  if (cp.code !== 0) throw new C2CError('DOCKER_BUILD_FAILED', `could not copy npm from ${src.npm}: ${cp.stderr.trim()}`);
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/bin/npx'));
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
  for (const dir of ['tmp', 'root', 'home/node', 'app']) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
}

function importTar(root: string, image: string, nodeVersion: string): Promise<ExecResult> {
  const changes = [
    'ENV PATH=/usr/local/bin:/usr/bin:/bin',
    `ENV NODE_VERSION=${nodeVersion}`,
    'LABEL org.opencontainers.image.title=c2c-base-node',
    'WORKDIR /',
    'CMD ["node"]',
  ];
  return new Promise((resolvePromise) => {
    const tar = spawn('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const imp = spawn('docker', ['import', ...changes.flatMap((c) => ['--change', c]), '-', image], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    tar.stdout.pipe(imp.stdin);
    tar.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    imp.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    imp.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    imp.on('error', (e) => resolvePromise({ code: 127, stdout, stderr: e.message }));
    imp.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });
}

/** Makes the base image unless it exists (or `force`); needs a Docker engine. */
export async function ensureBaseImage(
  options: { image?: string; force?: boolean; sources?: RootfsSources } = {},
): Promise<BaseImageResult> {
  const started = Date.now();
  const image = options.image ?? baseImageTag();
  const engine = await probeDockerEngine();
  if (!engine.available) {
    throw new C2CError('DOCKER_NOT_FOUND', `cannot make ${image}: ${engine.reason}`, {
      hint: 'start the engine (`dockerd &`, or `sudo systemctl start docker`); Debian installs it with apt-get install docker.io',
    });
  }
  const existing = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
  if (existing.code === 0 && !options.force)
    return { image, id: existing.stdout.trim(), created: false, seconds: (Date.now() - started) / 1000 };
  const root = mkdtempSync(join(tmpdir(), 'c2c-base-'));
  try {
    await writeRootfs(root, options.sources ?? (await defaultSources()));
    const r = await importTar(root, image, process.versions.node);
    if (r.code !== 0) throw new C2CError('DOCKER_BUILD_FAILED', `docker import of ${image} failed: ${r.stderr.trim()}`);
    return { image, id: r.stdout.trim(), created: true, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
