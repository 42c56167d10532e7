// `--smoke-test DIR`: the runner (scripts/deploy/smoke-test.ts) runs a real smoke script with bash against a real
// loopback HTTP server (pass, fail with its output, timeout, Ctrl-C), and the CLI's option parsing and refusals
// (nothing is sent to Marathon when the option is wrong). The rollout that a failing smoke test aborts runs through a
// real HAProxy in deploy-rollout.docker.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../../lib/catalog';
import { C2CError } from '../../lib/errors';
import { runSmokeTest, smokeTestOf } from '../../scripts/deploy/smoke-test';
import { startServer } from '../lib/marathon/http-server';
import { testService } from '../lib/deploy/helpers';
import { runDeployCli } from '../helpers/deploy-cli';

/** GETs $SERVICE_URL/ping with node, prints what it got, exits 0 on 200 and 1 otherwise. */
const SMOKE = `#!/usr/bin/env bash
node -e '
fetch(process.env.SERVICE_URL + "/ping").then(async (r) => {
  console.log("status " + r.status + ": " + (await r.text()));
  process.exit(r.status === 200 ? 0 : 1);
}, (e) => { console.error("no answer: " + e.message); process.exit(1); });
'
`;

const canary = testService('shop', {
  instances: 2,
  ports: [{ name: 'http', containerPort: 8080, servicePort: 10_751 }],
  virtualHost: 'shop.example.com',
  strategy: { kind: 'canary', altPort: 10_752, keepOldMinutes: 15, steps: [{ percent: 50 }, { percent: 100 }] },
});
const rolling = testService('plain');

let dir: string;
let server: Awaited<ReturnType<typeof startServer>>;
/** What the server answers next: status and body. */
let answer = { status: 200, body: 'pong' };
/** Called on each request (the Ctrl-C test aborts from here). */
let onRequest = () => {};

