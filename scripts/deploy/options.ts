import { Command, Option } from 'commander';
import { ENVIRONMENTS, EnvironmentName, packageOf, ServiceDefinition } from '../../lib/catalog';
import { ArtifactRef, artifactRefProblem } from '../../lib/catalog/artifact';
import { DEFAULT_MAX_TASK_FAILURES } from '../../lib/deploy/types';
import { imageReferenceProblem } from '../../lib/image-reference';
import { C2CError } from '../../lib/errors';

/** The exit-code and environment help every command shows (exit codes per error code: lib/errors.ts). */
export const EXIT_CODES_HELP = `
Exit codes:
  0  done (including "nothing to change")
  1  the deploy failed (the message says whether it was rolled back), or Marathon failed
  2  bad usage or bad input; nothing was sent to Marathon
  3  refused by the production gate (no/other/expired approval, stale or edited plan, self-approval)
  130, 143  interrupted by Ctrl-C (SIGINT) or SIGTERM: waiting stopped, the message says what keeps running

Environment:
  MARATHON_URL, MARATHON_URL_STAGING, MARATHON_URL_PRODUCTION   Marathon base URL (may carry a path prefix)
  MARATHON_CREDENTIALS (user:password, basic auth) or MARATHON_TOKEN (DC/OS token)   never printed
  DEPLOY_ACTOR   who acts (else the git user's email, else the OS user); C2C_AUDIT_LOG   audit log location
  DEPLOY_SIGNING_KEY   SSH key that signs plans and approvals (else --key, else git's user.signingkey)
  MARATHON_LB_URL   marathon-lb's stats pages, comma-separated (else --lb): blue/green and canary releases
  CI             plain progress lines instead of a spinner`;

/** `--max-task-failures N` (default 3) on a command that waits for a deployment, plus `marathonOptions`. */
export function waitOptions(cmd: Command): Command {
  return marathonOptions(cmd).addOption(
    new Option('--max-task-failures <n>', 'stop waiting and roll back after this many failed tasks of the new version')
      .default(DEFAULT_MAX_TASK_FAILURES)
      .argParser((v) => parseCount(v, '--max-task-failures', 1, 100)),
  );
}

/** A whole number from `min` to `max` given for `flag`. */
export function parseCount(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new C2CError('USAGE', `${flag} '${value}' must be a whole number from ${min} to ${max}`, { hint: `e.g. ${flag} ${min + 1}` });
  }
  return n;
}

/** `--timeout SECONDS` (default 300) and `--marathon URL` on a command. */
export function marathonOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--timeout <seconds>', 'the whole command ends within this many seconds (a failed deploy is rolled back), at least 1')
        .default(300)
        .argParser(parseSeconds),
    )
    .option('--marathon <url>', 'Marathon base URL (default: MARATHON_URL_<ENV>, else MARATHON_URL)')
    .option('--verbose', 'print each retry of a request Marathon did not answer (default: one line that says it retries)');
}

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 86_400) {
    throw new C2CError('USAGE', `--timeout '${value}' must be a number of seconds from 1 to 86400`, { hint: 'e.g. --timeout 300' });
  }
  return n;
}

export function parseEnvironment(value: string | undefined, flag = '--env'): EnvironmentName {
  if (value === undefined) {
    throw new C2CError('USAGE', `${flag} is required`, { hint: `give ${flag} ${ENVIRONMENTS.join(' or ')}` });
  }
  if (!(ENVIRONMENTS as readonly string[]).includes(value)) {
    throw new C2CError('USAGE', `${flag} '${value}' is not an environment`, { hint: `use ${ENVIRONMENTS.join(' or ')}` });
  }
  return value as EnvironmentName;
}

export function requireOption(value: string | undefined, flag: string, example: string): string {
  if (value === undefined || value.trim() === '') {
    throw new C2CError('USAGE', `${flag} is required`, { hint: `e.g. ${flag} ${example}` });
  }
  return value;
}

/** An image reference by the Docker grammar (lower-case repository, a tag or digest): lib/image-reference. */
export function parseImage(value: string | undefined): string {
  const image = requireOption(value, '--image', 'registry.internal:5000/bulb-api:3f2a9c1');
  const problem = imageReferenceProblem(image);
  if (problem !== null) throw new C2CError('USAGE', `--image '${image}' ${problem}`);
  return image;
}

/** An http(s) base URL given for `flag`; user info is never echoed. */
export function parseHttpUrl(value: string, flag: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new C2CError('USAGE', `${flag} must be an http(s) URL`, { hint: `e.g. ${flag} https://registry.internal:5000` });
  }
  return value;
}

/** A commit id as git prints it: 7 to 40 hex digits (it becomes the `c2c.commit` label). */
export function parseCommit(value: string): string {
  if (!/^[0-9a-f]{7,40}$/.test(value)) {
    throw new C2CError('USAGE', '--commit must be a commit sha (7 to 40 hex digits)', { hint: 'e.g. --commit $(git rev-parse HEAD)' });
  }
  return value;
}

/** When the commit was made: an ISO date-time, not in the future (it starts the DORA lead time). */
export function parseCommitTime(value: string, now: Date = new Date()): string {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t)) {
    throw new C2CError('USAGE', `--commit-time '${value}' is not an ISO date-time`, {
      hint: 'e.g. --commit-time $(git show -s --format=%cI HEAD)',
    });
  }
  if (t > now.getTime() + 5 * 60_000) {
    throw new C2CError('USAGE', `--commit-time '${value}' is in the future`, {
      hint: 'give the time the commit was made (git show -s --format=%cI)',
    });
  }
  return value;
}

/**
 * What a deploy of `service` runs: `--image` for an image service (an upstream image defaults to the one its service
 * file pins), `--artifact URI --sha256 HEX` for an artifact service. `image` is the text shown and recorded for it
 * (for an artifact, its URI).
 */
export function parsePackage(
  service: ServiceDefinition,
  opts: { image?: string; artifact?: string; sha256?: string },
): { image: string; artifact?: ArtifactRef } {
  const pkg = packageOf(service);
  if (pkg.kind === 'artifact') {
    if (opts.image !== undefined) {
      throw new C2CError('USAGE', `${service.name} is deployed as an artifact, not an image`, {
        hint: 'give --artifact URI --sha256 HEX (the URI the build uploaded the file to and its SHA-256)',
      });
    }
    const artifact = {
      uri: requireOption(opts.artifact, '--artifact', 'https://storage.googleapis.com/BUCKET/artifacts/NAME/COMMIT/SHA256/app.tar.gz'),
      sha256: requireOption(opts.sha256, '--sha256', "$(sha256sum dist/app.tar.gz | cut -d' ' -f1)"),
    };
    const problem = artifactRefProblem(artifact);
    if (problem) {
      const flag = problem.field === 'uri' ? '--artifact' : '--sha256';
      throw new C2CError('USAGE', `${flag} '${artifact[problem.field]}' ${problem.message}`, { hint: `see 'deploy apply --help'` });
    }
    return { image: artifact.uri, artifact };
  }
  if (opts.artifact !== undefined || opts.sha256 !== undefined) {
    throw new C2CError('USAGE', `${service.name} is deployed as an image; --artifact and --sha256 are for artifact services`, {
      hint: 'give --image IMAGE',
    });
  }
  return { image: parseImage(opts.image ?? (pkg.kind === 'upstream-image' ? pkg.image : undefined)) };
}

/** Adds the exit-code and environment help to a command. */
export function withExitHelp(cmd: Command): Command {
  return cmd.addHelpText('after', EXIT_CODES_HELP);
}
