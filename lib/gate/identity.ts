import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';

/** Who is acting: `DEPLOY_ACTOR`, else the git user's email, else the OS user name. */
export function currentActor(env: NodeJS.ProcessEnv): string {
  if (env.DEPLOY_ACTOR && env.DEPLOY_ACTOR.trim() !== '') return env.DEPLOY_ACTOR.trim();
  try {
    const email = execFileSync('git', ['config', 'user.email'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    }).trim();
    if (email) return email;
  } catch {
    // No git, or no user configured: fall back to the OS user.
  }
  return userInfo().username;
}