beforeAll(async () => {
  server = await startServer((_req, res) => {
    onRequest();
    res.writeHead(answer.status, { 'content-type': 'text/plain' });
    res.end(answer.body);
  });
});
afterAll(() => server.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-smoke-'));
  writeFileSync(join(dir, 'e2e.sh'), SMOKE, { mode: 0o755 });
  answer = { status: 200, body: 'pong' };
  onRequest = () => {};
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Whether `pid` runs (a zombie that no init reaps here counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const run = (command = './e2e.sh', timeoutMs = 20_000, signal?: AbortSignal) =>
  runSmokeTest({ command, dir, env: { PATH: process.env.PATH }, timeoutMs, ...(signal ? { signal } : {}) }, server.url);

describe('runSmokeTest', () => {
  it('passes when the script exits 0 against SERVICE_URL, run in DIR', async () => {
    await expect(run()).resolves.toEqual({ ok: true });
    expect(server.received.some((r) => r.path === '/ping')).toBe(true);
  });

  it('fails with the exit code and the last output lines, control characters escaped', async () => {
    answer = { status: 500, body: 'broken \x1b[31mred\x1b[0m' };
    const r = await run();
    expect(r.ok).toBe(false);
    expect(r.detail).toContain("'./e2e.sh' exited 1");
    expect(r.detail).toContain('status 500: broken \\x1b[31mred\\x1b[0m');
    expect(r.detail).not.toContain('\x1b');
  });

  it("gets the CLI's environment without Marathon's credentials", async () => {
    const env = {
      PATH: process.env.PATH,
      TEAM: 'lighting',
      MARATHON_TOKEN: 'tok',
      MARATHON_CREDENTIALS: 'u:p',
      MARATHON_URL: 'http://u:p@marathon:8080',
      MARATHON_URL_STAGING: 'http://marathon:8080',
    };
    const r = await runSmokeTest(
      { command: 'env | grep -E "^(TEAM|MARATHON|SERVICE_URL)" | sort; exit 1', dir, env, timeoutMs: 20_000 },
      server.url,
    );
    expect(r.detail).toContain(`last output: MARATHON_URL_STAGING=http://marathon:8080 | SERVICE_URL=${server.url} | TEAM=lighting`);
    expect(r.detail).not.toMatch(/MARATHON_TOKEN|MARATHON_CREDENTIALS|u:p/);
  });

  it('keeps only the last lines of a long output', async () => {
    const r = await run('for i in $(seq 1 100); do echo line$i; done; exit 3');
    expect(r.detail).toContain('exited 3');
    expect(r.detail).toContain('line100');
    expect(r.detail).toContain('line81');
    expect(r.detail).not.toMatch(/\bline80\b/);
  });

  it('kills a run that outlasts the timeout, and what it started', async () => {
    const pidFile = join(dir, 'child.pid');
    // 1.5 s: long enough for a loaded machine's shell to reach `echo started`, far short of the sleep.
    const r = await run(`sleep 30 & echo $! > ${pidFile}; echo started; wait`, 1500);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('did not finish within 1.5 s (killed)');
    expect(r.detail).toContain('started');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(false); // the background sleep is gone too
  });

  it('on Ctrl-C kills the smoke test and rejects with INTERRUPTED (the rollout is not aborted)', async () => {
    const ac = new AbortController();
    onRequest = () => ac.abort('SIGINT');
    const marker = join(dir, 'after');
    const p = run(`node -e 'fetch(process.env.SERVICE_URL + "/ping")'; sleep 30; touch ${marker}`, 20_000, ac.signal);
    await expect(p).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('smokeTestOf', () => {
  const io = { env: { PATH: process.env.PATH } };

  it('is undefined without --smoke-test, and runs the catalog command in DIR with it', async () => {
    expect(smokeTestOf(io, canary, {})).toBeUndefined();
    const test = smokeTestOf(io, canary, { smokeTest: dir, smokeTimeout: 20 });
    await expect(test!(server.url, { index: 1, percent: 50, newInstances: 1, pause: 'promote' })).resolves.toEqual({ ok: true });
  });

  it('refuses a DIR that does not exist, naming the flag, the value and the fix', () => {
    const missing = join(dir, 'nope');
    let error: C2CError | undefined;
    try {
      smokeTestOf(io, canary, { smokeTest: missing });
    } catch (e) {
      error = e as C2CError;
    }
    expect(error).toMatchObject({ code: 'USAGE', message: `--smoke-test '${missing}' is not a directory` });
    expect(error!.hint).toContain("checkout of shop's repository");
    expect(() => smokeTestOf(io, canary, { smokeTest: join(dir, 'e2e.sh') })).toThrow(/is not a directory/);
  });

  it('refuses a rolling service (no steps to analyse) and --smoke-timeout without --smoke-test', () => {
    expect(() => smokeTestOf(io, rolling, { smokeTest: dir })).toThrow(
      /only applies to blue\/green and canary.*plain releases by a rolling/,
    );
    expect(() => smokeTestOf(io, canary, { smokeTimeout: 30 })).toThrow(/--smoke-timeout only applies with --smoke-test/);
  });
});

describe('deploy apply / promote --smoke-test', () => {
  const catalog = new Catalog([canary, rolling]);
  const cli = async (args: string[]) => {
    const marathon = await startServer((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    try {
      const r = await runDeployCli(args, {
        env: { CI: 'true', MARATHON_URL: marathon.url, MARATHON_LB_URL: server.url, DEPLOY_ACTOR: 'dev@example.com' },
        catalog,
      });
      return { ...r, sent: marathon.received.length };
    } finally {
      await marathon.close();
    }
  };

  it('--help lists --smoke-test and --smoke-timeout on apply and promote', async () => {
    for (const command of ['apply', 'promote']) {
      const r = await cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--smoke-test <dir>/);
      expect(r.stdout).toMatch(/--smoke-timeout <seconds>/);
    }
  });

  it('refuses a missing DIR, a rolling service, --all and a bad timeout with exit 2, sending nothing', async () => {
    const image = ['--env', 'staging', '--image', 'reg:5000/shop:1'];
    const cases: [string[], RegExp][] = [
      [['apply', '--service', 'shop', ...image, '--smoke-test', join(dir, 'nope')], /--smoke-test '.*nope' is not a directory/],
      [['promote', 'shop', '--env', 'staging', '--smoke-test', join(dir, 'nope')], /--smoke-test '.*nope' is not a directory/],
      [['apply', '--service', 'plain', ...image, '--smoke-test', dir], /--smoke-test only applies to blue\/green and canary/],
      [['apply', '--all', '--env', 'staging', '--smoke-test', dir], /--smoke-test does not apply with --all/],
      [['apply', '--service', 'shop', ...image, '--smoke-test', dir, '--smoke-timeout', '0'], /--smoke-timeout '0' must be a whole number/],
      [['apply', '--service', 'shop', ...image, '--smoke-timeout', '30'], /--smoke-timeout only applies with --smoke-test/],
      [
        ['apply', '--plan', join(dir, 'plan.json'), '--approval', 'cloudbuild', '--smoke-test', dir],
        /--smoke-test is not allowed with --approval cloudbuild/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code, sent: r.sent }).toEqual({ args, code: 2, sent: 0 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint: /);
    }
  });
});
