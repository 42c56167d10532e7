// The deploy CLI in-process: main(argv, io) with a catalog of fixture services (health checks every 0.2 s), against
// the local Marathon behind a recording proxy, so "nothing sent" is checked on the wire. stdout, stderr and the exit
// code of each command: 0 done, 1 failed, 2 bad usage/input (nothing sent or recorded), 3 refused by the gate,
// 130/143 interrupted. deploy-cli-process.test.ts starts the built CLI for what needs a real process (signals).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../../lib/catalog';
import { readPlanFile } from '../../lib/gate/plan-file';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { main } from '../../scripts/deploy/cli';
import { CliIo } from '../../scripts/deploy/context';
import { json, startServer } from '../lib/marathon/http-server';
import { makeImageStore, rawApp, recordingProxy, startMarathon, testService } from '../lib/deploy/helpers';
import { testKeys, TestKeys } from '../helpers/keys';
import { sink } from '../helpers/sink';
import { runDeployCli } from '../helpers/deploy-cli';

const APPROVER = 'ana@acme-lighting.example';
const catalog = new Catalog([
  testService('alpha', { approvers: [`user:${APPROVER}`] }),
  testService('beta', { approvers: [`user:${APPROVER}`] }),
]);

let lm: LocalMarathon;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let store: ReturnType<typeof makeImageStore>;
let work: string;
let keys: TestKeys;
const auditFile = () => join(work, 'audit.jsonl');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}, io: Partial<CliIo> = {}): Promise<Run> {
  return runDeployCli(args, {
    env: {
      CI: 'true',
      MARATHON_URL: proxy.url,
      DEPLOY_ACTOR: 'dev@acme-lighting.example',
      C2C_AUDIT_LOG: auditFile(),
      C2C_ALLOWED_SIGNERS: keys.allowedSigners,
      ...env,
    },
    catalog,
    ...io,
  });
}

/** Requests that change Marathon, as the proxy saw them since `from`. */
const changing = (from = 0) => proxy.seen.slice(from).filter((s) => !s.startsWith('GET '));
const auditText = () => (existsSync(auditFile()) ? readFileSync(auditFile(), 'utf8') : '');

beforeAll(async () => {
  store = makeImageStore(['alpha']);
  lm = await startMarathon(store.dir);
  proxy = await recordingProxy(lm.url);
  work = mkdtempSync(join(tmpdir(), 'c2c-cli-'));
  keys = testKeys(work, ['dev@acme-lighting.example', APPROVER]);
});
afterAll(async () => {
  await proxy.close();
  await lm.close();
  store.remove();
  rmSync(work, { recursive: true, force: true });
});

