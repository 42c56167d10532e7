import { Command } from 'commander';
import { join } from 'node:path';
import { formatChanges } from '../../../lib/deploy/changes';
import { C2CError } from '../../../lib/errors';
import { CommitAuthorship, verifyCommitAuthor } from '../../../lib/gate/commit-author';
import { planService } from '../../../lib/gate/plan-service';
import { formatDiff, releaseSummary, writePlanFile } from '../../../lib/gate/plan-file';
import { notifyPlanWaiting } from '../../../lib/notify';
import { resolveImageDigest } from '../../../lib/image-reference';
import { CliContext } from '../context';
import { callerPath, shellQuote } from '../../cli-kit';
import {
  marathonOptions,
  parseCommit,
  parseCommitTime,
  parseEnvironment,
  parseHttpUrl,
  parsePackage,
  requireOption,
  withExitHelp,
} from '../options';
import { checkFileTarget } from '../file-target';
import { maxPlanCommits } from './changes-option';
import { allowedSigners, keyOption, platformSigners, signAuditRecords, signingKey } from './signing-options';

/**
 * `deploy plan`: diff against what runs, write a sealed plan file, print the diff. Reads Marathon only. A production
 * plan is signed with the author's key when one is set (needed for a local approval; Cloud Build approves unsigned ones).
 */
export function register(program: Command, ctx: CliContext): void {
  keyOption(marathonOptions(withExitHelp(program.command('plan'))))
    .description('compare the rendered definition with what runs, print the field-level diff and write a plan file')
    .option('--service <name>', 'service from the catalog (see list)')
    .option('--env <env>', 'staging or production')
    .option('--image <image>', 'image reference, e.g. registry.internal:5000/bulb-api:3f2a9c1')
    .option('--artifact <uri>', "an artifact service's tarball URI, as the build uploaded it (with --sha256, instead of --image)")
    .option('--sha256 <hex>', "the artifact file's SHA-256 (64 hex digits); the plan pins it with the URI")
    .option('--out <file>', 'plan file to write (default .c2c/plans/<service>-<env>-<id12>.json)')
    .option('--commit <sha>', 'the commit the image was built from (stamped as c2c.commit)')
    .option('--commit-time <iso>', 'when that commit was made (for lead time in the report)')
    .option('--commit-author <email>', "the commit's author: four-eyes keeps them from approving it")
    .option(
      '--verify-commit <dir>',
      "take --commit's author and time from the git checkout DIR: its SSH signature verified against DIR's security/allowed_signers (what the push build does)",
    )
    .option(
      '--repo <dir>',
      "a git checkout of the service's repository: the plan records the commits since what production runs (needs --commit)",
    )
    .option(
      '--registry <url>',
      "Docker registry API base URL to resolve the image's digest (default: C2C_REGISTRY_URL; none: keep the tag)",
    )
    .option('--json', 'print the plan file as JSON (plus "path") instead of the diff')
    .option('--notify', "tell the service's reviewers that the plan waits: posts to the chat webhook C2C_NOTIFY_WEBHOOK")
    .action(ctx.action((opts: PlanOptions) => run(ctx, opts)));
}

/** The options of `deploy plan`. */
interface PlanOptions {
  readonly service?: string;
  readonly env?: string;
  readonly image?: string;
  readonly artifact?: string;
  readonly sha256?: string;
  readonly out?: string;
  readonly commit?: string;
  readonly commitTime?: string;
  readonly commitAuthor?: string;
  readonly verifyCommit?: string;
  readonly repo?: string;
  readonly key?: string;
  readonly json?: boolean;
  readonly notify?: boolean;
  readonly registry?: string;
  readonly timeout: number;
  readonly marathon?: string;
}

