// Docker benchmarks, when an engine answers (skipped otherwise): the image build of a service from the template's
// Dockerfile, cold (content no build has seen) and cached (the previous image as cache); a push to a loopback
// registry and the digest read back from its API. `npm start` with Docker against `npm start --docker never` is its own
// benchmark, `main-job` (mainJobBench), run only when named: the two runs take five minutes or more.
// Prints medians; asserts nothing.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../constructs/settings';
import { ensureBaseImage } from '../lib/docker/base-image';
import { buildImage } from '../lib/docker/build';
import { removeImageTags } from '../lib/docker/containers';
import { probeDockerEngine } from '../lib/docker/engine';
import { pushImage } from '../lib/docker/push';
import { findRegistryBinary, startRegistry } from '../lib/docker/local-registry';
import { resolveImageDigest } from '../lib/image-reference';
import { onInterrupt } from './cleanup';

const RUNS = 3;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const secs = (v: number) => `${v.toFixed(2)} s`;

/** A copy of the service template whose package.json no build has seen: its COPY and later steps cannot be cached. */
function freshRepo(root: string, dir: string, nonce: string): string {
  cpSync(join(root, 'templates/service-repo'), dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, description: `bench ${nonce}` }, null, 2));
  return dir;
}

/** `npm start` (the built script) once; its wall time in seconds, or the exit code when it failed. */
function mainJob(root: string, workdir: string, docker: 'auto' | 'never'): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['scripts/run.mjs', 'scripts/demo', '--json', '--docker', docker, '--workdir', workdir], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const off = onInterrupt(() => void child.kill('SIGINT'));
    child.once('exit', (code) => {
      off();
      if (code === 0) resolve((Date.now() - started) / 1000);
      else reject(new Error(`npm start --docker ${docker} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

export async function main(): Promise<void> {
  const probe = await probeDockerEngine();
  if (!probe.available) {
    console.log(`skipped: ${probe.reason}`);
    return;
  }
  const root = findRepoRoot(__dirname);
  const work = mkdtempSync(join(tmpdir(), 'c2c-bench-docker-'));
  const run = randomUUID().slice(0, 8);
  const tags: string[] = [];
  const cleanup = async () => {
    await removeImageTags(tags.splice(0));
    rmSync(work, { recursive: true, force: true });
  };
  const off = onInterrupt(cleanup);
  try {
    const base = await ensureBaseImage();
    console.log(
      `engine ${probe.version}, classic builder, FROM ${base.image} (${base.created ? `made in ${secs(base.seconds)}` : 'already there'})`,
    );
    const env = process.env;
    const cold: number[] = [];
    const cached: number[] = [];
    let steps = '';
    for (let i = 0; i < RUNS; i++) {
      const repo = freshRepo(root, join(work, `repo-${i}`), `${run}-${i}`);
      const tag = `c2c-bench/service:${run}-${i}`;
      tags.push(tag, `${tag}-again`);
      const a = await buildImage({ service: 'bench', context: repo, tags: [tag], buildArgs: { BASE_IMAGE: base.image }, env });
      const b = await buildImage({
        service: 'bench',
        context: repo,
        tags: [`${tag}-again`],
        cacheFrom: [tag],
        buildArgs: { BASE_IMAGE: base.image },
        env,
      });
      cold.push(a.seconds);
      cached.push(b.seconds);
      steps = `cold ${a.cachedSteps}/${a.steps} steps cached, then ${b.cachedSteps}/${b.steps}`;
    }
    console.log(
      `image build of a service, cold: ${secs(median(cold))}; cached (previous image as --cache-from): ${secs(median(cached))} (median of ${RUNS}; ${steps})`,
    );

    await pushes(work, run, base.image, tags);
  } finally {
    await cleanup();
    off();
  }
}

/** Pushes to a loopback registry: the first push of a service, then a new commit plus its digest from the registry API. */
async function pushes(work: string, run: string, baseImage: string, tags: string[]): Promise<void> {
  const env = process.env;
  findRegistryBinary(process.env.PATH ?? '');
  const registry = await startRegistry({ dir: join(work, 'registry'), path: process.env.PATH ?? '' });
  const offRegistry = onInterrupt(() => registry.close());
  try {
    const first: number[] = [];
    const newCommit: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // A new repository each time: the first push of a service uploads the base layer (or mounts it from another).
      const image = `${registry.host}/bench-${i}:${run}`;
      const again = `${registry.host}/bench-${i}:${run}-2`;
      tags.push(image, again);
      await buildImage({
        service: 'bench',
        context: join(work, `repo-${i}`),
        tags: [image],
        cacheFrom: [`c2c-bench/service:${run}-${i}`],
        buildArgs: { BASE_IMAGE: baseImage },
        env,
      });
      let t = Date.now();
      await pushImage({ service: 'bench', image });
      first.push((Date.now() - t) / 1000);
      writeFileSync(join(work, `repo-${i}`, 'CHANGE'), `${i}\n`);
      await buildImage({
        service: 'bench',
        context: join(work, `repo-${i}`),
        tags: [again],
        cacheFrom: [image],
        buildArgs: { BASE_IMAGE: baseImage },
        env,
      });
      t = Date.now();
      const pushed = await pushImage({ service: 'bench', image: again });
      const answered = await resolveImageDigest(again, registry.url);
      if (answered.digest !== pushed.digest)
        throw new Error(`the registry answers ${answered.digest} for ${again}, the push said ${pushed.digest}`);
      newCommit.push((Date.now() - t) / 1000);
    }
    console.log(
      `push to a loopback registry: first push of a service ${first.map(secs).join(', ')} (the first uploads the base layer, later ones mount it); a new commit (one new layer) + digest from the API: ${secs(median(newCommit))} (median of ${RUNS})`,
    );
  } finally {
    await registry.close();
    offRegistry();
  }
}

/**
 * `npm start` with Docker (when an engine answers) and with `--docker never`, one run each: `npm run bench -- main-job`.
 * Not in the default run (the whole job twice, five minutes and more here).
 */
export async function mainJobBench(): Promise<void> {
  const root = findRepoRoot(__dirname);
  const work = mkdtempSync(join(tmpdir(), 'c2c-bench-main-job-'));
  const off = onInterrupt(() => rmSync(work, { recursive: true, force: true }));
  try {
    const probe = await probeDockerEngine();
    const withDocker = probe.available ? `${secs(await mainJob(root, join(work, 'demo-docker'), 'auto'))}` : `not run (${probe.reason})`;
    const standIn = await mainJob(root, join(work, 'demo-never'), 'never');
    console.log(`npm start with Docker: ${withDocker}; with --docker never: ${secs(standIn)} (one run each; target with Docker < 120 s)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    off();
  }
}
