// `npm run pipeline` as a real process over a hand-written synthesized app (no Docker: list and --dry-run only).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'c2c-pipeline-cli-'));

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(join(dir, 'stacks/service-a'), { recursive: true });
  const step = (id: string, waitFor: string[], args: string[] = []) => ({
    id,
    name: 'node:20',
    entrypoint: 'bash',
    args,
    wait_for: waitFor,
  });
  writeFileSync(
    join(dir, 'stacks/service-a/cdk.tf.json'),
    JSON.stringify({
      resource: {
        google_cloudbuild_trigger: {
          pr: {
            name: 'a-pr',
            project: 'acme',
            location: 'eu',
            repository_event_config: { pull_request: { branch: '^main$' } },
            build: { step: [step('build', ['-'])], options: { substitution_option: 'MUST_MATCH' } },
          },
          push: {
            name: 'a-push',
            project: 'acme',
            location: 'eu',
            repository_event_config: { push: { branch: '^main$' } },
            substitutions: { _OBJ: '$(body.message.attributes.objectId)' },
            build: {
              step: [
                step('build', ['-'], ['-c', 'echo $_OBJ']),
                step('plan', ['build']),
                { id: 'tf', name: 'hashicorp/terraform:1.9.8', wait_for: ['plan'] },
              ],
            },
          },
        },
      },
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/scripts/pipeline.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: `unix://${join(dir, 'none.sock')}` },
  });

it('lists one line per trigger: name, stack, event', () => {
  const r = cli('list', '--outdir', dir);
  expect(r.status).toBe(0);
  expect(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/ {2,}/)),
  ).toEqual([
    ['a-pr', 'service-a', 'pull request'],
    ['a-push', 'service-a', 'push'],
  ]);
});

it('--dry-run shows the order and images, and Terraform steps as not runnable here', () => {
  const r = cli('run', 'a-push', '--outdir', dir, '--dry-run', '--substitution', '_OBJ=plans/x.json');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^build +after \[\] +c2c-standin\/node:/);
  expect(lines[1]).toMatch(/^plan +after \[build\] /);
  expect(lines[2]).toMatch(/^tf +after \[plan\] +not runnable here: terraform init needs the provider registry/);
});

it('exits 2 for a substitution the Pub/Sub message gives, an unused one in a MUST_MATCH build, and an unknown trigger', () => {
  const missing = cli('run', 'a-push', '--outdir', dir, '--dry-run');
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain('pipeline: a-push: substitution _OBJ comes from the Pub/Sub message that starts the build');
  const unused = cli('run', 'a-pr', '--outdir', dir, '--dry-run', '--substitution', '_X=1');
  expect(unused.status).toBe(2);
  expect(unused.stderr).toContain('pipeline: invalid build: key "_X" in the substitution data is not matched in the template');
  // A trigger's build that does not ask for MUST_MATCH is ALLOW_LOOSE, as Cloud Build runs triggered builds.
  const loose = cli('run', 'a-push', '--outdir', dir, '--dry-run', '--substitution', '_OBJ=plans/x.json', '--substitution', '_X=1');
  expect(loose.status).toBe(0);
  const unknown = cli('run', 'nope', '--outdir', dir);
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/^pipeline: no synthesized trigger is named 'nope'\nhint: run 'npm run pipeline -- list'/);
});

it('exits 1 naming the reason when no Docker engine answers', () => {
  const r = cli('run', 'a-pr', '--outdir', dir);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^pipeline: cannot run a-pr: no Docker engine answers/);
});

it('documents its exit codes in --help', () => {
  const r = cli('run', '--help');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('Exit codes: 0 every step ok; 1 a step failed');
});