async function run(ctx: CliContext, opts: PlanOptions): Promise<void> {
  const service = ctx.catalog().get(requireOption(opts.service, '--service', 'bulb-api'));
  const environment = parseEnvironment(opts.env);
  const { image, artifact } = parsePackage(service, opts);
  if (opts.commit !== undefined) parseCommit(opts.commit);
  if (opts.commitTime !== undefined) parseCommitTime(opts.commitTime);
  if (opts.registry !== undefined) parseHttpUrl(opts.registry, '--registry');
  const out = opts.out === undefined ? undefined : callerPath(ctx.env, opts.out);
  if (out !== undefined) checkFileTarget(out, '--out');
  if (opts.repo !== undefined && opts.commit === undefined) {
    throw new C2CError('USAGE', '--repo lists the commits up to --commit, and no --commit was given', {
      hint: 'pass --commit SHA (the commit the image was built from)',
    });
  }
  const verified = await verifiedCommit(ctx, opts);
  const maxCommits = maxPlanCommits(ctx);
  const client = ctx.client({ environment, marathon: opts.marathon, timeoutSeconds: opts.timeout });
  const registry = opts.registry ?? ctx.env.C2C_REGISTRY_URL;
  let imageDigest: string | undefined;
  if (registry && !artifact) {
    const resolved = await resolveImageDigest(image, registry);
    if ('note' in resolved) ctx.err(`note: ${resolved.note}`);
    else imageDigest = resolved.digest;
  }
  const keyPath = environment === 'production' ? await signingKey(ctx, opts.key) : undefined;
  await signAuditRecords(ctx, opts.key);
  if (environment === 'production' && !keyPath) {
    ctx.err(
      "note: no signing key (--key, DEPLOY_SIGNING_KEY or git's user.signingkey): the plan is unsigned and only a Cloud Build approval can approve it",
    );
  }
  const { plan } = await planService(
    { client, actor: ctx.actor(), audit: ctx.audit(), timeoutMs: opts.timeout * 1000 },
    {
      service,
      environment,
      image,
      artifact,
      imageDigest,
      commit: verified?.commit ?? opts.commit,
      commitTime: verified?.commitTime ?? opts.commitTime,
      ...(verified?.author ? { commitAuthor: verified.author } : {}),
      ...(!verified && opts.commitAuthor ? { commitAuthor: opts.commitAuthor } : {}),
      ...(opts.repo ? { repository: opts.repo } : {}),
      ...(keyPath ? { signing: { keyPath, signers: await allowedSigners(ctx) } } : {}),
    },
  );
  const path = out ?? join('.c2c', 'plans', `${service.name}-${environment}-${plan.id.slice(0, 12)}.json`);
  await writePlanFile(path, plan);
  if (opts.json) {
    ctx.json({ path, ...plan });
  } else {
    ctx.out(
      `plan ${plan.id.slice(0, 12)} for ${service.name} in ${environment} (live version ${plan.liveVersion ?? 'none: first deploy'})${plan.signature ? `, signed by ${plan.createdBy}` : ''}:`,
    );
    ctx.out(`release: ${releaseSummary(plan)}`);
    ctx.out(formatDiff(plan.diff));
    if (plan.changes) ctx.out(formatChanges(plan.changes, maxCommits).join('\n'));
  }
  ctx.err(`plan written to ${path} (id ${plan.id})`);
  if (opts.notify) {
    await notifyPlanWaiting({
      webhook: ctx.env.C2C_NOTIFY_WEBHOOK,
      plan,
      planPath: path,
      reviewers: service.approvers,
      maxCommits,
      project: ctx.env.C2C_BUILD_PROJECT,
      location: ctx.env.C2C_BUILD_LOCATION,
      report: (line) => ctx.err(line),
    });
  }
  const planWithKey = ['deploy', 'plan', '--service', service.name, '--env', environment];
  planWithKey.push(...(artifact ? ['--artifact', artifact.uri, '--sha256', artifact.sha256] : ['--image', image]), '--key', 'PATH');
  ctx.err(nextStep(environment, path, plan.signature !== undefined, planWithKey));
}

/**
 * `--verify-commit DIR`: the commit's author (only when its signature verifies against DIR's allowed signers) and time,
 * from git. Refuses a hand-given author or time beside it, and an allowed-signers override: the build's record rests on
 * the repository's own list, as the production gate's does. Says on stderr who was verified, or why nobody was.
 */
async function verifiedCommit(ctx: CliContext, opts: PlanOptions): Promise<CommitAuthorship | undefined> {
  if (opts.verifyCommit === undefined) return undefined;
  if (opts.commit === undefined) {
    throw new C2CError('USAGE', '--verify-commit verifies --commit, and no --commit was given', {
      hint: 'pass --commit SHA (the commit the image was built from)',
    });
  }
  if (opts.commitAuthor !== undefined || opts.commitTime !== undefined) {
    throw new C2CError(
      'USAGE',
      '--verify-commit reads the author and time from the commit; --commit-author/--commit-time cannot be given with it',
      {
        hint: 'drop --commit-author and --commit-time',
      },
    );
  }
  if (ctx.env.C2C_ALLOWED_SIGNERS) {
    throw new C2CError(
      'GATE_SIGNERS_OVERRIDE',
      "C2C_ALLOWED_SIGNERS is set: --verify-commit verifies the commit only against the platform's allowed signers (C2C_PLATFORM_SIGNERS), else the checkout's security/allowed_signers",
      {
        hint: "unset C2C_ALLOWED_SIGNERS in the build; add keys to the platform repository's security/allowed_signers through a reviewed change",
      },
    );
  }
  // In Cloud Build the platform's list (C2C_PLATFORM_SIGNERS), never the checkout's; at a terminal the checkout's.
  const result = await verifyCommitAuthor(callerPath(ctx.env, opts.verifyCommit), opts.commit, await platformSigners(ctx));
  ctx.err(
    result.author
      ? `commit ${result.commit.slice(0, 12)} is signed by ${result.author} (verified): recorded as its author`
      : `note: commit ${result.commit.slice(0, 12)} has no verified author (${result.unverified}); under four-eyes nobody can approve this plan in Cloud Build`,
  );
  return result;
}

/**
 * What to do with the plan just written, naming only commands that work for it: an unsigned production plan cannot be
 * approved with `deploy approve` (the approval checks the author's signature), only in Cloud Build, or planned again
 * with a key.
 */
function nextStep(environment: string, path: string, signed: boolean, planWithKey: readonly string[]): string {
  if (environment !== 'production') return `next: 'deploy apply --plan ${path}'`;
  if (signed) return `next: an approver runs 'deploy approve ${path}', then 'deploy apply --plan ${path}'`;
  return (
    `next: a reviewer approves the waiting production build in Cloud Build, which applies this plan; to approve it with ` +
    `'deploy approve' instead, plan again with your key: '${shellQuote(planWithKey)}'`
  );
}
