// The synthesized artifact server run here (lib/cloudbuild/artifact-server.ts) over a hand-written synthesized platform
// stack: the app's own cmd and env, reading the Storage stand-in; the fetchers' connection table from the builds' URIs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACT_SERVER_PROGRAM, artifactServerDefinition } from '../../../constructs/artifact-server';
import { escapeTerraform } from '../../../constructs/terraform-escape';
import { C2CError } from '../../../lib/errors';
import { artifactOrigins, startArtifactServer } from '../../../lib/cloudbuild/artifact-server';
import { GoogleStandIn, startGoogleStandIn } from '../../../lib/cloudbuild/google-stand-in';
import { ReadTrigger } from '../../../lib/cloudbuild/triggers';

const dir = mkdtempSync(join(tmpdir(), 'c2c-artifact-server-'));
const BUCKET = 'acme-registry';
let google: GoogleStandIn;

/** A trigger whose one step writes `text` (as the upload-artifact step writes the artifact URI). */
const triggerWriting = (text: string): ReadTrigger => ({
  name: 'x-push',
  stack: 'service-x',
  event: 'push',
  project: 'acme',
  location: 'eu',
  unresolved: [],
  approvalRequired: false,
  build: { steps: [{ name: 'node:20-slim', args: ['-c', `echo "${text}" > /workspace/artifact.uri`] }] },
});

beforeAll(async () => {
  google = await startGoogleStandIn(join(dir, 'google'));
  // The platform stack as the synth writes it: the app the ArtifactServer construct publishes, Terraform-escaped.
  const def = artifactServerDefinition(BUCKET, 5001, 2, readFileSync(ARTIFACT_SERVER_PROGRAM, 'utf8'));
  const app = {
    id: '/staging/artifacts',
    cmd: def.cmd,
    env: { ...def.env, DEPLOY_ENV: 'staging' },
    container: { type: 'DOCKER', portMappings: [{ containerPort: 8080, hostPort: 0, servicePort: 5001, name: 'http' }] },
    labels: { 'c2c.environment': 'staging', 'c2c.service': 'artifacts' },
  };
  mkdirSync(join(dir, 'out/stacks/platform'), { recursive: true });
  const object = { bucket: 'acme-deploy', name: 'templates/artifacts/staging.json', content: escapeTerraform(JSON.stringify(app)) };
  writeFileSync(
    join(dir, 'out/stacks/platform/cdk.tf.json'),
    JSON.stringify({ resource: { google_storage_bucket_object: { t: object } } }),
  );
  const q = new URLSearchParams({ uploadType: 'media', name: 'artifacts/x/abc/app.tar.gz' });
  await fetch(`${google.url}/upload/storage/v1/b/${BUCKET}/o?${q}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${google.buildToken}` },
    body: 'tarball bytes',
  });
});
afterAll(async () => {
  await google.close();
  rmSync(dir, { recursive: true, force: true });
});

it('runs the published app, serves the bucket, and routes the name the builds write to it', async () => {
  const lines: string[] = [];
  const uri = 'http://artifacts.marathon.internal:5001/artifacts/x/$COMMIT_SHA/$$sha/app.tar.gz';
  const server = await startArtifactServer({
    outdir: join(dir, 'out'),
    triggers: [triggerWriting(uri)],
    googleUrl: google.url,
    log: (l) => lines.push(l),
  });
  try {
    expect(server.appId).toBe('/staging/artifacts');
    const port = Number(new URL(server.url).port);
    expect(server.connectTo).toEqual([{ host: 'artifacts.marathon.internal', port: 5001, to: { host: '127.0.0.1', port } }]);
    const res = await fetch(`${server.url}/artifacts/x/abc/app.tar.gz`);
    expect([res.status, await res.text()]).toEqual([200, 'tarball bytes']);
    // Only the served prefix: the program's own rule, as synthesized.
    expect((await fetch(`${server.url}/templates/artifacts/staging.json`)).status).toBe(403);
    expect(lines).toContain('GET /artifacts/x/abc/app.tar.gz 200');
  } finally {
    await server.close();
  }
});

it("refuses a build whose artifact URI's port is not the app's service port", async () => {
  const wrong = triggerWriting('http://artifacts.marathon.internal:5002/artifacts/x/app.tar.gz');
  await expect(startArtifactServer({ outdir: join(dir, 'out'), triggers: [wrong], googleUrl: google.url })).rejects.toEqual(
    new C2CError(
      'BUILD_INVALID',
      'the builds fetch artifacts from artifacts.marathon.internal:5002, but /staging/artifacts has service port 5001',
    ),
  );
});

it('reads artifact origins from args and env, only for the served prefix', () => {
  const t = triggerWriting('http://a.test:81/artifacts/q http://b.test/other/q');
  expect(artifactOrigins([t], 'artifacts/').map((u) => u.host)).toEqual(['a.test:81']);
});
