import { Command, Option } from 'commander';
import { applyAll } from '../../../lib/deploy/apply-all';
import { ReleaseContext, ReleaseResult, releaseService } from '../../../lib/deploy/release';
import { ServiceDefinition } from '../../../lib/catalog';
import { C2CError } from '../../../lib/errors';
import { applyPlan, isRefusal, readPlanForGate, recordRefusal } from '../../../lib/gate/apply-plan';
import { cloudBuildContext } from '../../../lib/gate/cloudbuild';
import { ApprovalSource } from '../../../lib/gate/gate';
import { productionNeedsPlan } from '../../../lib/deploy/guard';
import { AllowedSigners } from '../../../lib/signing';
import { googleAuthFromEnv } from '../../../lib/google/http';
import { platformFromEnv } from '../../../lib/platform';
import { CliContext, EXIT } from '../context';
import { callerPath } from '../../cli-kit';
import {
  parseCommit,
  parseCommitTime,
  parseCount,
  parseEnvironment,
  parsePackage,
  requireOption,
  waitOptions,
  withExitHelp,
} from '../options';
import { allowedSigners, platformSigners, signAuditRecords } from './signing-options';
import { lbOption, loadBalancers } from './lb-option';
import { SmokeOptions, smokeOptions, smokeTestOf } from '../smoke-test';

interface ApplyOptions extends SmokeOptions {
  service?: string;
  env?: string;
  image?: string;
  artifact?: string;
  sha256?: string;
  commit?: string;
  commitTime?: string;
  plan?: string;
  approval: 'local' | 'cloudbuild';
  all?: boolean;
  concurrency?: string;
  tag?: string;
  force?: boolean;
  json?: boolean;
  timeout: number;
  marathon?: string;
  maxTaskFailures: number;
  lb?: string[];
}

/** `deploy apply`: one service, a plan file, or the whole fleet; waits until healthy and rolls back on failure. */
export function register(program: Command, ctx: CliContext): void {
  smokeOptions(lbOption(waitOptions(withExitHelp(program.command('apply')))))
    .description(
      "release with the service's strategy: a rolling restart (submit, wait until healthy, roll back on failure), or a blue/green or canary rollout through marathon-lb",
    )
    .option('--service <name>', 'service from the catalog (with --env and --image; staging only)')
    .option('--env <env>', 'staging or production')
    .option('--image <image>', 'image reference, e.g. registry.internal:5000/bulb-api:3f2a9c1')
    .option('--artifact <uri>', "an artifact service's tarball URI, as the build uploaded it (with --sha256, instead of --image)")
    .option('--sha256 <hex>', "the artifact file's SHA-256 (64 hex digits)")
    .option('--commit <sha>', 'the commit the image was built from (stamped as c2c.commit)')
    .option('--commit-time <iso>', 'when that commit was made (for lead time in the report)')
    .option('--plan <file>', "apply a plan file from 'deploy plan' (production: needs an approval)")
    .addOption(
      new Option('--approval <source>', 'where the production approval comes from').choices(['local', 'cloudbuild']).default('local'),
    )
    .option('--all', 'every service of the catalog (with --env staging)')
    .option('--concurrency <n>', 'with --all: deploys at a time (default 4)')
    .option('--tag <tag>', "with --all: deploy <registry>/<service>:<tag> (default: keep each service's running image)")
    .option('--force', 'cancel a deployment that holds the app instead of waiting for it (never for production)')
    .option('--json', 'print the result as JSON')
    .action(
      ctx.action(async (opts: ApplyOptions) => {
        try {
          return await run(ctx, opts);
        } catch (error) {
          if (opts.json) {
            const e = error as C2CError;
            ctx.json({
              ok: false,
              code: e.code ?? 'UNEXPECTED',
              message: e.message,
              ...(e.details !== undefined ? { details: e.details } : {}),
            });
          }
          throw error;
        }
      }),
    );
}

