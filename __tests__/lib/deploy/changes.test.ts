// The whole change (commits between what production runs and a plan's commit, from a real git repository made here)
// and the diff as a reviewer reads it (one line per leaf, changed first), as the terminal and the chat show them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitsBetween, formatChanges, githubBase, MAX_LISTED_COMMITS, PlanChanges } from '../../../lib/deploy/changes';
import { formatDiff, leafChanges } from '../../../lib/deploy/diff';
import { noticeText } from '../../../lib/notify';
import { caught } from '../../helpers/errors';

describe('the commits of a release', () => {
  let repo: string;
  const shas: string[] = [];
  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'c2c-changes-'));
    const git = (args: string[], input?: string) => execFileSync('git', args, { cwd: repo, input }).toString();
    git(['init', '-q', '-b', 'main']);
    // The commits in one `git fast-import` (one process, not three per commit): each changes `f`, a second apart.
    const stream = Array.from({ length: MAX_LISTED_COMMITS + 3 }, (_, n) => {
      const i = n + 1;
      const who = `Dev <dev@x.example> ${1_700_000_000 + i} +0000`;
      const message = `change ${i}\n\nbody line\n`;
      return `commit refs/heads/main\nauthor ${who}\ncommitter ${who}\ndata ${message.length}\n${message}M 644 inline f\ndata ${String(i).length}\n${i}\n`;
    }).join('');
    git(['fast-import', '--quiet'], stream);
    shas.push(...git(['rev-list', '--reverse', 'main']).trim().split('\n'));
    expect(shas).toHaveLength(MAX_LISTED_COMMITS + 3);
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('lists from..to newest first with author and subject; no remote, no link', async () => {
    const c = await commitsBetween(repo, shas[0], shas[2]);
    expect(c).toEqual({
      from: shas[0],
      to: shas[2],
      total: 2,
      commits: [
        { sha: shas[2], author: 'Dev <dev@x.example>', subject: 'change 3' },
        { sha: shas[1], author: 'Dev <dev@x.example>', subject: 'change 2' },
      ],
    });
  });

  it('a first deploy lists everything up to the commit; a long list is capped but counted whole', async () => {
    const c = await commitsBetween(repo, null, shas[shas.length - 1]);
    expect(c.total).toBe(MAX_LISTED_COMMITS + 3);
    expect(c.commits).toHaveLength(MAX_LISTED_COMMITS);
    expect(formatChanges(c, 5).at(-1)).toBe('  … and 3 more');
  });

  it('refuses a repository that lacks the commit, and a value that is not a hash (no option injection)', async () => {
    const err = await caught(commitsBetween(repo, null, 'f'.repeat(40)));
    expect(err).toMatchObject({ code: 'REPOSITORY' });
    expect(err.message).toMatch(`cannot list the commits ${'f'.repeat(40)} in ${repo}`);
    expect(await caught(commitsBetween(repo, '--output=/tmp/x', shas[0]))).toMatchObject({
      code: 'REPOSITORY',
      message: "'--output=/tmp/x' is not a commit hash",
    });
  });

  it('reads GitHub remotes in https and ssh forms, nothing else', () => {
    expect(githubBase('https://github.com/acme/bulb-api.git')).toBe('https://github.com/acme/bulb-api');
    expect(githubBase('git@github.com:acme/bulb-api.git')).toBe('https://github.com/acme/bulb-api');
    expect(githubBase('ssh://git@github.com/acme/bulb-api')).toBe('https://github.com/acme/bulb-api');
    expect(githubBase('https://gitlab.com/acme/bulb-api.git')).toBeUndefined();
    expect(githubBase('https://github.com.evil.example/acme/x')).toBeUndefined();
  });
});

const six: PlanChanges = {
  from: 'a'.repeat(40),
  to: 'b'.repeat(40),
  total: 6,
  commits: Array.from({ length: 6 }, (_, i) => ({ sha: `${i}`.repeat(40), author: 'Dev <dev@x>', subject: `change ${6 - i}` })),
  compareUrl: 'https://github.com/acme/web/compare/a...b',
};

