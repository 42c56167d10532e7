// Artifact services end to end on this machine: the bucket stand-in, the build (make) that stores the tarball under
// its commit and SHA-256, `parsePackage` (what the deploy CLI takes), and a deploy whose task the local Marathon's
// fetcher downloads from the bucket, unpacks and starts, then status with the artifact and its checksum.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactObjectName } from '../../../lib/catalog/artifact';
import { ServiceDefinition } from '../../../lib/catalog/types';
import { ArtifactBucket, buildArtifact, packageArgs, startArtifactBucket } from '../../../lib/demo/artifacts';
import { applyService } from '../../../lib/deploy/apply-service';
import { checkPlanConsistency } from '../../../lib/gate/gate';
import { planService } from '../../../lib/gate/plan-service';
import { fleetStatus } from '../../../lib/deploy/status';
import { LABEL_ARTIFACT_SHA256 } from '../../../lib/marathon/app';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { parsePackage } from '../../../scripts/deploy/options';
import { caught } from '../../helpers/errors';
import { deployContext, testService } from '../deploy/helpers';

const ROOT = join(__dirname, '../../..');
const COMMIT = 'c0ffee0000000000000000000000000000000001';

/** A fixture artifact service built from the artifact template with make. */
const artifactService = (name: string): ServiceDefinition =>
  testService(name, { package: { kind: 'artifact', cmd: 'node server.js' }, build: 'make', ports: [{ name: 'http' }] });

let work: string;
let bucket: ArtifactBucket;
beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'c2c-artifacts-'));
  bucket = await startArtifactBucket(join(work, 'bucket'));
});
afterEach(async () => {
  await bucket.close();
  rmSync(work, { recursive: true, force: true });
});

function seedRepo(): string {
  const repo = join(work, 'repo');
  cpSync(join(ROOT, 'templates/artifact-repo'), repo, { recursive: true });
  return repo;
}

