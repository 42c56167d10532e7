// The real main.ts composition, synthesized into a temp outdir with a fake deploy bundle.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceDefinitions } from '../services';
import { formatReferenceProblem, readSynthesizedApp, referenceProblems } from '../constructs/reference-integrity';

const dir = mkdtempSync(join(tmpdir(), 'c2c-main-'));
const outdir = join(dir, 'cdktf.out');
const saved = { ...process.env };

beforeAll(() => {
  const bundle = join(dir, 'deploy-bundle.cjs');
  writeFileSync(bundle, "console.log('deploy');\n");
  Object.assign(process.env, {
    CDKTF_OUTDIR: outdir,
    C2C_DEPLOY_BUNDLE: bundle,
    C2C_STATE_BUCKET: 'test-tfstate',
    C2C_CLOUDBUILD_CONNECTION: 'gh-conn',
  });
  jest.isolateModules(() => {
    require('../main');
  });
});
afterAll(() => {
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
});

const stackJson = (name: string) => JSON.parse(readFileSync(join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8'));

it('writes the platform stack and one stack per service', () => {
  const expected = ['platform', ...serviceDefinitions.map((s) => `service-${s.name}`)].sort();
  expect(readdirSync(join(outdir, 'stacks')).sort()).toEqual(expected);
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
  expect(Object.keys(manifest.stacks).sort()).toEqual(expected);
});

it('configures a GCS backend with a prefix per stack on every stack', () => {
  for (const name of readdirSync(join(outdir, 'stacks'))) {
    expect(stackJson(name).terraform.backend).toEqual({ gcs: { bucket: 'test-tfstate', prefix: `stacks/${name}` } });
  }
});

it('writes the Marathon templates of every service, both environments', () => {
  for (const s of serviceDefinitions) {
    for (const env of ['staging', 'production']) {
      const file = join(outdir, 'stacks', `service-${s.name}`, 'marathon', `${s.name}.${env}.json`);
      expect(existsSync(file)).toBe(true);
      expect(JSON.parse(readFileSync(file, 'utf8')).id).toBe(`/${env}/${s.name}`);
    }
  }
});

it('seeds new repositories with the service-repo template, and uses the connection from the environment', () => {
  const seeded = serviceDefinitions.find((s) => !s.existingRepo)!;
  const json = stackJson(`service-${seeded.name}`);
  const files = Object.values(json.resource.github_repository_file as Record<string, { file: string; content: string }>);
  expect(files.map((f) => f.file)).toEqual(
    expect.arrayContaining(['build.sh', 'Dockerfile', 'server.js', 'e2e.sh', 'README.md', 'test/server.test.js']),
  );
  const buildSh = files.find((f) => f.file === 'build.sh')!;
  expect(buildSh.content).toBe(
    readFileSync(join(__dirname, '..', 'templates', 'service-repo', 'build.sh'), 'utf8').replace(/\$\{/g, () => '$${'),
  );
  const link = Object.values(json.resource.google_cloudbuildv2_repository as Record<string, { parent_connection: string }>)[0];
  expect(link.parent_connection).toMatch(/\/connections\/gh-conn$/);
});

it('publishes the deploy bundle from the platform stack', () => {
  const objects = Object.values(stackJson('platform').resource.google_storage_bucket_object as Record<string, { name: string }>);
  expect(objects.map((o) => o.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^deploy\/deploy-bundle-[0-9a-f]{64}\.cjs$/)]));
});

it('holds no literal name, e-mail or id of anything the app creates where a reference belongs (every stack)', () => {
  const stacks = readSynthesizedApp(outdir);
  expect(stacks.length).toBe(serviceDefinitions.length + 1);
  expect(referenceProblems(stacks).map(formatReferenceProblem)).toEqual([]);
});

it('every service stack depends on the platform stack, so cdktf deploy applies the platform first', () => {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
  for (const s of serviceDefinitions) expect(manifest.stacks[`service-${s.name}`].dependencies).toContain('platform');
});

it('a real project (C2C_GCP_PROJECT) without approver principals is one message and exit code 2, and writes nothing', () => {
  const out2 = join(dir, 'real.out');
  const env = { ...process.env };
  const written: string[] = [];
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    Object.assign(process.env, {
      CDKTF_OUTDIR: out2,
      C2C_GCP_PROJECT: 'acme-prod',
      C2C_POOL_NETWORK: 'projects/acme-prod/global/networks/m',
      C2C_GITHUB_PLAN: 'team',
    });
    jest.isolateModules(() => {
      require('../main');
    });
    expect(process.exitCode).toBe(2);
  } finally {
    stderr.mockRestore();
    process.env = env;
    process.exitCode = undefined;
  }
  expect(written.join('')).toMatch(/^synth: Approvers: '[^']+' \("approver of [^"]+"\) has no IAM principal; map it in C2C_APPROVERS/);
  expect(existsSync(join(out2, 'manifest.json'))).toBe(false);
});
