// Black-box tests of `npm run new-service`: the real CLI (scripts/new-service.ts built with esbuild, as
// scripts/build.mjs does) run on a temp copy of services/ (--dir), never on the repository's own services/.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const repo = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'c2c-new-service-'));
const cli = join(dir, 'new-service.js');
let root = '';
let n = 0;

beforeAll(() => {
  buildSync({
    entryPoints: [join(repo, 'scripts', 'new-service.ts')],
    outfile: cli,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
  });
});
beforeEach(() => {
  root = join(dir, `repo-${n++}`);
  cpSync(join(repo, 'services'), join(root, 'services'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: join(repo, 'node_modules'), C2C_GITHUB_OWNER: 'acme-lighting' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const index = () => readFileSync(join(root, 'services', 'fleet.ts'), 'utf8');

it('writes services/NAME.ts and adds one line to services/fleet.ts', () => {
  const before = index();
  const r = run('lamp-sync', '--dir', root);
  expect(r).toEqual({
    code: 0,
    stderr: '',
    stdout:
      "wrote services/lamp-sync.ts\nadded lamp-sync to services/fleet.ts\nnext: edit services/lamp-sync.ts, then 'npm test' and 'npm run synth'\n",
  });
  const file = readFileSync(join(root, 'services', 'lamp-sync.ts'), 'utf8');
  expect(file).toContain("name: 'lamp-sync',");
  expect(file).toContain("repo: 'acme-lighting/lamp-sync',");
  expect(file.trim().split('\n').length).toBeLessThanOrEqual(16);
  const added = index()
    .split('\n')
    .filter((l) => !before.split('\n').includes(l));
  expect(added).toEqual(["export { default as lampSync } from './lamp-sync';"]);
});

it('--repo and --json print what was written', () => {
  const r = run('dimmer', '--repo', 'acme-lighting/monorepo', '--json', '--dir', root);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out).toMatchObject({
    file: 'services/dimmer.ts',
    index: 'services/fleet.ts',
    indexUpdated: true,
    added: ["export { default as dimmer } from './dimmer';"],
  });
  expect(out.content).toContain("repo: 'acme-lighting/monorepo',");
});

it('an invalid name: exit 2, the field, value and fix, nothing written', () => {
  const before = index();
  const r = run('Lamp_Sync', '--dir', root);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(
    "new-service: Microservice(Lamp_Sync): 'name' (\"Lamp_Sync\") must be lower-case letters, digits and '-' (it becomes the Marathon id); use 'lamp-sync'\n",
  );
  expect(existsSync(join(root, 'services', 'Lamp_Sync.ts'))).toBe(false);
  expect(index()).toBe(before);
});

it('an invalid repository: exit 2', () => {
  const r = run('lamp', '--repo', 'not a repo', '--dir', root);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe("new-service: Microservice(lamp): 'repo' (\"not a repo\") must be a GitHub 'owner/name', e.g. 'acme/bulb-api'\n");
});

it('refuses to overwrite an existing service (exit 2) unless --force, which does not list it twice', () => {
  const r = run('billing', '--dir', root);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    'new-service: services/billing.ts already exists\nhint: edit it, choose another name, or pass --force to overwrite it\n',
  );
  const before = index();
  const forced = run('billing', '--force', '--dir', root);
  expect(forced.code).toBe(0);
  expect(forced.stdout).toContain('services/fleet.ts already lists billing');
  expect(index()).toBe(before);
});

it('--help documents the options and exit codes; missing NAME is a usage error (exit 2)', () => {
  const help = run('--help');
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: new-service [options] <name>');
  expect(help.stdout).toContain('--force');
  expect(help.stdout).toContain('Exit codes: 0 written; 2 invalid name or repository');
  const missing = run();
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("error: missing required argument 'name'");
});
