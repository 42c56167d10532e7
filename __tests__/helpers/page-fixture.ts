// A small history through the deploy CLI (in-process) against a local Marathon, for the tests of the team's page:
// `web` released once (planned with --repo, approved by a second person, applied), then six more commits planned as
// one production release that waits for approval.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../../lib/catalog';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';
import { makeImageStore, startMarathon, testService } from '../lib/deploy/helpers';
import { CliRun, runDeployCli } from './deploy-cli';
import { testKeys, TestKeys } from './keys';

export const ANA = 'ana@example.com';
export const BEN = 'ben@example.com';

export interface PageFixture {
  readonly dir: string;
  readonly repo: string;
  /** Every commit made, oldest first: [0] is live in production, [6] is the waiting plan's. */
  readonly commits: readonly string[];
  /** stdout of each `deploy plan` run, in order. */
  readonly planOutput: readonly string[];
  readonly firstPlan: string;
  readonly waitingPlan: string;
  readonly plansDir: string;
  readonly auditLog: string;
  /** Runs the deploy CLI (as a person with a signing key when `as` is given), with `env` added to the fixture's. */
  deploy(args: string[], as?: string, env?: Readonly<Record<string, string>>): Promise<CliRun>;
  close(): Promise<void>;
}

export async function pageFixture(): Promise<PageFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'c2c-page-'));
  const repo = join(dir, 'repo');
  const plansDir = join(dir, 'plans');
  const auditLog = join(dir, 'audit.jsonl');
  mkdirSync(repo);
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
  execFileSync('git', ['remote', 'add', 'origin', 'git@github.com:acme/web.git'], { cwd: repo });
  const keys: TestKeys = testKeys(dir, [ANA, BEN]);
  const store = makeImageStore([]);
  const marathon: LocalMarathon = await startMarathon(store.dir);
  const catalog = new Catalog([testService('web', { approvers: [`user:${ANA}`, `user:${BEN}`] })]);
  const commits: string[] = [];
  const planOutput: string[] = [];
  const deploy = async (args: string[], as?: string, extra: Readonly<Record<string, string>> = {}): Promise<CliRun> => {
    const env = {
      CI: 'true',
      MARATHON_URL: marathon.url,
      C2C_AUDIT_LOG: auditLog,
      C2C_ALLOWED_SIGNERS: keys.allowedSigners,
      DEPLOY_ACTOR: 'ci@example.com',
    };
    return runDeployCli(args, { catalog, env: { ...env, ...extra, ...(as ? { DEPLOY_SIGNING_KEY: keys.key(as) } : {}) } });
  };
  const commit = (subject: string) => {
    const env = { ...process.env, GIT_AUTHOR_NAME: 'Ana', GIT_AUTHOR_EMAIL: ANA, GIT_COMMITTER_NAME: 'Ana', GIT_COMMITTER_EMAIL: ANA };
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env }).toString();
    writeFileSync(join(repo, 'log.txt'), `${subject}\n`, { flag: 'a' });
    git('add', '-A');
    git('commit', '-q', '-m', subject);
    commits.push(git('rev-parse', 'HEAD').trim());
  };
  const plan = async (tag: string): Promise<string> => {
    const out = join(plansDir, `web-${tag}.json`);
    const args = [
      'plan',
      '--service',
      'web',
      '--env',
      'production',
      '--image',
      `reg:5000/web:${tag}`,
      '--commit',
      commits[commits.length - 1],
    ];
    const r = await deploy([...args, '--repo', repo, '--out', out], ANA);
    if (r.code !== 0) throw new Error(`deploy plan exited ${r.code}: ${r.stderr}`);
    planOutput.push(r.stdout);
    return out;
  };
  const must = async (what: string, run: Promise<CliRun>) => {
    const r = await run;
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
  };
  commit('web: first version');
  const firstPlan = await plan('v1');
  await must('approve', deploy(['approve', firstPlan], BEN));
  await must('apply', deploy(['apply', '--plan', firstPlan, '--timeout', '20']));
  for (let i = 2; i <= 7; i++) commit(`web: change ${i} <b>bold</b>`);
  const waitingPlan = await plan('v2');
  return {
    dir,
    repo,
    commits,
    planOutput,
    firstPlan,
    waitingPlan,
    plansDir,
    auditLog,
    deploy,
    close: async () => {
      await marathon.close();
      store.remove();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
