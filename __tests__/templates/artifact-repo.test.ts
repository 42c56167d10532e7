// The artifact seed (templates/artifact-repo) keeps the build contract with make: `make` builds dist/app.tar.gz and
// runs the unit tests last, non-zero when they fail; the tarball is reproducible; and unpacked in a sandbox, the
// starter service's `cmd` runs it and answers its health check, as Marathon's fetcher and executor would.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { artifactFile, packageOf } from '../../lib/catalog';
import { starterDefinition } from '../../lib/scaffold';

const template = join(__dirname, '..', '..', 'templates', 'artifact-repo');
const dir = mkdtempSync(join(tmpdir(), 'c2c-artifact-repo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const starter = starterDefinition('light-timer', 'acme-lighting/light-timer', 'artifact');
let built = ''; // the repository copy built by the first test

function repoCopy(name: string): string {
  const repo = join(dir, name);
  cpSync(template, repo, { recursive: true });
  return repo;
}
const make = (cwd: string) => spawnSync('make', [], { cwd, encoding: 'utf8' });
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

it('make builds the artifact the starter service names, then runs the unit tests (last)', () => {
  const repo = repoCopy('ok');
  const r = make(repo);
  built = repo;
  expect(r.status).toBe(0);
  expect(r.stdout.indexOf('--- build')).toBeLessThan(r.stdout.indexOf('--- unit tests'));
  expect(r.stdout).toMatch(/# pass 5\b/);
  expect(sha256(join(repo, artifactFile(starter)))).toMatch(/^[0-9a-f]{64}$/);
});

it('the tarball is reproducible: a second build of the same files has the same SHA-256', () => {
  const again = repoCopy('again');
  expect(make(again).status).toBe(0);
  expect(sha256(join(again, 'dist', 'app.tar.gz'))).toBe(sha256(join(built, 'dist', 'app.tar.gz')));
});

it('a failing unit test makes make exit non-zero', () => {
  const repo = repoCopy('failing');
  writeFileSync(join(repo, 'test', 'fails.test.js'), "require('node:test')('fails', () => { throw new Error('no'); });\n");
  expect(make(repo).status).not.toBe(0);
});

it("unpacked in a sandbox, the starter's cmd starts it on $PORT0 and /health answers 200", async () => {
  const sandbox = join(dir, 'sandbox');
  mkdirSync(sandbox);
  expect(spawnSync('tar', ['-xzf', join(built, 'dist', 'app.tar.gz'), '-C', sandbox]).status).toBe(0);
  const pkg = packageOf(starter);
  const cmd = pkg.kind === 'artifact' ? pkg.cmd : undefined;
  const task = spawn('sh', ['-c', `exec ${cmd}`], { cwd: sandbox, env: { ...process.env, PORT0: '0', MESOS_SANDBOX: sandbox } });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      task.on('exit', (code) => reject(new Error(`the task exited ${code}`)));
      createInterface({ input: task.stdout }).on('line', (line) => {
        const m = /^listening on :(\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      });
    });
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) });
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }]);
  } finally {
    const exited = new Promise((resolve) => task.once('exit', resolve));
    if (task.exitCode === null && task.signalCode === null) {
      task.kill('SIGTERM');
      await exited;
    }
  }
});