async function run(ctx: CliContext, opts: ApplyOptions): Promise<number> {
  const single = opts.service !== undefined || opts.image !== undefined || opts.artifact !== undefined;
  const modes = [opts.plan !== undefined, Boolean(opts.all), single].filter(Boolean).length;
  if (modes !== 1) {
    throw new C2CError('USAGE', 'apply needs exactly one of: --service S --env E --image IMAGE, --plan FILE, or --all --env E', {
      hint: "see 'deploy apply --help'",
    });
  }
  if (!opts.all && (opts.tag !== undefined || opts.concurrency !== undefined)) {
    throw new C2CError('USAGE', `${opts.tag !== undefined ? '--tag' : '--concurrency'} only applies with --all`, {
      hint: "add --all --env staging, or leave it out; see 'deploy apply --help'",
    });
  }
  if (opts.all && (opts.smokeTest !== undefined || opts.smokeTimeout !== undefined)) {
    throw new C2CError('USAGE', "--smoke-test does not apply with --all: one directory is not every service's repository", {
      hint: 'apply the service on its own: apply --service S --env staging --image IMAGE --smoke-test DIR',
    });
  }
  if (opts.commit !== undefined) parseCommit(opts.commit);
  if (opts.commitTime !== undefined) parseCommitTime(opts.commitTime);
  if (opts.plan !== undefined) return applyPlanFile(ctx, opts, callerPath(ctx.env, opts.plan));
  const environment = parseEnvironment(opts.env);
  if (opts.all) {
    if (environment === 'production') throw productionNeedsPlan('apply --all');
    return applyFleet(ctx, opts, environment);
  }
  if (environment === 'production') throw productionNeedsPlan('apply --image');
  const service = ctx.catalog().get(requireOption(opts.service, '--service', 'bulb-api'));
  const { image, artifact } = parsePackage(service, opts);
  const deploy = deployContext(ctx, opts, environment, service);
  const result = await progressRun(ctx, `deploying ${service.name} to ${environment}`, () =>
    releaseService(deploy, { service, environment, image, artifact, commit: opts.commit, commitTime: opts.commitTime, force: opts.force }),
  );
  printResult(ctx, opts, result);
  return EXIT.ok;
}

/** The release's context; with a service, its smoke test from `--smoke-test` (checked here, before anything is sent). */
function deployContext(
  ctx: CliContext,
  opts: ApplyOptions,
  environment: 'staging' | 'production',
  service?: ServiceDefinition,
): ReleaseContext {
  const base = ctx.deployContext(opts, environment);
  const smokeTest = service ? smokeTestOf({ env: ctx.env, signal: base.signal }, service, opts) : undefined;
  return { ...base, lb: loadBalancers(ctx, opts.lb), ...(smokeTest ? { smokeTest } : {}) };
}

function progressRun<T>(ctx: CliContext, title: string, work: () => Promise<T>): Promise<T> {
  return ctx.progress().run(title, work);
}

async function applyPlanFile(ctx: CliContext, opts: ApplyOptions, file: string): Promise<number> {
  if (opts.all || opts.service !== undefined || opts.image !== undefined || opts.tag !== undefined) {
    throw new C2CError('USAGE', '--plan cannot be combined with --service, --image, --all or --tag: the plan says what to deploy', {
      hint: 'apply --plan FILE',
    });
  }
  if (opts.approval === 'cloudbuild' && opts.smokeTest !== undefined) {
    // The build step that holds Marathon's credentials never runs repository code (smoke tests run in their own builds).
    throw new C2CError(
      'USAGE',
      "--smoke-test is not allowed with --approval cloudbuild: it would run repository code beside Marathon's credentials",
      {
        hint: "leave out --smoke-test: the pipeline's smoke-test builds run it without Marathon secrets",
      },
    );
  }
  await signAuditRecords(ctx, undefined);
  const plan = await readPlanForGate(ctx.audit(), file, ctx.actor());
  const service = ctx.catalog().get(plan.service);
  if (opts.env !== undefined && parseEnvironment(opts.env) !== plan.environment) {
    throw new C2CError('USAGE', `--env ${opts.env} does not match the plan's environment ${plan.environment}`, {
      hint: 'leave out --env with --plan',
    });
  }
  const environment = plan.environment;
  const deploy = { ...deployContext(ctx, opts, environment, service), audit: ctx.audit() };
  let source: ApprovalSource = { kind: 'local' };
  let signers: AllowedSigners | undefined;
  try {
    if (environment === 'production' && opts.approval === 'cloudbuild') {
      // The gate reads approvals from Google's API only; a test endpoint never approves production.
      if (ctx.env.C2C_CLOUDBUILD_BASE_URL) {
        throw new C2CError(
          'GATE_CLOUDBUILD_OVERRIDE',
          'C2C_CLOUDBUILD_BASE_URL is set: a Cloud Build approval is read only from cloudbuild.googleapis.com',
          { hint: 'unset C2C_CLOUDBUILD_BASE_URL' },
        );
      }
      // The repository's allowed signers decide who wrote a plan: a file named by the environment never does here.
      if (ctx.env.C2C_ALLOWED_SIGNERS) {
        throw new C2CError(
          'GATE_SIGNERS_OVERRIDE',
          "C2C_ALLOWED_SIGNERS is set: a production build verifies signatures only against the platform's allowed signers",
          {
            hint: "unset C2C_ALLOWED_SIGNERS in the production trigger; add keys to the platform repository's security/allowed_signers through a reviewed change",
          },
        );
      }
      source = { kind: 'cloudbuild', build: cloudBuildContext(ctx.env), auth: googleAuthFromEnv(ctx.env) };
      // Only the platform's list (C2C_PLATFORM_SIGNERS): without it no signature counts, never the checkout's file.
      signers = (await platformSigners(ctx))?.signers;
    } else if (environment === 'production') {
      signers = await allowedSigners(ctx);
    }
  } catch (error) {
    if (isRefusal(error))
      await recordRefusal(deploy.audit, { service: plan.service, environment, actor: ctx.actor(), planId: plan.id, error });
    throw error;
  }
  const result = await progressRun(ctx, `applying plan ${plan.id.slice(0, 12)} to ${environment}`, () =>
    applyPlan(deploy, { plan, service, source, ...(signers ? { signers } : {}), ...(opts.force ? { force: true } : {}) }),
  );
  printResult(ctx, opts, result);
  return EXIT.ok;
}

