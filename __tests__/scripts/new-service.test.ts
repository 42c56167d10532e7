// Black-box tests of `npm run new-service`: the real CLI (scripts/new-service.ts built with esbuild, as
// scripts/build.mjs does) run on a fixture services/ folder (--dir), never on the repository's own services/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { packageOf, ServiceDefinition } from '../../lib/catalog';
import { validateService } from '../../lib/catalog/validate';
import { renderMarathonApp } from '../../lib/marathon/render';
import { starterDefinition } from '../../lib/scaffold';

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
// A fixture fleet of one service, and lib/ linked so that a written service file can be compiled and loaded.
beforeEach(() => {
  root = join(dir, `repo-${n++}`);
  mkdirSync(join(root, 'services'), { recursive: true });
  symlinkSync(join(repo, 'lib'), join(root, 'lib'));
  writeFileSync(join(root, 'services', 'existing.ts'), "export default { name: 'existing' };\n");
  writeFileSync(join(root, 'services', 'service-list.ts'), "export { default as existing } from './existing';\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI as a user with git's user.email set to ana@example.com (or none: `email: null`). */
function runAs(email: string | null, ...args: string[]) {
  const git =
    email === null
      ? { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' }
      : { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.email', GIT_CONFIG_VALUE_0: email };
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: { ...process.env, NODE_PATH: join(repo, 'node_modules'), C2C_GITHUB_OWNER: 'acme-lighting', ...git },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const run = (...args: string[]) => runAs('ana@example.com', ...args);
const index = () => readFileSync(join(root, 'services', 'service-list.ts'), 'utf8');

/** The definition a written service file exports (compiled and loaded, as synth would). */
function load(name: string): ServiceDefinition {
  const out = join(root, `${name}.js`);
  buildSync({
    entryPoints: [join(root, 'services', `${name}.ts`)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'warning',
  });
  return (require(out) as { default: ServiceDefinition }).default;
}

it('writes services/NAME.ts and adds one line to services/service-list.ts', () => {
  const before = index();
  const r = run('lamp-sync', '--dir', root);
  expect(r).toEqual({
    code: 0,
    stderr: '',
    stdout:
      'wrote services/lamp-sync.ts\n' +
      'approvers: user:ana@example.com (you, from git config user.email; others with --approvers; change them in services/lamp-sync.ts)\n' +
      "added lamp-sync to services/service-list.ts\nnext: edit services/lamp-sync.ts, then 'npm test' and 'npm run synth'\n",
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
    index: 'services/service-list.ts',
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
  const r = run('existing', '--dir', root);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    'new-service: services/existing.ts already exists\nhint: edit it, choose another name, or pass --force to overwrite it\n',
  );
  const before = index();
  const forced = run('existing', '--force', '--dir', root);
  expect(forced.code).toBe(0);
  expect(forced.stdout).toContain('services/service-list.ts already lists existing');
  expect(index()).toBe(before);
});

describe('rejects what synth would reject (the catalog validator, with the platform owner), exit 2, nothing written', () => {
  const rejected = (args: string[], message: string) => {
    const before = index();
    expect(run(...args, '--dir', root)).toEqual({ code: 2, stdout: '', stderr: `new-service: ${message}\n` });
    expect(index()).toBe(before);
  };
  it('a repository of another owner', () =>
    rejected(
      ['lamp', '--repo', 'someone-else/lamp'],
      "Microservice(lamp): 'repo' (\"someone-else/lamp\") must belong to the GitHub owner 'acme-lighting' that the platform manages; move the repository or set C2C_GITHUB_OWNER",
    ));
  it('a name too long for the trigger names', () =>
    rejected(
      ['a'.repeat(54)],
      `Microservice(${'a'.repeat(54)}): 'name' ("${'a'.repeat(54)}") is 54 characters; use at most 53 (it names Cloud Build triggers, limited to 64)`,
    ));
  it('a name Marathon reserves', () =>
    rejected(
      ['tasks'],
      [
        "Microservice(tasks) in staging: 'id' (\"/staging/tasks\") must not end with the reserved word 'tasks'; rename the app",
        "Microservice(tasks) in production: 'id' (\"/production/tasks\") must not end with the reserved word 'tasks'; rename the app",
      ].join('\n'),
    ));
});

it('--approvers writes the reviewers given, and says so', () => {
  const r = run('lamp-sync', '--approvers', 'group:lighting@example.com, user:ben@example.com', '--dir', root);
  expect([r.code, r.stdout.split('\n')[1]]).toEqual([
    0,
    'approvers: group:lighting@example.com, user:ben@example.com (from --approvers; change them in services/lamp-sync.ts)',
  ]);
  expect(load('lamp-sync').approvers).toEqual(['group:lighting@example.com', 'user:ben@example.com']);
});

it('without --approvers and without a git user.email nothing is written (exit 2, the flag to give)', () => {
  const before = index();
  const r = runAs(null, 'lamp-sync', '--dir', root);
  expect([r.code, r.stdout, r.stderr.split('\n')[0]]).toEqual([
    2,
    '',
    'new-service: no approvers: --approvers is not given and git config user.email is not set',
  ]);
  expect([existsSync(join(root, 'services', 'lamp-sync.ts')), index()]).toEqual([false, before]);
});

it('an approver that is not an IAM member is refused with the field, value and fix (exit 2)', () => {
  const r = run('lamp-sync', '--approvers', 'ana@example.com', '--dir', root);
  expect([r.code, r.stderr.split('\n')[0]]).toEqual([
    2,
    `new-service: Microservice(lamp-sync): 'approvers[0]' ("ana@example.com") must be an IAM member: 'user:…', 'group:…', 'serviceAccount:…' or 'domain:…'`,
  ]);
});

it('the file it writes is the starter definition, and passes the same validation as synth', () => {
  expect(run('lamp-sync', '--dir', root).code).toBe(0);
  const def = load('lamp-sync');
  expect(def).toEqual(starterDefinition('lamp-sync', 'acme-lighting/lamp-sync'));
  expect(validateService(def, { githubOwner: 'acme-lighting' })).toEqual([]);
  expect(packageOf(def).kind).toBe('image');
});

it('--artifact writes the artifact kind: a tarball built by make, started by cmd, no container', () => {
  const r = run('light-timer', '--artifact', '--dir', root);
  expect(r.code).toBe(0);
  const file = readFileSync(join(root, 'services', 'light-timer.ts'), 'utf8');
  expect(file).toContain("package: { kind: 'artifact', cmd: 'node server.js' },\n  build: 'make',\n");
  expect(file.trim().split('\n').length).toBeLessThanOrEqual(20);
  const def = load('light-timer');
  expect(def).toEqual(starterDefinition('light-timer', 'acme-lighting/light-timer', 'artifact'));
  expect(validateService(def, { githubOwner: 'acme-lighting' })).toEqual([]);
  const app = renderMarathonApp(def, 'staging', { artifact: { uri: 'https://b.example/app.tar.gz', sha256: 'f'.repeat(64) } });
  expect([app.cmd, app.container, app.fetch?.[0].uri]).toEqual([
    expect.stringMatching(/ && node server\.js$/),
    undefined,
    'https://b.example/app.tar.gz',
  ]);
});

it('--help documents the options and exit codes; missing NAME is a usage error (exit 2)', () => {
  const help = run('--help');
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: new-service [options] <name>');
  expect(help.stdout).toContain('--force');
  expect(help.stdout).toContain('--artifact');
  expect(help.stdout).toContain('Exit codes: 0 written; 2 invalid name or repository');
  const missing = run();
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("error: missing required argument 'name'");
});
