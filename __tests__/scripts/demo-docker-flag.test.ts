// The main job's --docker flag as a real process, without a Docker engine (DOCKER_HOST names a socket nobody
// listens on): `always` fails at once with the reason and the fix, before anything is started or written.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'c2c-demo-flag-'));

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function demo(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'dist/scripts/demo.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: `unix://${join(work, 'no-engine.sock')}` },
  });
}

it('--docker always without an engine exits 1 with the reason and the fix, and starts nothing', () => {
  const r = demo(['--docker', 'always', '--workdir', join(work, 'demo')]);
  expect(r.status).toBe(1);
  const [first, hint] = r.stderr.trim().split('\n');
  expect(first).toMatch(/^demo: --docker always: no (Docker engine answers \(.+\)|docker command on PATH)$/);
  expect(hint).toBe(
    'hint: start the engine (`dockerd &`, or `sudo systemctl start docker`), or run with --docker auto (or never) to use the stand-in',
  );
  expect(r.stdout).toBe('');
  expect(existsSync(join(work, 'demo', 'registry'))).toBe(false);
});

it('rejects an unknown --docker mode as bad usage (exit 2)', () => {
  const r = demo(['--docker', 'sometimes']);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain("option '--docker <mode>' argument 'sometimes' is invalid. Allowed choices are auto, never, always.");
});
