import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAndPush } from '../../../lib/demo/docker-images';
import { ensureBaseImage } from '../../../lib/docker/base-image';
import { buildImage } from '../../../lib/docker/build';
import { removeContainersWithLabel, removeImageTags } from '../../../lib/docker/containers';
import { pushImage } from '../../../lib/docker/push';
import { LocalRegistry, startRegistry } from '../../../lib/docker/local-registry';

const run = randomUUID().slice(0, 8);
const LABEL = `c2c.test.run=${run}`;
const work = mkdtempSync(join(tmpdir(), 'c2c-image-docker-test-'));
const repo = join(work, 'repo');
const tags: string[] = [];
let baseImage: string;

beforeAll(async () => {
  baseImage = (await ensureBaseImage()).image;
  cpSync(join(__dirname, '../../../templates/service-repo'), repo, { recursive: true });
  // Content no other build has seen, so the first build cannot reuse the layers from its COPY on.
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(repo, 'package.json'), JSON.stringify({ ...pkg, description: `image test ${run}` }, null, 2));
});

afterAll(async () => {
  await removeContainersWithLabel(LABEL);
  await removeImageTags(tags);
  rmSync(work, { recursive: true, force: true });
});

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the template's Dockerfile with the local base image", () => {
  const cold = `c2c-test/service:${run}-cold`;
  const warm = `c2c-test/service:${run}-warm`;

  it('builds cold, then again from the first image as cache: every step cached, the same image', async () => {
    tags.push(cold, warm);
    const env = process.env;
    const first = await buildImage({
      service: 'svc',
      context: repo,
      tags: [cold],
      buildArgs: { BASE_IMAGE: baseImage },
      labels: { 'c2c.test.run': run },
      env,
    });
    const second = await buildImage({
      service: 'svc',
      context: repo,
      tags: [warm],
      cacheFrom: [cold],
      buildArgs: { BASE_IMAGE: baseImage },
      labels: { 'c2c.test.run': run },
      env,
    });
    expect(first.steps).toBeGreaterThan(8);
    // ARG and FROM never say "Using cache"; from WORKDIR on, the first build ran what it could not reuse.
    expect(first.cachedSteps).toBeLessThan(first.steps - 6);
    expect(second.cachedSteps).toBe(second.steps - 2);
    expect(second.imageId).toBe(first.imageId);
    expect(docker(['image', 'inspect', '--format', '{{.Config.User}} {{json .Config.Cmd}}', warm])).toBe('node ["node","server.js"]');
  });

  it('runs as a container that listens on its container ports, as Marathon maps them, and answers /health', async () => {
    const [p0, p1] = [await freePort(), await freePort()];
    const name = `c2c-test-${run}-ok`;
    docker([
      'run',
      '-d',
      '--rm',
      '--name',
      name,
      '--label',
      LABEL,
      '-p',
      `127.0.0.1:${p0}:8080`,
      '-p',
      `127.0.0.1:${p1}:9090`,
      '-e',
      `PORT0=${p0}`,
      '-e',
      `PORT1=${p1}`,
      '-e',
      `PORT_8080=${p0}`,
      '-e',
      `PORT_9090=${p1}`,
      cold,
    ]);
    const health = await poll('/health on the second port', async () => {
      const res = await fetch(`http://127.0.0.1:${p1}/health`, { signal: AbortSignal.timeout(1000) });
      return { status: res.status, body: await res.json() };
    });
    expect(health).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await fetch(`http://127.0.0.1:${p0}/health`)).status).toBe(200);
    docker(['rm', '-f', name]);
  });

  it('makes a broken image from a commit that ships a BROKEN file: its /health answers 500', async () => {
    const broken = `c2c-test/service:${run}-broken`;
    tags.push(broken);
    writeFileSync(join(repo, 'BROKEN'), 'broken on purpose\n');
    try {
      const b = await buildImage({
        service: 'svc',
        context: repo,
        tags: [broken],
        cacheFrom: [cold],
        buildArgs: { BASE_IMAGE: baseImage },
        env: process.env,
      });
      expect(b.cachedSteps).toBeGreaterThan(3);
    } finally {
      rmSync(join(repo, 'BROKEN'));
    }
    const port = await freePort();
    docker([
      'run',
      '-d',
      '--rm',
      '--name',
      `c2c-test-${run}-broken`,
      '--label',
      LABEL,
      '-p',
      `127.0.0.1:${port}:8080`,
      '-e',
      `PORT0=${port}`,
      '-e',
      `PORT_8080=${port}`,
      broken,
    ]);
    const status = await poll(
      '/health',
      async () => (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).status,
    );
    expect(status).toBe(500);
    docker(['rm', '-f', `c2c-test-${run}-broken`]);
  });

  it('fails with DOCKER_BUILD_FAILED naming the service, the output and the command to retry', async () => {
    const bad = join(work, 'bad');
    cpSync(repo, bad, { recursive: true });
    writeFileSync(join(bad, 'Dockerfile'), `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nRUN exit 3\n`);
    await expect(
      buildImage({ service: 'svc', context: bad, tags: [`c2c-test/bad:${run}`], buildArgs: { BASE_IMAGE: baseImage }, env: process.env }),
    ).rejects.toMatchObject({
      code: 'DOCKER_BUILD_FAILED',
      message: expect.stringMatching(
        /^docker build of svc \(.*\/bad\) exited 3:\n[\s\S]*'\/bin\/sh -c exit 3' returned a non-zero code: 3$/,
      ),
      hint: expect.stringContaining(`DOCKER_BUILDKIT=0 docker build --force-rm --tag c2c-test/bad:${run}`),
    });
    // The failed step's container is removed too (the classic builder keeps it without --force-rm).
    expect(docker(['ps', '-a', '--format', '{{.Command}}', '--filter', `ancestor=${baseImage}`])).not.toContain('exit 3');
  });
});

