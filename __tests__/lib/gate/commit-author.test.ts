// The push build's commit author: real git and real ssh-keygen, a repository made here with signed and unsigned commits.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCommitAuthor } from '../../../lib/gate/commit-author';
import { signingWith, testGit } from '../../helpers/git';
import { testKeys, TestKeys } from '../../helpers/keys';

const ANA = 'ana@example.com';
let dir: string;
let repo: string;
let keys: TestKeys;
/** git in the test repository; its commits declare ben as their author. */
let git: (args: string[]) => string;

/** A commit (signed with `key` when given) that changes `file`; returns its id. */
function commit(message: string, key?: string): string {
  writeFileSync(join(repo, 'file.txt'), message);
  git(['add', '-A']);
  git([...(key ? [...signingWith(key), 'commit', '-S'] : ['commit']), '-q', '-m', message]);
  return git(['rev-parse', 'HEAD']);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-commit-author-'));
  keys = testKeys(dir, []);
  keys.add(ANA, { groups: ['group:leads@example.com'] });
  keys.add('mallory@example.com', { listed: false });
  repo = join(dir, 'repo');
  git = testGit(repo, dir, 'ben@example.com');
  mkdirSync(join(repo, 'security'), { recursive: true });
  git(['init', '-q', '-b', 'main']);
  copyFileSync(keys.allowedSigners, join(repo, 'security', 'allowed_signers'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a commit signed with a listed key: the author is the listed person, not the e-mail the commit declares', async () => {
  const id = commit('signed by ana', keys.key(ANA));
  const r = await verifyCommitAuthor(repo, id);
  expect(r).toEqual({ commit: id, commitTime: git(['log', '-1', '--format=%cI', id]), author: ANA });
  // A short id names the same commit; the result carries the full one.
  expect((await verifyCommitAuthor(repo, id.slice(0, 12))).commit).toBe(id);
});

test('an unsigned commit is unverified, and says so', async () => {
  const id = commit('unsigned');
  const r = await verifyCommitAuthor(repo, id);
  expect(r.author).toBeUndefined();
  expect(r.commit).toBe(id);
  expect(r.unverified).toBe('the commit is not signed');
});

test('a commit signed with a key that is not listed is unverified, naming the key', async () => {
  const id = commit('signed by mallory', keys.key('mallory@example.com'));
  const r = await verifyCommitAuthor(repo, id);
  expect(r.author).toBeUndefined();
  expect(r.unverified).toMatch(/^the commit is signed with key SHA256:\S+, which is not in security\/allowed_signers$/);
});

test('without security/allowed_signers in the checkout nobody is verified, even for a signed commit', async () => {
  const bare = join(dir, 'no-signers');
  execFileSync('git', ['clone', '-q', repo, bare]);
  rmSync(join(bare, 'security'), { recursive: true });
  const id = execFileSync('git', ['rev-parse', 'HEAD~2'], { cwd: bare, encoding: 'utf8' }).trim(); // signed by ana
  expect(await verifyCommitAuthor(repo, id)).toMatchObject({ author: ANA });
  const r = await verifyCommitAuthor(bare, id);
  expect(r.author).toBeUndefined();
  expect(r.unverified).toMatch(/no security\/allowed_signers/);
});

test('a commit that is not in the checkout is an error, not an unverified author', async () => {
  await expect(verifyCommitAuthor(repo, 'f'.repeat(40))).rejects.toMatchObject({ code: 'REPOSITORY' });
  await expect(verifyCommitAuthor(dir, 'HEAD')).rejects.toMatchObject({ code: 'REPOSITORY' });
});