describe('the artifact bucket stand-in', () => {
  it('serves stored objects byte for byte, 404 for others, and nothing outside its directory', async () => {
    const file = join(work, 'x.tar.gz');
    writeFileSync(file, 'bytes of an artifact');
    const uri = await bucket.put('artifacts/x/abc/def/x.tar.gz', file);
    expect(uri).toBe(`${bucket.url}/artifacts/x/abc/def/x.tar.gz`);
    expect(await (await fetch(uri)).text()).toBe('bytes of an artifact');
    expect((await fetch(`${bucket.url}/artifacts/x/missing.tar.gz`)).status).toBe(404);
    expect((await fetch(`${bucket.url}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
    expect((await fetch(uri, { method: 'PUT', body: 'x' })).status).toBe(405);
    expect(bucket.downloads()).toBe(1);
  });
});

describe('buildArtifact', () => {
  it('runs make, then stores dist/app.tar.gz under artifacts/<service>/<commit>/<sha256>/', async () => {
    const def = artifactService('lamp');
    const repo = seedRepo();
    const built = await buildArtifact({ service: def, repoDir: repo, commit: COMMIT, bucket, env: process.env });
    const bytes = readFileSync(join(repo, 'dist/app.tar.gz'));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(built.sha256).toBe(sha256);
    expect(built.uri).toBe(`${bucket.url}/${artifactObjectName(def, COMMIT, sha256)}`);
    expect(built.uri).toContain(`/artifacts/lamp/${COMMIT}/${sha256}/app.tar.gz`);
    expect(Buffer.from(await (await fetch(built.uri)).arrayBuffer()).equals(bytes)).toBe(true);
    expect(built.output).toMatch(/# pass \d+/);
  });

  it('a failing build is BUILD_FAILED and stores nothing', async () => {
    const repo = seedRepo();
    writeFileSync(join(repo, 'server.js'), 'this is not javascript(');
    const err = await caught(buildArtifact({ service: artifactService('lamp'), repoDir: repo, commit: COMMIT, bucket, env: process.env }));
    expect(err.code).toBe('BUILD_FAILED');
    expect(err.message).toBe("the build of lamp ('make') exited 2");
    expect(execFileSync('find', [bucket.dir, '-type', 'f'], { encoding: 'utf8' })).toBe('');
  });
});

describe('what deploy apply/plan take for an artifact service (parsePackage)', () => {
  const sha = 'a'.repeat(64);
  it('an artifact service takes --artifact and --sha256; the URI is what is shown for it', () => {
    const ref = { uri: 'https://storage.googleapis.com/b/artifacts/lamp/c/s/app.tar.gz', sha256: sha };
    expect(parsePackage(artifactService('lamp'), { artifact: ref.uri, sha256: sha })).toEqual({ image: ref.uri, artifact: ref });
    expect(packageArgs({ image: ref.uri, artifact: ref })).toEqual(['--artifact', ref.uri, '--sha256', sha]);
  });

  it.each([
    [{ image: 'reg:5000/lamp:1' }, 'lamp is deployed as an artifact, not an image'],
    [{ artifact: 'https://h/a.tgz' }, '--sha256 is required'],
    [{ sha256: sha }, '--artifact is required'],
    [{ artifact: 'https://h/a.tgz', sha256: 'ABC' }, "--sha256 'ABC' must be the file's SHA-256"],
    [{ artifact: 'ftp://h/a.tgz', sha256: sha }, "--artifact 'ftp://h/a.tgz' must be an http(s)://"],
  ])('artifact service, %j: USAGE (exit 2)', (opts, message) => {
    let err: unknown;
    try {
      parsePackage(artifactService('lamp'), opts);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'USAGE' });
    expect((err as Error).message).toContain(message);
  });

  it('an image service refuses --artifact; an upstream image defaults to the image its file pins', () => {
    expect(() => parsePackage(testService('web'), { image: 'reg:5000/web:1', sha256: sha })).toThrow(
      'web is deployed as an image; --artifact and --sha256 are for artifact services',
    );
    const pinned = `docker.io/library/nginx@sha256:${sha}`;
    expect(parsePackage(testService('proxy', { package: { kind: 'upstream-image', image: pinned }, build: 'none' }), {})).toEqual({
      image: pinned,
    });
  });
});

describe('an artifact deploy on the local Marathon', () => {
  let lm: LocalMarathon;
  beforeEach(async () => {
    lm = await startLocalMarathon({ docker: 'never' });
  });
  afterEach(async () => {
    await lm.close();
  });

  it('the fetcher downloads the tarball from the bucket, cmd starts it healthy; plan and status pin and show URI and SHA-256', async () => {
    const def = artifactService('lamp');
    const built = await buildArtifact({ service: def, repoDir: seedRepo(), commit: COMMIT, bucket, env: process.env });
    const artifact = { uri: built.uri, sha256: built.sha256 };
    const ctx = deployContext(lm.url, { timeoutMs: 20_000 });

    const { plan } = await planService(ctx, { service: def, environment: 'staging', image: artifact.uri, artifact, commit: COMMIT });
    // The fetcher leaves the tarball as a file; the command checks its SHA-256, extracts it, then starts the service.
    expect(plan.app.fetch).toEqual([{ uri: artifact.uri, extract: false, executable: false, cache: true }]);
    expect(plan.app.labels[LABEL_ARTIFACT_SHA256]).toBe(artifact.sha256);
    expect(plan.app.container).toBeUndefined();
    // The plan records the artifact its app fetches, so the gate's consistency check holds for it.
    expect(plan.artifact).toEqual(artifact);
    expect(() => checkPlanConsistency(plan)).not.toThrow();
    expect(plan.app.cmd).toBe(
      `echo '${artifact.sha256}  app.tar.gz' | sha256sum -c --status - || { echo 'c2c: app.tar.gz does not have the SHA-256 the plan pinned (${artifact.sha256}); not starting' >&2; exit 1; } && tar -xf 'app.tar.gz' && node server.js`,
    );

    const result = await applyService(ctx, { service: def, environment: 'staging', image: artifact.uri, artifact, commit: COMMIT });
    expect(result).toMatchObject({ outcome: 'deployed', image: artifact.uri, tasks: { healthy: 1, running: 1, wanted: 1 } });
    expect(bucket.downloads()).toBe(1);

    const [row] = await fleetStatus({ services: [def], clients: { staging: ctx.client } });
    expect(row).toMatchObject({ state: 'healthy', image: null, artifact, commit: COMMIT, drift: [] });

    // The same artifact again is a no-op: the rendered fetch, port definitions and label match what runs.
    const again = await applyService(ctx, { service: def, environment: 'staging', image: artifact.uri, artifact, commit: COMMIT });
    expect(again.outcome).toBe('noop');
  });
});
