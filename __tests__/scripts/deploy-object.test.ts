// `deploy object get|put`, in-process over a loopback stand-in for Cloud Storage's JSON API: the plan and bundle
// transfers of the build steps, without a Cloud SDK image.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../scripts/deploy/cli';
import { startRecordingServer } from '../helpers/http';

const dir = mkdtempSync(join(tmpdir(), 'c2c-object-'));
const bundle = Buffer.from('console.log("deploy")\n');
const sha = createHash('sha256').update(bundle).digest('hex');
let gcs: Awaited<ReturnType<typeof startRecordingServer>>;
const stored = new Map<string, string>();

beforeAll(async () => {
  gcs = await startRecordingServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'GET' && url.pathname === '/storage/v1/b/deploy-b/o/deploy%2Fbundle.cjs') {
      if (url.searchParams.get('generation') !== '7') return void res.writeHead(404).end('{}');
      return void res.writeHead(200).end(bundle);
    }
    if (req.method === 'POST' && url.pathname === '/upload/storage/v1/b/deploy-b/o') {
      const name = url.searchParams.get('name')!;
      if (stored.has(name)) return void res.writeHead(412).end('{}');
      stored.set(name, req.body);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, generation: '42' }));
    }
    res.writeHead(404).end('{}');
  });
});
afterAll(async () => {
  await gcs.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const env = { GOOGLE_OAUTH_ACCESS_TOKEN: 'tok-1', C2C_STORAGE_URL: gcs.url, CI: 'true' };
  const code = await main(argv, { stdout: out, stderr: err, env });
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}

it('get: downloads one generation with the bearer token and checks its SHA-256', async () => {
  const file = join(dir, 'deploy.cjs');
  const r = await run(['object', 'get', 'gs://deploy-b/deploy/bundle.cjs#7', file, '--sha256', sha]);
  expect(r).toMatchObject({ code: 0, stdout: '' });
  expect(readFileSync(file)).toEqual(bundle);
  const req = gcs.received.at(-1)!;
  expect(req.url).toBe('/storage/v1/b/deploy-b/o/deploy%2Fbundle.cjs?alt=media&generation=7');
  expect(req.headers.authorization).toBe('Bearer tok-1');
});

it('get: other bytes than the SHA-256 named is exit 1 and writes nothing', async () => {
  const file = join(dir, 'other.cjs');
  const r = await run(['object', 'get', 'gs://deploy-b/deploy/bundle.cjs#7', file, '--sha256', '0'.repeat(64)]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    `deploy: gs://deploy-b/deploy/bundle.cjs#7 has SHA-256 ${sha}, not ${'0'.repeat(64)}\nhint: the object is not the one this build was configured with; nothing was written\n`,
  );
  expect(existsSync(file)).toBe(false);
});

it('get: a generation that is gone is exit 1 naming the object; a bad URL is exit 2', async () => {
  expect((await run(['object', 'get', 'gs://deploy-b/deploy/bundle.cjs#8', join(dir, 'x')])).stderr).toContain(
    'deploy: could not read gs://deploy-b/deploy/bundle.cjs#8: 404 not found',
  );
  const bad = await run(['object', 'get', 's3://x/y', join(dir, 'x')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("deploy: 's3://x/y' is not a Cloud Storage object URL");
});

it("put: uploads a binary file byte for byte, named by its SHA-256 ('{sha256}')", async () => {
  const tarball = join(dir, 'svc.tar.gz');
  const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x80]);
  writeFileSync(tarball, bytes);
  const digest = createHash('sha256').update(bytes).digest('hex');
  const r = await run(['object', 'put', tarball, 'gs://deploy-b/artifacts/svc/c0ffee/{sha256}/svc.tar.gz']);
  expect(r).toMatchObject({ code: 0, stdout: `gs://deploy-b/artifacts/svc/c0ffee/${digest}/svc.tar.gz#42\n` });
  expect(gcs.received.at(-1)!.raw).toEqual(bytes);
});

it("put: creates the object named by the plan's id, once; a second upload is refused", async () => {
  const plan = join(dir, 'production.plan.json');
  writeFileSync(plan, JSON.stringify({ id: 'p-123', service: 'lamp-api' }));
  const r = await run(['object', 'put', plan, 'gs://deploy-b/plans/lamp-api/production/{id}.json']);
  expect(r).toMatchObject({ code: 0, stdout: 'gs://deploy-b/plans/lamp-api/production/p-123.json#42\n' });
  const req = gcs.received.at(-1)!;
  expect(req.method).toBe('POST');
  expect(req.url).toBe(
    '/upload/storage/v1/b/deploy-b/o?uploadType=media&name=plans%2Flamp-api%2Fproduction%2Fp-123.json&ifGenerationMatch=0',
  );
  expect(req.headers['content-type']).toBe('application/json');
  expect(JSON.parse(req.body)).toEqual({ id: 'p-123', service: 'lamp-api' });
  const again = await run(['object', 'put', plan, 'gs://deploy-b/plans/lamp-api/production/{id}.json']);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(
    'deploy: gs://deploy-b/plans/lamp-api/production/p-123.json exists already; objects here are written once',
  );
});
