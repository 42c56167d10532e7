// The deploy CLI as a newcomer meets it (issue 24): from a sub-directory, with a relative path, an image reference with
// a capital letter, a broken service file next to good ones, a Marathon that does not answer. Exit code and the first
// line the user reads; in-process (main) unless only a real `npm run` shows it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, ServiceDefinition } from '../../lib/catalog';
import { main } from '../../scripts/deploy/cli';
import { CliIo } from '../../scripts/deploy/context';
import { serviceDefinitions } from '../../services';
import { testService } from '../lib/deploy/helpers';
import { json, startServer } from '../lib/marathon/http-server';
import { sink } from '../helpers/sink';

const ROOT = join(__dirname, '../..');
const good = testService('alpha');
const broken = { ...testService('ledger'), mem: '256' } as unknown as ServiceDefinition;
let work: string;

async function cli(args: string[], env: Record<string, string> = {}, io: Partial<CliIo> = {}) {
  const out = sink();
  const err = sink();
  const code = await main(args, {
    stdout: out.stream,
    stderr: err.stream,
    env: { CI: 'true', DEPLOY_ACTOR: 'dev@acme.example', C2C_AUDIT_LOG: join(work, 'audit.jsonl'), ...env },
    catalog: Catalog.tolerant([good, broken]),
    ...io,
  });
  const stderr = err.text();
  return { code, stdout: out.text(), stderr, first: stderr.split('\n')[0] };
}

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'c2c-newcomer-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('`npm run --silent deploy -- list` works from templates/service-repo (exit 0, the catalog on stdout)', () => {
  const r = spawnSync('npm', ['run', '--silent', 'deploy', '--', 'list'], { cwd: join(ROOT, 'templates/service-repo'), encoding: 'utf8' });
  const names = serviceDefinitions.map((s) => s.name).sort((a, b) => a.localeCompare(b));
  expect([r.status, r.stdout.split('\n')[0]]).toEqual([0, names[0]]);
});

it('a sub-directory with no platform checkout above it says so, even under --silent (exit 2)', () => {
  const r = spawnSync('npm', ['run', '--silent', 'deploy', '--', 'list'], {
    cwd: join(ROOT, 'templates/service-repo'),
    encoding: 'utf8',
    env: { ...process.env, C2C_HOME: work },
  });
  expect([r.status, r.stderr.split('\n')[0]]).toEqual([
    2,
    `deploy: no commit-to-cloud checkout at ${work} (the deploy CLI runs from it); set C2C_HOME to its directory`,
  ]);
});

it('a relative path is resolved against the directory the command was typed in (npm: INIT_CWD)', async () => {
  writeFileSync(join(work, 'mine.json'), '{}');
  const r = await cli(['apply', '--plan', 'mine.json'], { INIT_CWD: work });
  expect([r.code, r.first]).toEqual([
    2,
    `deploy: '${join(work, 'mine.json')}' is not a commit-to-cloud plan (format undefined, missing format, id, service, environment, image, app, diff, createdBy, createdAt)`,
  ]);
});

it('an image reference with an upper-case repository is exit 2 before anything is sent, with the fix', async () => {
  const r = await cli(['render', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/Alpha:abc123']);
  expect([r.code, r.first]).toEqual([
    2,
    "deploy: --image 'reg:5000/Alpha:abc123' has an upper-case repository 'Alpha'; repository names are lower-case: use 'reg:5000/alpha:abc123'",
  ]);
});

it('a broken service file does not stop `deploy list`: the others are listed, the broken one is named with its fix', async () => {
  const r = await cli(['list']);
  expect([r.code, r.stdout, r.first]).toEqual([
    0,
    'alpha\n',
    `deploy: ledger is left out, its service file breaks a rule: Microservice(ledger): 'mem' ("256") must be a number, not a string; write mem: 256 (no quotes)`,
  ]);
});

it('a command about the broken service is exit 2 with the field, value and fix; one about another service works', async () => {
  const bad = await cli(['render', '--service', 'ledger', '--env', 'staging', '--image', 'reg:5000/ledger:1']);
  expect([bad.code, bad.first]).toEqual([
    2,
    `deploy: Microservice(ledger): 'mem' ("256") must be a number, not a string; write mem: 256 (no quotes)`,
  ]);
  expect((await cli(['render', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1'])).code).toBe(0);
});

it('an unreachable Marathon: one line says it retries, then the error; --verbose shows each attempt', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const r = await cli(['status', '--env', 'staging', '--timeout', '3', '--marathon', url]);
  const retryLines = r.stderr.split('\n').filter((l) => l.includes('retrying'));
  expect([r.code, retryLines]).toEqual([
    1,
    ['  Marathon does not answer (connection refused); retrying with backoff (--verbose shows each attempt)'],
  ]);
  expect(r.stderr.split('\n')[1]).toMatch(/^deploy: Marathon at http:\/\/127\.0\.0\.1:\d+ did not answer GET /);
  const verbose = await cli(['status', '--env', 'staging', '--timeout', '3', '--marathon', url, '--verbose']);
  expect(verbose.stderr.split('\n').filter((l) => l.startsWith('  retrying GET ')).length).toBeGreaterThan(1);
});

it("a subcommand's --help names DEPLOY_SIGNING_KEY", async () => {
  const r = await cli(['approve', '--help']);
  expect([r.code, r.stdout]).toEqual([0, expect.stringContaining('DEPLOY_SIGNING_KEY   SSH key that signs plans and approvals')]);
});

it('an unsigned production plan names only commands that work for it, written for npm when run by npm', async () => {
  const marathon = await startServer((_req, res) => json(res, 404, { message: `App '/production/alpha' does not exist` }));
  try {
    const out = join(work, 'p.json');
    const env = { MARATHON_URL: marathon.url, npm_lifecycle_event: 'deploy', DEPLOY_SIGNING_KEY: '', HOME: work };
    const r = await cli(['plan', '--service', 'alpha', '--env', 'production', '--image', 'reg:5000/alpha:1', '--out', out], env);
    const next = r.stderr.split('\n').find((l) => l.startsWith('next: '));
    expect([r.code, next]).toEqual([
      0,
      "next: a reviewer approves the waiting production build in Cloud Build, which applies this plan; to approve it with 'npm run deploy -- approve' instead, plan again with your key: 'npm run deploy -- plan --service alpha --env production --image reg:5000/alpha:1 --key PATH'",
    ]);
  } finally {
    await marathon.close();
  }
});