describe('a registry on a loopback port', () => {
  let registry: LocalRegistry;

  beforeAll(async () => {
    registry = await startRegistry({ dir: join(work, 'registry'), path: process.env.PATH ?? '' });
  });
  afterAll(() => registry.close());

  it('takes a push; its API answers the digest the push reported, which buildAndPush pins', async () => {
    const published = await buildAndPush({
      service: `svc-${run}`,
      repoDir: repo,
      registry,
      tag: 'v1',
      baseImage,
      runId: run,
      env: process.env,
    });
    tags.push(published.image, `c2c-main-job/svc-${run}:latest`);
    const res = await fetch(`${registry.url}/v2/svc-${run}/manifests/v1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(published.digest);
    expect(published.pinned).toBe(`${registry.host}/svc-${run}:v1@${published.digest}`);
    expect(published.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(existsSync(join(registry.storage, 'docker/registry/v2/repositories', `svc-${run}`))).toBe(true);
  });

  it('fails with DOCKER_PUSH_FAILED naming the image and the fix when the registry does not answer', async () => {
    const port = await freePort();
    const image = `127.0.0.1:${port}/nowhere:${run}`;
    docker(['tag', baseImage, image]);
    tags.push(image);
    await expect(pushImage({ service: 'nowhere', image })).rejects.toMatchObject({
      code: 'DOCKER_PUSH_FAILED',
      message: expect.stringContaining(`docker push ${image} (nowhere) exited 1:`),
      hint: expect.stringContaining(`curl http://127.0.0.1:${port}/v2/`),
    });
  });

  it('leaves nothing when it stops: the process is gone and the port refuses', async () => {
    const other = await startRegistry({ dir: join(work, 'registry-2'), path: process.env.PATH ?? '' });
    expect((await fetch(`${other.url}/v2/`)).status).toBe(200);
    await other.close();
    expect(() => process.kill(other.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(fetch(`${other.url}/v2/`)).rejects.toThrow();
  });
});
