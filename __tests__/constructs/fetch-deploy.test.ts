// The fetch-deploy step's script, run as the build runs it (node -e, the step's env), against loopback stand-ins for
// the metadata server and Cloud Storage: the only transfer of a build not done by the deploy CLI.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDeployStep } from '../../constructs/build-steps';
import { startRecordingServer } from '../helpers/http';

const dir = mkdtempSync(join(tmpdir(), 'c2c-fetch-deploy-'));
const bundle = Buffer.from('module.exports = 1;\n');
const sha = createHash('sha256').update(bundle).digest('hex');
let server: Awaited<ReturnType<typeof startRecordingServer>>;

beforeAll(async () => {
  server = await startRecordingServer((req, res) => {
    if (req.url === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"meta-tok","expires_in":300}');
    }
    if (req.url.startsWith('/storage/v1/b/deploy-b/o/') && req.url.includes('generation=5')) return void res.writeHead(200).end(bundle);
    res.writeHead(404).end();
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the step's script with its env (substitutions filled in as Cloud Build would). */
function runStep(object: string, generation: string, out: string): Promise<{ code: number; stderr: string }> {
  const step = fetchDeployStep('deploy-b');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const pair of step.env ?? []) {
    const [k, v] = pair.split(/=(.*)/s);
    env[k] = v.replace('$_C2C_BUNDLE_GENERATION', generation).replace('$_C2C_BUNDLE', object);
  }
  Object.assign(env, { C2C_METADATA_URL: server.url, C2C_STORAGE_URL: server.url, C2C_DEPLOY_CLI: out });
  return new Promise((resolve) =>
    execFile(process.execPath, [...step.args], { env }, (err, _stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr })),
  );
}

it('downloads the named generation with the metadata token and writes it where the deploy steps run it', async () => {
  const out = join(dir, 'ok', 'deploy.cjs');
  expect(await runStep(`deploy/deploy-bundle-${sha}.cjs`, '5', out)).toEqual({ code: 0, stderr: '' });
  expect(readFileSync(out)).toEqual(bundle);
  const get = server.received.find((r) => r.url.startsWith('/storage/'))!;
  expect(get.url).toBe(`/storage/v1/b/deploy-b/o/deploy%2Fdeploy-bundle-${sha}.cjs?alt=media&generation=5`);
  expect(get.headers.authorization).toBe('Bearer meta-tok');
});

it('refuses bytes whose SHA-256 is not the one in the name, and a generation that is gone', async () => {
  const other = '1'.repeat(64);
  const bad = await runStep(`deploy/deploy-bundle-${other}.cjs`, '5', join(dir, 'bad', 'deploy.cjs'));
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe(`fetch-deploy: deploy/deploy-bundle-${other}.cjs has SHA-256 ${sha}, not the one in its name\n`);
  expect(existsSync(join(dir, 'bad'))).toBe(false);
  const gone = await runStep(`deploy/deploy-bundle-${sha}.cjs`, '4', join(dir, 'gone', 'deploy.cjs'));
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/^fetch-deploy: GET http:\/\/127\.0\.0\.1:\d+\/storage\/v1\/b\/deploy-b\/o\/\S+ answered 404\n$/);
});
