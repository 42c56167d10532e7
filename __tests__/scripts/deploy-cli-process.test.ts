// The built deploy CLI as a real process, for what only a process shows: SIGINT and SIGTERM while an apply waits.
// The first signal stops waiting, records apply.interrupted, says what keeps running and how to resume or roll back,
// and exits 130 (SIGINT) or 143 (SIGTERM); a second signal exits at once. Uses the first service of the fleet,
// whatever services/ holds.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { serviceDefinitions } from '../../services';
import { json, startServer } from '../lib/marathon/http-server';
import { fault, startMarathon } from '../lib/deploy/helpers';

const ROOT = join(__dirname, '../..');
const CLI = join(ROOT, 'dist/scripts/deploy.js');
const SERVICE = serviceDefinitions[0].name;
const ACTOR = 'dev@acme-lighting.example';

let lm: LocalMarathon;
let work: string;

interface Started {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Resolves when stderr contains `text`. */
  waitFor(text: string | RegExp): Promise<void>;
  exited: Promise<number | null>;
}

function start(args: string[], marathonUrl: string): Started {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: work,
    env: {
      PATH: process.env.PATH,
      HOME: work,
      CI: 'true',
      MARATHON_URL: marathonUrl,
      DEPLOY_ACTOR: ACTOR,
      C2C_AUDIT_LOG: join(work, 'audit.jsonl'),
    },
  });
  let err = '';
  let out = '';
  const waiters: { test: string | RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (typeof w.test === 'string' ? err.includes(w.test) : w.test.test(err)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
    check();
  });
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    waitFor: (test) =>
      new Promise<void>((resolve) => {
        waiters.push({ test, resolve });
        check();
      }),
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
}

const auditTypes = () =>
  readFileSync(join(work, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; deploymentId?: string; actor: string });

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--quiet', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
  lm = await startMarathon(mkdtempSync(join(tmpdir(), 'c2c-images-')));
  work = mkdtempSync(join(tmpdir(), 'c2c-cli-proc-'));
}, 60_000);
afterAll(async () => {
  await lm.close();
  rmSync(work, { recursive: true, force: true });
});

describe('deploy CLI signals', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while apply waits: exit %i, says what keeps running and how to resume or roll back', async (signal, code) => {
    const appId = `/staging/${SERVICE}`;
    await fault(lm.url, { kind: 'hang', appId, count: 1 });
    const image = `reg:5000/${SERVICE}:${signal.toLowerCase()}`;
    const p = start(['apply', '--service', SERVICE, '--env', 'staging', '--image', image], lm.url);
    await p.waitFor(/deployment \S+ started \(version \S+\)/);
    p.child.kill(signal);
    expect(await p.exited).toBe(code);
    const deploymentId = /deployment (\S+) started/.exec(p.stderr())?.[1] as string;
    expect(p.stderr()).toContain(`\ndeploy: interrupted: deployment ${deploymentId} of ${appId} (version `);
    expect(p.stderr()).toContain(`started by ${ACTOR}) keeps running; nothing was rolled back\n`);
    expect(p.stderr()).toContain(
      `hint: resume watching with 'deploy apply --service ${SERVICE} --env staging --image ${image}', or roll it back with 'deploy rollback --service ${SERVICE} --env staging --force'`,
    );
    expect(p.stderr()).not.toContain('    at ');
    const last = auditTypes().pop();
    expect(last).toMatchObject({ type: 'apply.interrupted', deploymentId, actor: ACTOR, reason: signal });
    // The deployment keeps running, and status says whose it is.
    const status = start(['status', '--env', 'staging', '--service', SERVICE], lm.url);
    expect(await status.exited).toBe(0);
    expect(status.stdout()).toContain(`${deploymentId.slice(0, 8)} step`);
    expect(status.stdout()).toContain(` ${ACTOR} `);
    await fetch(`${lm.url}/v2/deployments/${deploymentId}?force=true`, { method: 'DELETE' });
  });

  it('a second Ctrl-C exits at once (here while the PUT, which is let finish, has no answer)', async () => {
    const s = await startServer((req, res) => {
      if (req.method === 'GET') json(res, 404, { message: 'App does not exist' });
      // PUT: never answered
    });
    try {
      const p = start(['apply', '--service', SERVICE, '--env', 'staging', '--image', `reg:5000/${SERVICE}:1`], s.url);
      await p.waitFor('submitting');
      await new Promise<void>((resolve) => {
        const check = () => (s.received.some((r) => r.method === 'PUT') ? resolve() : setImmediate(check));
        check();
      });
      p.child.kill('SIGINT');
      await p.waitFor('SIGINT: stopping');
      p.child.kill('SIGINT');
      expect(await p.exited).toBe(130);
      expect(p.stderr()).not.toContain('deploy: interrupted');
    } finally {
      await s.close();
    }
  });
});

describe('bin/deploy', () => {
  it('runs the CLI without npm from any directory: render prints the app, a usage error is exit 2 with a hint', () => {
    const run = (args: string[]) =>
      spawnSync(join(ROOT, 'bin/deploy'), args, { cwd: work, env: { PATH: process.env.PATH, HOME: work, CI: 'true' }, encoding: 'utf8' });
    const image = `registry.internal:5000/${SERVICE}:1a2b3c4`;
    const ok = run(['render', '--service', SERVICE, '--env', 'staging', '--image', image]);
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    const app = JSON.parse(ok.stdout) as { id: string; container: { docker: { image: string } } };
    expect([app.id, app.container.docker.image]).toEqual([`/staging/${SERVICE}`, image]);
    const bad = run(['render', '--service', SERVICE, '--env', 'nowhere', '--image', image]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^deploy: .*nowhere.*\nhint: /);
  });
});