async function applyFleet(ctx: CliContext, opts: ApplyOptions, environment: 'staging'): Promise<number> {
  const concurrency = opts.concurrency === undefined ? 4 : parseCount(opts.concurrency, '--concurrency', 1, 64);
  if (opts.tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(opts.tag)) {
    throw new C2CError('USAGE', `--tag '${opts.tag}' is not a valid image tag`, { hint: 'e.g. --tag 3f2a9c1' });
  }
  const services = ctx.catalog().services;
  const deploy = deployContext(ctx, opts, environment);
  const entries = await progressRun(ctx, `deploying ${services.length} services to ${environment}`, () =>
    applyAll(deploy, {
      services,
      environment,
      tag: opts.tag,
      registryHost: platformFromEnv(ctx.env).registryHost,
      commit: opts.commit,
      concurrency,
      force: opts.force,
    }),
  );
  const failed = entries.filter((e) => e.status === 'failed');
  if (opts.json) {
    ctx.json({ ok: failed.length === 0, environment, services: entries });
  } else {
    for (const e of entries) {
      if (e.status === 'failed') ctx.out(`${e.service}: failed${e.rolledBack ? ', rolled back' : ''}: ${e.message}`);
      else if (e.status === 'skipped') ctx.out(`${e.service}: skipped: ${e.reason}`);
      else ctx.out(`${e.service}: ${e.status === 'noop' ? 'no change' : 'deployed'} (${e.result.image}, version ${e.result.version})`);
    }
  }
  if (deploy.signal?.aborted) {
    ctx.err(`deploy: interrupted: see above which deployments keep running ('deploy status --env ${environment}')`);
    return deploy.signal.reason === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  }
  if (failed.length > 0) {
    ctx.err(`deploy: ${failed.length} of ${entries.length} services failed: ${failed.map((f) => f.service).join(', ')}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

function printResult(ctx: CliContext, opts: ApplyOptions, result: ReleaseResult): void {
  if (opts.json) {
    ctx.json({ ok: true, ...result });
    return;
  }
  const tasks = `${result.tasks.healthy}/${result.tasks.running}/${result.tasks.wanted} healthy/running/wanted`;
  const r = result.rollout;
  const next = `deploy promote ${result.service} --env ${result.environment}`;
  const back = `deploy abort ${result.service} --env ${result.environment}`;
  if (result.outcome === 'noop')
    ctx.out(`no change: ${result.appId} already runs ${result.image} (version ${result.version}, ${tasks}); nothing sent`);
  else if (r?.state === 'paused')
    ctx.out(
      `${result.image} on ${r.colour} (${result.appId}) at step ${r.step.index}: ${r.step.percent} % of the instances; paused: '${next}' goes on, '${back}' moves all traffic back`,
    );
  else if (r?.state === 'released')
    ctx.out(
      `released ${result.image} on ${r.colour} (${result.appId}, version ${result.version}, ${tasks}, ${(result.durationMs / 1000).toFixed(1)} s)` +
        (r.keptOld ? `; ${r.keptOld} kept for a switch back ('${back}')` : ''),
    );
  else
    ctx.out(
      `deployed ${result.image} to ${result.appId}: version ${result.version} (${tasks}, ${(result.durationMs / 1000).toFixed(1)} s)`,
    );
}
