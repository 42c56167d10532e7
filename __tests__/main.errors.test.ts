// `npm run synth` on a catalog mistake: the built main.ts (with a fixture catalog in place of services/) prints the
// one-line messages and a hint, exits 2 and writes nothing; never a stack trace or an object dump.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, stop } from 'esbuild';
import { ServiceDefinition } from '../lib/catalog';

const repo = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'c2c-main-errors-'));
const out = join(dir, 'main.js');
const bundle = join(dir, 'deploy-bundle.cjs');

beforeAll(async () => {
  // The fixture catalog: services from $FIXTURE_SERVICES (JSON), through the real Catalog class.
  const fixture = join(dir, 'services.ts');
  writeFileSync(
    fixture,
    `import { Catalog } from ${JSON.stringify(join(repo, 'lib', 'catalog'))};\n` +
      'export function loadCatalog(options: object) { return new Catalog(JSON.parse(process.env.FIXTURE_SERVICES ?? "[]"), options); }\n',
  );
  writeFileSync(bundle, "console.log('deploy');\n");
  await build({
    entryPoints: [join(repo, 'main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
    plugins: [{ name: 'fixture-services', setup: (b) => b.onResolve({ filter: /^\.\.?\/services$/ }, () => ({ path: fixture })) }],
  });
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  // esbuild's service process would outlive the file in this jest worker.
  await stop();
});

const good: ServiceDefinition = {
  name: 'payments',
  repo: 'acme-lighting/payments',
  cpus: 0.25,
  mem: 256,
  instances: { staging: 1, production: 2 },
  smokeTest: './e2e.sh',
  approvers: ['user:ana@acme-lighting.example'],
};

function synth(services: object[]) {
  const outdir = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(process.execPath, [out], {
    encoding: 'utf8',
    env: {
      ...process.env,
      NODE_PATH: join(repo, 'node_modules'),
      FIXTURE_SERVICES: JSON.stringify(services),
      CDKTF_OUTDIR: outdir,
      C2C_DEPLOY_BUNDLE: bundle,
      C2C_GITHUB_OWNER: 'acme-lighting',
      CHECKPOINT_DISABLE: '1',
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, wrote: existsSync(outdir) };
}

const HINT = "hint: fix the field named above (services/<name>.ts), then run 'npm run synth' again\n";

it('a catalog rule: one line per violation and a hint, exit 2, nothing written', () => {
  expect(synth([{ ...good, mem: 0, healthCheck: { portIndex: 1 } }])).toEqual({
    code: 2,
    stdout: '',
    stderr:
      "synth: Microservice(payments): 'mem' (0) must be > 0 MiB; set it to the container's limit, e.g. 256\n" +
      "synth: Microservice(payments): 'healthCheck.portIndex' (1) must address one of the service's 1 port(s) (0..0); add the port or change the index\n" +
      HINT,
    wrote: false,
  });
});

it('a rule that needs the platform (the repository owner): the same one line', () => {
  expect(synth([{ ...good, repo: 'someone-else/payments' }])).toEqual({
    code: 2,
    stdout: '',
    stderr:
      "synth: Microservice(payments): 'repo' (\"someone-else/payments\") must belong to the GitHub owner 'acme-lighting' that the platform manages; move the repository or set C2C_GITHUB_OWNER\n" +
      HINT,
    wrote: false,
  });
});

it('a valid catalog synthesizes (exit 0)', () => {
  const r = synth([good]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.wrote).toBe(true);
});
