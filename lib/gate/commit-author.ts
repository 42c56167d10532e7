import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { C2CError } from '../errors';
import { AllowedSigners, loadAllowedSigners } from '../signing';
import { DEFAULT_ALLOWED_SIGNERS } from './allowed-signers-path';

/** What the checkout says about a commit: its full id and time, and its author when the signature verifies. */
export interface CommitAuthorship {
  /** The full commit id. */
  readonly commit: string;
  /** The committer date, ISO 8601 (part of the signed commit when it is signed). */
  readonly commitTime: string;
  /** The allowed-signers principal whose key signed the commit; absent when the signature does not verify. */
  readonly author?: string;
  /** Why the commit has no verified author (unsigned, an unlisted key, a bad signature, no allowed-signers file). */
  readonly unverified?: string;
}

/**
 * The verified author of `commit` in the git checkout `repo`: git verifies the commit's SSH signature against `list`
 * (in Cloud Build the platform's list, `lib/gate/platform-signers.ts`, the one the production gate reads there), else
 * against the repository's own allowed-signers file (`security/allowed_signers`: a checkout at a terminal), and the
 * principal is the person that file lists for the signing key, never the commit's self-declared e-mail. A commit that
 * is unsigned, signed with another key or format, or whose signature does not verify has no author (`unverified` says
 * why): the gate then refuses its approval by anyone under four-eyes.
 * @throws C2CError REPOSITORY (not a git checkout, or no such commit), GATE_BAD_ALLOWED_SIGNERS
 */
export async function verifyCommitAuthor(
  repo: string,
  commit: string,
  list?: { readonly signers: AllowedSigners; readonly name: string },
): Promise<CommitAuthorship> {
  const signersPath = join(repo, DEFAULT_ALLOWED_SIGNERS);
  const signers = list ? list.signers : existsSync(signersPath) ? await loadAllowedSigners(signersPath) : undefined;
  const name = list?.name ?? DEFAULT_ALLOWED_SIGNERS;
  const config = [
    // The build's workspace may belong to another user than the step's: this one checkout is trusted explicitly.
    '-c',
    `safe.directory=${resolve(repo)}`,
    '-c',
    'gpg.format=ssh',
    '-c',
    'gpg.ssh.program=ssh-keygen',
    '-c',
    `gpg.ssh.allowedSignersFile=${signers ? signers.path : '/dev/null'}`,
    '-c',
    'log.showSignature=false',
  ];
  const r = await git(repo, [...config, 'log', '-1', '--no-walk', '--format=%H%x00%cI%x00%G?%x00%GF', `${commit}^{commit}`, '--']);
  if (r.code !== 0) {
    throw new C2CError('REPOSITORY', `commit ${commit} cannot be read in ${repo}: ${firstLine(r.stderr)}`, {
      hint: '--verify-commit names the git checkout the commit was built from (the build workspace), with --commit its id',
    });
  }
  const [id, commitTime, status, fingerprint] = r.stdout.trim().split('\0');
  const base = { commit: id, commitTime };
  if (!signers) return { ...base, unverified: `the repository has no ${DEFAULT_ALLOWED_SIGNERS} to verify its signature against` };
  return { ...base, ...authorOf(status, fingerprint, signers, name) };
}

/** The listed person for a good signature, else why not (git's `%G?` letters). */
function authorOf(status: string, fingerprint: string, signers: AllowedSigners, name: string): { author: string } | { unverified: string } {
  const listed = signers.signers.find((s) => s.fingerprint === fingerprint);
  if (status === 'G' && listed) return { author: listed.principal };
  if (status === 'N') return { unverified: 'the commit is not signed' };
  if (status === 'U' || (status === 'G' && !listed)) {
    return { unverified: `the commit is signed with key ${fingerprint || '(unknown)'}, which is not in ${name}` };
  }
  if (status === 'B') return { unverified: 'the commit signature does not verify (bad signature)' };
  if (status === 'E') return { unverified: 'the commit signature cannot be checked (not an SSH signature, or ssh-keygen failed)' };
  return { unverified: `the commit signature is not valid (git status '${status}': expired or revoked key)` };
}

function git(cwd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('git', args, { cwd, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr: stderr || (error && typeof error.code !== 'number' ? error.message : '') });
    });
  });
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '') ?? 'git failed';
}