describe('deploy CLI', () => {
  it('--help documents the exit codes', async () => {
    const r = await cli(['apply', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: deploy apply [options]');
    expect(r.stdout).toContain('3  refused by the production gate');
    expect(r.stdout).toContain('130, 143  interrupted by Ctrl-C (SIGINT) or SIGTERM');
  });

  it('list prints the catalog names, one a line', async () => {
    expect(await cli(['list'])).toEqual({ code: 0, stdout: `${catalog.names().join('\n')}\n`, stderr: '' });
  });

  it('render prints the Marathon JSON with stamps and sends nothing', async () => {
    const before = proxy.seen.length;
    const r = await cli(['render', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--commit', 'abc1234']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      id: '/staging/alpha',
      container: { docker: { image: 'reg:5000/alpha:1' } },
      labels: { 'c2c.commit': 'abc1234', 'c2c.deployed-by': 'dev@acme-lighting.example' },
    });
    expect(proxy.seen.length).toBe(before);
  });

  it('bad input exits 2 with one line and a hint, and sends nothing', async () => {
    const before = proxy.seen.length;
    const unknown = await cli(['apply', '--service', 'nope', '--env', 'staging', '--image', 'reg:5000/nope:1']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(new RegExp(`^deploy: unknown service 'nope'\\nhint: known services: ${catalog.names().join(', ')}`));
    expect((await cli(['apply', '--service', 'alpha', '--env', 'qa', '--image', 'reg:5000/alpha:1'])).stderr).toContain(
      "deploy: --env 'qa' is not an environment",
    );
    expect((await cli(['apply', '--service', 'alpha', '--env', 'staging', '--image', 'not an image'])).code).toBe(2);
    expect((await cli(['apply', '--bogus'])).code).toBe(2);
    const production = await cli(['apply', '--service', 'alpha', '--env', 'production', '--image', 'reg:5000/alpha:1']);
    expect(production.code).toBe(2);
    expect(production.stderr).toContain('deploy: production is changed only through an approved plan');
    expect(proxy.seen.length).toBe(before);
  });

  it.each([
    [['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--tag', 'x'], '--tag only applies with --all'],
    [
      ['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--concurrency', '8'],
      '--concurrency only applies with --all',
    ],
    [['apply', '--all', '--env', 'staging', '--concurrency', 'lots'], "--concurrency 'lots' must be a whole number from 1 to 64"],
    [
      ['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--commit', 'xyz! $(rm -rf /)'],
      '--commit must be a commit sha',
    ],
    [
      ['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--commit-time', '2999-01-01T00:00:00Z'],
      'is in the future',
    ],
    [['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--timeout', '0.001'], "--timeout '0.001' must be"],
    [['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--max-task-failures', '0'], '--max-task-failures'],
    [
      ['plan', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--registry', 'notaurl'],
      '--registry must be an http(s) URL',
    ],
    [['status', '--timeout', '0.5'], "--timeout '0.5' must be"],
  ])('%j is exit 2 with the reason, sends and records nothing', async (args, reason) => {
    const before = proxy.seen.length;
    const audit = auditText();
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(reason);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('deploy: '))).toHaveLength(1);
    expect(r.stderr).not.toContain('    at ');
    expect(proxy.seen.length).toBe(before);
    expect(auditText()).toBe(audit);
  });

  it('file targets that cannot be written are exit 2 before anything is recorded, and leave no temporary file', async () => {
    const dir = join(work, 'a-directory');
    mkdirSync(dir, { recursive: true });
    const audit = auditText();
    const before = proxy.seen.length;
    const plan = (out: string, env: Record<string, string> = {}) =>
      cli(['plan', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--out', out], env);
    const intoDir = await plan(dir);
    expect(intoDir.code).toBe(2);
    expect(intoDir.stderr).toMatch(/^deploy: --out '.*a-directory' is a directory\nhint: /);
    const proc = await plan('/proc/x');
    expect(proc.code).toBe(2);
    expect(proc.stderr).toMatch(/^deploy: --out '\/proc\/x' cannot be written/);
    const auditDir = await plan(join(work, 'p.json'), { C2C_AUDIT_LOG: dir });
    expect(auditDir.code).toBe(2);
    expect(auditDir.stderr).toMatch(/^deploy: C2C_AUDIT_LOG '.*a-directory' is a directory/);
    expect(auditText()).toBe(audit);
    expect(proxy.seen.length).toBe(before);
    expect(readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('apply deploys, shows progress on stderr and the result on stdout (exit 0)', async () => {
    const before = proxy.seen.length;
    const r = await cli(['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--commit', 'abc1234']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deployed reg:5000\/alpha:1 to \/staging\/alpha: version \S+ \(1\/1\/1 healthy\/running\/wanted/);
    // The step line shows only when a poll sees the deployment in flight; the wait tests cover it deterministically.
    expect(r.stderr).toMatch(/\/staging\/alpha: deployment \S+ started/);
    expect(r.stderr).toContain('/staging/alpha: healthy 1 of 1');
    expect(changing(before).filter((s) => s.startsWith('PUT'))).toEqual(['PUT /v2/apps/staging/alpha?partialUpdate=false']);
  });

  it('without a terminal, prints "still waiting: H of N healthy, T s of D s" lines while it waits', async () => {
    await fetch(`${lm.url}/__local/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'unhealthy', appId: '/staging/beta', count: 10 }),
    });
    const r = await cli(
      ['apply', '--service', 'beta', '--env', 'staging', '--image', 'reg:5000/beta:1', '--timeout', '60'],
      {},
      {
        progressEveryMs: 300,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^still waiting: (deploying beta to staging|\d of 1 healthy), \d+ s of 60 s$/m);
  });

  it('on a terminal, a spinner shows what it waits for, the time so far and the deadline', async () => {
    await fetch(`${lm.url}/__local/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'unhealthy', appId: '/staging/beta', count: 10 }),
    });
    const err = sink();
    const out = sink();
    Object.assign(err.stream, { isTTY: true });
    const code = await main(['apply', '--service', 'beta', '--env', 'staging', '--image', 'reg:5000/beta:2', '--timeout', '60'], {
      stdout: out.stream,
      stderr: err.stream,
      env: { MARATHON_URL: proxy.url, DEPLOY_ACTOR: 'dev@acme-lighting.example', C2C_AUDIT_LOG: auditFile() },
      catalog,
    });
    expect(code).toBe(0);
    const clearLine = '\r\u001b[K';
    expect(err.text().split(clearLine)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] deploying beta to staging(: \d of 1 healthy)?, \d+ s of 60 s$/)]),
    );
    expect(err.text()).not.toContain('still waiting');
  });

  it('plan prints the diff and writes a plan file; apply --plan applies it (staging: no approval) and stamps the plan id', async () => {
    const before = proxy.seen.length;
    const out = join(work, 'staging.plan.json');
    const p = await cli(['plan', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:2', '--out', out]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('~ container.docker.image: "reg:5000/alpha:1" -> "reg:5000/alpha:2"');
    expect(p.stderr).toContain(`plan written to ${out}`);
    expect(changing(before)).toEqual([]);
    const plan = JSON.parse(readFileSync(out, 'utf8')) as { id: string };
    const a = await cli(['apply', '--plan', out, '--json']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ ok: true, outcome: 'deployed', image: 'reg:5000/alpha:2' });
    expect((await rawApp(lm.url, '/staging/alpha'))?.labels).toMatchObject({ 'c2c.plan-id': plan.id });
  });

  it('apply --plan for production without an approval is refused with exit 3, sending nothing that changes Marathon', async () => {
    const out = join(work, 'prod.plan.json');
    const planned = await cli(['plan', '--service', 'alpha', '--env', 'production', '--image', 'reg:5000/alpha:2', '--out', out], {
      DEPLOY_SIGNING_KEY: keys.key('dev@acme-lighting.example'),
    });
    expect(planned.code).toBe(0);
    const before = proxy.seen.length;
    const r = await cli(['apply', '--plan', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(`\\ndeploy: plan [0-9a-f]{12} for alpha in production has no approval\\nhint: ask one of user:${APPROVER}`),
    );
    expect(changing(before)).toEqual([]);
    expect(auditText()).toContain('"gate.refused"');
  });

  it('apply --plan for production with an approval deploys and stamps plan id and approver; the same plan again is a no-op', async () => {
    const out = join(work, 'prod.plan.json');
    const plan = await readPlanFile(out);
    const approved = await cli(['approve', out, '--comment', 'lgtm', '--key', keys.key(APPROVER)]);
    expect(approved.code === 0 ? 'ok' : approved.stderr).toBe('ok');
    const r = await cli(['apply', '--plan', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deployed reg:5000\/alpha:2 to \/production\/alpha: version \S+ \(1\/1\/1 healthy\/running\/wanted/);
    expect((await rawApp(lm.url, '/production/alpha'))?.labels).toMatchObject({ 'c2c.plan-id': plan.id, 'c2c.approved-by': APPROVER });
    // Its own version is live: applying it again resumes nothing and sends nothing (it is not "stale").
    const before = proxy.seen.length;
    const again = await cli(['apply', '--plan', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^no change: \/production\/alpha already runs reg:5000\/alpha:2/);
    expect(changing(before)).toEqual([]);
  });

  it('an image whose tasks keep failing exits 1 fast with the reason and says it was rolled back', async () => {
    const r = await cli(['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:broken', '--timeout', '120']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /deploy: deploy of reg:5000\/alpha:broken to \/staging\/alpha failed, rolled back to \S+ .*: task failed: Process exited with status 125 \(3 failed tasks/,
    );
    expect(r.stderr).toContain("hint: fix the image or its health check, then deploy again; 'deploy status --service alpha --env staging'");
    expect(r.stderr).not.toContain('    at ');
  });

  it('rollback restores the previous release (exit 0)', async () => {
    const r = await cli(['rollback', '--service', 'alpha', '--env', 'staging']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rolled back \/staging\/alpha to version \S+ \(reg:5000\/alpha:1\)/);
  });

  it('status --json lists every service of the catalog per environment', async () => {
    const r = await cli(['status', '--env', 'staging', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { service: string; state: string }[];
    expect(rows.map((x) => x.service)).toEqual(catalog.names());
    expect(rows.find((x) => x.service === 'alpha')?.state).toBe('healthy');
    const text = (await cli(['status', '--env', 'staging'])).stdout.split('\n');
    expect(text.find((l) => l.includes(' alpha '))).toMatch(
      / alpha +│ staging │ healthy │ alpha:1 │ abc1234 │ dev@acme-lighting\.example │ \d+[smhd] +│ 1 healthy of 1 │ none /,
    );
    const production = (await cli(['status', '--env', 'production'])).stdout.split('\n');
    expect(production.find((l) => l.includes(' beta '))).toMatch(
      / beta +│ production │ missing +│ - +│ - +│ - +│ - +│ - +│ not deployed │/,
    );
    expect(Math.max(...text.map((l) => l.length))).toBeLessThanOrEqual(110);
  });

  it('--timeout 2 on a deployment that never finishes ends the command: exit 1, rolled back (or its rollback started)', async () => {
    await fetch(`${lm.url}/__local/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'hang', appId: '/staging/alpha', count: 1 }),
    });
    const r = await cli(['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:slow', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /\ndeploy: deploy of reg:5000\/alpha:slow to \/staging\/alpha failed(, (rolled back to|removed the new app) \S+.*|: .*rollback started \(deployment \S+\), not yet healthy at the deadline)\n/,
    );
    expect(r.stderr).toMatch(/did not finish in time/);
  });

  it('a 401 names the variable that held the credentials, never their value (exit 1)', async () => {
    const s = await startServer((_req, res) => json(res, 401, { message: 'Invalid username or password.' }));
    try {
      const r = await cli(['status', '--env', 'staging'], { MARATHON_URL: s.url, MARATHON_CREDENTIALS: 'ci:pa55word' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('using the credentials from MARATHON_CREDENTIALS');
      expect(r.stderr + r.stdout).not.toMatch(/pa55word|ci:/);
    } finally {
      await s.close();
    }
  });

  it('malformed JSON from Marathon is exit 1 "Marathon answered something unexpected", never a status table', async () => {
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"apps": [');
    });
    try {
      const r = await cli(['status', '--env', 'staging'], { MARATHON_URL: s.url });
      expect(r).toMatchObject({ code: 1, stdout: '' });
      expect(r.stderr).toMatch(/^deploy: Marathon answered something unexpected to GET \/v2\/\S+: the body is not JSON\n/);
    } finally {
      await s.close();
    }
  });

  it('a server that accepts and never answers: status --timeout 2 ends with exit 1 at the deadline', async () => {
    const s = await startServer(() => undefined);
    try {
      const r = await cli(['status', '--env', 'staging', '--timeout', '2'], { MARATHON_URL: s.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/deploy: Marathon at http:\/\/127\.0\.0\.1:\d+ did not answer GET \/v2\/\S+ before the deadline/);
    } finally {
      await s.close();
    }
  });

  it.each([
    ['http://admin:Pa/ss@', 'MARATHON_URL_STAGING'],
    ['http://admin:P@ss%zz@ho st', 'MARATHON_URL_STAGING'],
  ])('a Marathon URL with credentials that does not parse (%s) is exit 2 naming %s, in text and --json', async (url, variable) => {
    for (const args of [
      ['status', '--env', 'staging'],
      ['apply', '--service', 'alpha', '--env', 'staging', '--image', 'reg:5000/alpha:1', '--json'],
    ]) {
      const r = await cli(args, { MARATHON_URL_STAGING: url });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`deploy: ${variable} is not an http(s) URL`);
      expect(r.stdout + r.stderr).not.toMatch(/admin|Pa\/ss|P@ss/);
    }
  });

  it('writes the audit trail of what it did', () => {
    const types = auditText()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(
      expect.arrayContaining([
        'apply.started',
        'apply.succeeded',
        'plan.created',
        'gate.refused',
        'apply.rolled-back',
        'rollback.succeeded',
      ]),
    );
  });
});
