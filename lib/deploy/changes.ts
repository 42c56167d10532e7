import { C2CError } from '../errors';

/** One commit of a release, as the repository has it. */
export interface PlanCommit {
  /** Full hash (shown shortened). */
  readonly sha: string;
  /** `Name <email>`. */
  readonly author: string;
  /** The first line of the message. */
  readonly subject: string;
}

/**
 * The whole change a plan ships: the commits between what production runs and the planned commit, read from the
 * repository when the plan is made and sealed into the plan (its id covers them), so a reviewer never depends on a
 * repository or a field of their own machine.
 */
export interface PlanChanges {
  /** The commit the live app runs (its `c2c.commit` label); null when nothing runs or it names no commit. */
  readonly from: string | null;
  /** The planned commit. */
  readonly to: string;
  /** The commits in `from..to`, newest first; at most {@link MAX_LISTED_COMMITS}. */
  readonly commits: readonly PlanCommit[];
  /** How many commits `from..to` holds (more than `commits` lists when it is capped). */
  readonly total: number;
  /** The repository's compare page (GitHub remotes), `…/compare/FROM...TO`, or its commit page without `from`. */
  readonly compareUrl?: string;
}

/** Commits listed in a plan at most (the count is always whole). */
export const MAX_LISTED_COMMITS = 50;
/** More commits than this in one plan is flagged: a release should be small (`C2C_MAX_PLAN_COMMITS`). */
export const DEFAULT_MAX_COMMITS = 5;

const HEX = /^[0-9a-f]{7,40}$/i;

/** `https://github.com/owner/repo` from a GitHub remote (https or ssh form); undefined for any other host. */
export function githubBase(remote: string): string | undefined {
  const m =
    /^(?:https:\/\/github\.com\/|git@github\.com:|ssh:\/\/git@github\.com\/)([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(
      remote.trim(),
    );
  return m ? `https://github.com/${m[1]}/${m[2]}` : undefined;
}

async function git(repo: string, args: string[]): Promise<string> {
  // Loaded here, not at the top: only `plan` reads commits, and zx costs every deploy command ~0.3 s to load.
  const { $ } = await import('zx');
  const r = await $({ cwd: repo, quiet: true, nothrow: true })`git ${args}`;
  if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `git ${args[0]} exited ${r.exitCode}`);
  return r.stdout;
}

/**
 * The commits between `from` (what production runs; null for a first deploy) and `to`, from the git repository at
 * `repo`. A `from` the repository does not have as an ancestor of `to` (a rewritten history) lists every commit of
 * `to` not in `from`, as `git log from..to` does.
 * @throws C2CError REPOSITORY when `repo` is not a git repository or does not have `to` (or `from`)
 */
export async function commitsBetween(repo: string, from: string | null, to: string): Promise<PlanChanges> {
  for (const sha of [from, to]) {
    if (sha !== null && !HEX.test(sha)) throw new C2CError('REPOSITORY', `'${sha}' is not a commit hash`, { hint: 'pass the full hash' });
  }
  const range = from ? [`${from}..${to}`] : [to];
  let log: string;
  let count: string;
  try {
    count = await git(repo, ['rev-list', '--count', ...range]);
    log = await git(repo, ['log', `--max-count=${MAX_LISTED_COMMITS}`, '--format=%H%x1f%an <%ae>%x1f%s%x1e', ...range]);
  } catch (err) {
    throw new C2CError('REPOSITORY', `cannot list the commits ${range[0]} in ${repo}: ${(err as Error).message.split('\n')[0]}`, {
      hint: '--repo must be a clone of the service repository that has both commits (fetch with full history: git fetch --unshallow)',
    });
  }
  const commits = log
    .split('\x1e')
    .map((r) => r.trim())
    .filter((r) => r !== '')
    .map((r) => {
      const [sha, author, subject] = r.split('\x1f');
      return { sha, author, subject: subject ?? '' };
    });
  const remote = await git(repo, ['remote', 'get-url', 'origin']).catch(() => '');
  const base = githubBase(remote);
  const compareUrl = base ? (from ? `${base}/compare/${from}...${to}` : `${base}/commits/${to}`) : undefined;
  return { from, to, commits, total: Number(count.trim()), ...(compareUrl ? { compareUrl } : {}) };
}

/** True when a plan bundles more commits than `max` allows. */
export function tooManyCommits(changes: PlanChanges, max: number): boolean {
  return changes.total > max;
}

/** The whole change as a reviewer reads it (terminal, chat): the flag when too big first, a headline, one line per commit. */
export function formatChanges(changes: PlanChanges | undefined, max: number): string[] {
  if (!changes) return ['commits: not recorded (the plan was made without --repo)'];
  const short = (sha: string) => sha.slice(0, 7);
  const span = changes.from ? `${short(changes.from)}..${short(changes.to)}` : `up to ${short(changes.to)}, first deploy`;
  const flag = tooManyCommits(changes, max)
    ? [`!! ${changes.total} commits in one release, more than ${max} (C2C_MAX_PLAN_COMMITS): not a small change; review each one`]
    : [];
  const lines = [
    ...flag,
    `${changes.total} commit(s) since what production runs (${span})${changes.compareUrl ? `: ${changes.compareUrl}` : ''}`,
    ...changes.commits.map((c) => `  ${short(c.sha)} ${c.subject} (${c.author})`),
  ];
  if (changes.total > changes.commits.length) lines.push(`  … and ${changes.total - changes.commits.length} more`);
  return lines;
}
