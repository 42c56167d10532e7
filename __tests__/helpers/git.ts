import { execFileSync } from 'node:child_process';

/**
 * git in the test repository `repo`, with no user or system configuration (HOME is `home`): commits declare `email` as
 * author and committer, whatever key signs them. Returns git's output, trimmed.
 */
export function testGit(repo: string, home: string, email: string): (args: string[]) => string {
  return (args) =>
    execFileSync('git', args, {
      cwd: repo,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: home,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'Someone',
        GIT_AUTHOR_EMAIL: email,
        GIT_COMMITTER_NAME: 'Someone',
        GIT_COMMITTER_EMAIL: email,
      },
    }).trim();
}

/** The `git -c` options that make `commit -S` sign with the SSH private key file `key`. */
export function signingWith(key: string): string[] {
  return ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`];
}