describe('how a reviewer reads the change', () => {
  it('flags more commits than the setting allows, first, so a cut message still shows it', () => {
    expect(formatChanges(six, 5)[0]).toBe(
      '!! 6 commits in one release, more than 5 (C2C_MAX_PLAN_COMMITS): not a small change; review each one',
    );
    expect(formatChanges(six, 6)[0]).toBe(
      '6 commit(s) since what production runs (aaaaaaa..bbbbbbb): https://github.com/acme/web/compare/a...b',
    );
    expect(formatChanges(undefined, 5)).toEqual(['commits: not recorded (the plan was made without --repo)']);
  });

  it('the chat message carries the commits after the diff', () => {
    const text = noticeText({
      kind: 'waiting',
      service: 'web',
      environment: 'production',
      planId: 'p'.repeat(64),
      diff: '~ instances: 1 -> 2',
      changes: formatChanges(six, 5).join('\n'),
      link: 'deploy approve x.json',
    });
    expect(text.split('\n').slice(3, 8)).toEqual([
      '~ instances: 1 -> 2',
      '```',
      '!! 6 commits in one release, more than 5 (C2C_MAX_PLAN_COMMITS): not a small change; review each one',
      formatChanges(six, 5)[1],
      '  0000000 change 6 (Dev <dev@x>)',
    ]);
  });
});

describe('the diff, one line per leaf', () => {
  it('a whole object added (first deploy) becomes its leaves; changed leaves come first', () => {
    const lines = formatDiff([
      { path: 'container', kind: 'added', to: { type: 'DOCKER', docker: { image: 'reg/web:1' }, portMappings: [{ containerPort: 8080 }] } },
      { path: 'healthChecks', kind: 'added', to: [{ path: '/health', protocol: 'MESOS_HTTP' }] },
      { path: 'instances', kind: 'changed', from: 1, to: 2 },
      { path: 'labels', kind: 'removed', from: { 'team.owner': 'x' } },
      { path: 'env', kind: 'added', to: {} },
    ]).split('\n');
    expect(lines).toEqual([
      '~ instances: 1 -> 2',
      '+ container.type: "DOCKER"',
      '+ container.docker.image: "reg/web:1"',
      '+ container.portMappings[0].containerPort: 8080',
      '+ healthChecks[0].path: "/health"',
      '+ healthChecks[0].protocol: "MESOS_HTTP"',
      '+ env: {}',
      '- labels["team.owner"]: "x"',
    ]);
  });

  it('a value that changes shape is shown leaf by leaf: changed, added and removed leaves', () => {
    expect(leafChanges([{ path: 'upgradeStrategy', kind: 'changed', from: { a: 1, b: 2 }, to: { a: 1, b: 3, c: 4 } }])).toEqual([
      { path: 'upgradeStrategy.b', kind: 'changed', from: 2, to: 3 },
      { path: 'upgradeStrategy.c', kind: 'added', to: 4 },
    ]);
    expect(leafChanges([{ path: 'args', kind: 'changed', from: 'x', to: ['a', 'b'] }])).toEqual([
      { path: 'args[0]', kind: 'added', to: 'a' },
      { path: 'args[1]', kind: 'added', to: 'b' },
      { path: 'args', kind: 'removed', from: 'x' },
    ]);
  });

  it('the chat hides a secret-looking leaf that used to hide inside a whole env object', () => {
    const text = noticeText({
      kind: 'waiting',
      service: 'web',
      environment: 'production',
      planId: 'p'.repeat(64),
      diff: formatDiff([{ path: 'env', kind: 'added', to: { LOG_LEVEL: 'info', DB_PASSWORD: 'hunter2' } }]),
      link: 'x',
    });
    expect(text).toContain('+ env.LOG_LEVEL: "info"');
    expect(text).toContain('+ env.DB_PASSWORD: (hidden)');
    expect(text).not.toContain('hunter2');
  });
});
