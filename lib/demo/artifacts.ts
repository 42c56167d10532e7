/**
 * Artifact services in the main job: a loopback stand-in for the artifact bucket (what `gsutil cp` to the GCS bucket
 * and Marathon's fetcher reading it over HTTPS do in the cloud), and the push trigger's build of an artifact: the
 * service's build command, then the tarball stored under its commit and SHA-256.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { dirname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ArtifactRef, artifactFile, artifactObjectName } from '../catalog/artifact';
import { buildCommand, buildOf, packageOf, ServiceDefinition } from '../catalog/types';
import { C2CError } from '../errors';

/** A running stand-in for the artifact bucket: objects are files under `dir`, served read-only at `url/<object>`. */
export interface ArtifactBucket {
  readonly url: string;
  readonly dir: string;
  /** Objects served (GET with a 200), for showing that the fetcher read the bucket. */
  readonly downloads: () => number;
  /** Stores a file as an object (as `gsutil cp FILE gs://bucket/OBJECT`); returns the object's URI. */
  put(objectName: string, file: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts the bucket stand-in on 127.0.0.1 (a free port). */
export async function startArtifactBucket(dir: string): Promise<ArtifactBucket> {
  await mkdir(dir, { recursive: true });
  let downloads = 0;
  const server = createServer((req, res) => {
    const object = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^\/+/, '');
    const path = join(dir, object);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || object.startsWith('..') || !path.startsWith(dir + sep)) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405).end();
      return;
    }
    stat(path).then(
      (st) => {
        if (!st.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
        if (req.method === 'HEAD') return void res.end();
        downloads++;
        pipeline(createReadStream(path), res).catch(() => res.destroy());
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    dir,
    downloads: () => downloads,
    async put(objectName, file) {
      const dest = join(dir, objectName);
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(file, dest);
      return `${url}/${objectName}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** SHA-256 (hex) of a file. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** The result of {@link buildArtifact}. */
export interface BuiltArtifact extends ArtifactRef {
  /** The build's combined output (the unit tests' summary is in it). */
  readonly output: string;
}

/**
 * What the push trigger does for an artifact service: runs its build command (`make`, `./build.sh` ...) in the
 * repository, then stores the tarball it left in the bucket under `artifacts/<service>/<commit>/<sha256>/<file>`.
 * @throws C2CError BUILD_FAILED when the build exits non-zero or leaves no tarball
 */
export async function buildArtifact(input: {
  readonly service: ServiceDefinition;
  readonly repoDir: string;
  readonly commit: string;
  readonly bucket: ArtifactBucket;
  /** `PATH` and the like for the build (a library does not read the environment). */
  readonly env: Readonly<Record<string, string | undefined>>;
}): Promise<BuiltArtifact> {
  const def = input.service;
  if (packageOf(def).kind !== 'artifact') throw new Error(`${def.name} is not an artifact service`);
  const command = buildCommand(buildOf(def));
  const output = command ? await run(command, input.repoDir, input.env) : { code: 0, text: '' };
  const file = join(input.repoDir, artifactFile(def));
  if (output.code !== 0) {
    throw new C2CError('BUILD_FAILED', `the build of ${def.name} ('${command}') exited ${output.code}`, {
      hint: `run '${command}' in the repository to see why`,
      details: { output: output.text },
    });
  }
  const exists = await stat(file).then(
    (st) => st.isFile(),
    () => false,
  );
  if (!exists) {
    throw new C2CError('BUILD_FAILED', `the build of ${def.name} ('${command}') left no ${artifactFile(def)}`, {
      hint: "the build must write the artifact to the service's package.file (default dist/app.tar.gz)",
    });
  }
  const sha256 = await sha256File(file);
  const uri = await input.bucket.put(artifactObjectName(def, input.commit, sha256), file);
  return { uri, sha256, output: output.text };
}

function run(command: string, cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env: { ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, text }));
  });
}

/** The `deploy apply`/`deploy plan` arguments that say what to deploy: `--image`, or `--artifact` and `--sha256`. */
export function packageArgs(b: { readonly image: string; readonly artifact?: ArtifactRef }): string[] {
  return b.artifact ? ['--artifact', b.artifact.uri, '--sha256', b.artifact.sha256] : ['--image', b.image];
}
