// npm run pipeline -- list [--json]
// npm run pipeline -- run NAME [--substitution _KEY=VALUE]... [--source DIR] [--secrets DIR] [--commit SHA] [--dry-run] [--json]
// Runs a synthesized Cloud Build trigger's build on this machine, each step in a container of its image's local
// stand-in (lib/cloudbuild). Thin CLI: parse, one call, print.
import { Command } from 'commander';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findRepoRoot } from '../constructs/settings';
import { C2CError } from '../lib/errors';
import { execCommand } from '../lib/docker/exec';
import { probeDockerEngine } from '../lib/docker/engine';
import { startGoogleStandIn } from '../lib/cloudbuild/google-stand-in';
import { imageRowFor, imageTable } from '../lib/cloudbuild/images';
import { BuildResult, prepareBuild, runBuild, StepResult } from '../lib/cloudbuild/step-runner';
import { readSecrets } from '../lib/cloudbuild/secrets';
import { ensureStandInImage } from '../lib/cloudbuild/stand-in-images';
import { googleRouting } from '../lib/cloudbuild/stand-in-routes';
import { HostRoute, targetOf } from '../lib/cloudbuild/network';
import { synthesizedRoutes } from '../lib/cloudbuild/service-run';
import { findTrigger, ReadTrigger, readTriggers, synthIsStale } from '../lib/cloudbuild/triggers';
import { configureCommander, exitCodeFor, interruptOnSignals, reportCliError } from './cli-kit';

const io = { out: (s: string) => process.stdout.write(`${s}\n`), err: (s: string) => process.stderr.write(`${s}\n`) };
/** Every runnable step passed, but some steps cannot run here (Terraform, the Cloud SDK). */
const EXIT_NOT_RUNNABLE = 4;
const EXIT_CODES =
  '\nExit codes: 0 every step ok; 1 a step failed (named), or no Docker engine; 2 bad usage, an unknown trigger or an invalid build' +
  ' (substitutions, waitFor); 4 every step that can run here passed and some cannot run here (listed); 130/143 interrupted.';

const OUTDIR_HELP = 'read the triggers from this synthesized app (default: ./cdktf.out, synthesized again when stale)';

async function outdir(root: string, given?: string): Promise<string> {
  if (given !== undefined) return resolve(given);
  const dir = join(root, 'cdktf.out');
  if (synthIsStale(root, dir)) {
    io.err('pipeline: cdktf.out is older than the sources; synthesizing ...');
    const r = await execCommand('npm', ['run', '--silent', 'synth'], { cwd: root, timeoutMs: 300_000 });
    if (r.code !== 0)
      throw new C2CError('BUILD_FAILED', `npm run synth failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
  return dir;
}

async function list(json: boolean, given?: string): Promise<number> {
  const triggers = readTriggers(await outdir(findRepoRoot(__dirname), given));
  if (json) io.out(JSON.stringify(triggers.map((t) => ({ name: t.name, stack: t.stack, event: t.event, steps: t.build.steps.length }))));
  else for (const t of triggers) io.out(`${t.name.padEnd(28)} ${t.stack.padEnd(26)} ${t.event}`);
  return 0;
}

interface RunOpts {
  outdir?: string;
  substitution: string[];
  host: string[];
  marathonStaging?: string;
  marathonProduction?: string;
  source: string;
  secrets: string;
  commit?: string;
  dryRun: boolean;
  json: boolean;
}

function parseSubstitutions(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/s.exec(p);
    if (!m)
      throw new C2CError('USAGE', `--substitution '${p}' is not KEY=VALUE`, { hint: 'e.g. --substitution _PLAN_OBJECT=plans/x.json' });
    out[m[1]] = m[2];
  }
  return out;
}

/** `--marathon-staging/-production URL`: the Marathon and service URLs the synth wrote, answered by local Marathons. */
function marathonRoutes(trigger: ReadTrigger, opts: RunOpts): HostRoute[] {
  if (!opts.marathonStaging && !opts.marathonProduction) return [];
  if (!opts.marathonStaging || !opts.marathonProduction)
    throw new C2CError('USAGE', '--marathon-staging and --marathon-production go together', {
      hint: 'give both local Marathons (http://127.0.0.1:PORT each)',
    });
  for (const url of [opts.marathonStaging, opts.marathonProduction])
    if (!/^http:\/\/(127\.0\.0\.1|localhost):\d+\/?$/.test(url))
      throw new C2CError('USAGE', `'${url}' is not a local Marathon URL`, { hint: 'http://127.0.0.1:PORT' });
  const service = trigger.name.replace(/-(push|production|e2e|pr)$/, '');
  return synthesizedRoutes(trigger.build, service, { staging: opts.marathonStaging, production: opts.marathonProduction });
}

/** `--host NAME:PORT=http://127.0.0.1:PORT`: a name on the cloudbuild network answered by a server here. */
function parseHosts(pairs: readonly string[]): HostRoute[] {
  return pairs.map((p) => {
    const m = /^([a-z0-9.-]+):(\d+)=(http:\/\/(127\.0\.0\.1|localhost):\d+)\/?$/i.exec(p);
    if (!m)
      throw new C2CError('USAGE', `--host '${p}' is not NAME:PORT=http://127.0.0.1:PORT`, {
        hint: 'e.g. --host marathon.staging.internal:8080=http://127.0.0.1:41234 (a local Marathon)',
      });
    return { names: [m[1]], port: Number(m[2]), target: targetOf(m[3]) };
  });
}

function stepLine(r: StepResult): string {
  const secs = r.seconds === undefined ? '' : ` ${r.seconds.toFixed(1)}s`;
  return `${r.key.padEnd(26)} ${r.status}${secs}${r.reason && r.status !== 'ok' ? `  (${r.reason})` : ''}${r.note ? `  (${r.note})` : ''}`;
}

async function run(name: string, opts: RunOpts, signal: AbortSignal): Promise<number> {
  const root = findRepoRoot(__dirname);
  const trigger = findTrigger(await outdir(root, opts.outdir), name);
  const source = resolve(opts.source);
  const commit = opts.commit ?? (await execCommand('git', ['rev-parse', 'HEAD'], { cwd: source })).stdout.trim() ?? '';
  const context = {
    projectId: trigger.project,
    location: trigger.location,
    buildId: `local-${Date.now().toString(36)}`,
    triggerName: trigger.name,
    commitSha: commit || '0'.repeat(40),
    branchName: 'main',
  };
  const substitutions = parseSubstitutions(opts.substitution);
  for (const [key, value] of Object.entries(trigger.build.substitutions ?? {})) {
    if (key in substitutions || !/^\$\(body\.|<unresolved /.test(value)) continue;
    const from = value.startsWith('$(') ? 'the Pub/Sub message that starts the build' : 'the state of an applied platform';
    throw new C2CError('USAGE', `${name}: substitution ${key} comes from ${from} (${value}); pass it with --substitution ${key}=VALUE`);
  }
  // A trigger's build, as `gcloud builds triggers run` starts it: its substitution checks follow the trigger rule.
  const prepared = prepareBuild(trigger.build, { context, substitutions, triggered: true });
  if (opts.dryRun) {
    if (opts.json) io.out(JSON.stringify({ trigger: trigger.name, steps: prepared }, null, 1));
    else
      for (const s of prepared)
        io.out(
          `${s.key.padEnd(26)} after [${s.after.join(', ')}]  ${'image' in s.standIn ? s.standIn.image : `not runnable here: ${s.standIn.notRunnable}`}${s.note ? `  (${s.note})` : ''}`,
        );
    return 0;
  }
  const engine = await probeDockerEngine();
  if (!engine.available)
    throw new C2CError('DOCKER_NOT_FOUND', `cannot run ${name}: ${engine.reason}`, { hint: 'start the engine, or use --dry-run' });
  const secrets = await readSecrets(resolve(opts.secrets), trigger.build.availableSecrets?.secretManager ?? []);
  for (const image of new Set(prepared.flatMap((s) => ('image' in s.standIn ? [s.image] : []))))
    await ensureStandInImage(imageRowFor(image, imageTable())!);
  const work = mkdtempSync(join(tmpdir(), 'c2c-pipeline-'));
  const google = await startGoogleStandIn(join(work, 'google'));
  try {
    cpSync(source, join(work, 'workspace'), { recursive: true, filter: (p) => !/\/(node_modules|\.git|cdktf\.out|dist)$/.test(p) });
    const routing = await googleRouting(google, work);
    const result: BuildResult = await runBuild(trigger.build, {
      workspace: join(work, 'workspace'),
      context,
      substitutions,
      triggered: true,
      secrets,
      standInEnv: routing.env,
      routes: [...routing.routes, ...marathonRoutes(trigger, opts), ...parseHosts(opts.host)],
      dockerEnv: { PATH: process.env.PATH, DOCKER_HOST: process.env.DOCKER_HOST },
      mounts: [`${join(homedir(), '.npm')}:/root/.npm`, ...routing.mounts],
      signal,
      onEvent: (e) => (e.type === 'finished' && !opts.json ? io.out(stepLine(e.result)) : undefined),
    });
    if (opts.json) io.out(JSON.stringify(result));
    return report(name, result);
  } finally {
    await google.close();
    rmSync(work, { recursive: true, force: true });
  }
}

function report(name: string, result: BuildResult): number {
  const failed = result.steps.find((s) => s.key === result.failed);
  if (failed) {
    io.err(`pipeline: ${name}: step ${failed.key} ${failed.status} (${failed.reason}); its last log lines:`);
    io.err(failed.logTail ? failed.logTail.replace(/^/gm, '  | ') : '  (no output)');
    return 1;
  }
  const notRunnable = result.steps.filter((s) => s.status === 'not runnable');
  if (notRunnable.length > 0) {
    io.err(`pipeline: ${name}: ${notRunnable.map((s) => s.key).join(', ')} cannot run here; every other step passed`);
    return EXIT_NOT_RUNNABLE;
  }
  io.err(`pipeline: ${name}: ${result.steps.length} steps ok in ${result.seconds.toFixed(1)} s`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('pipeline')
    .description("Run the synthesized Cloud Build triggers' builds on this machine")
    .addHelpText('after', EXIT_CODES);
  let action: () => Promise<number> = async () => 0;
  program
    .command('list')
    .description(
      'one line per synthesized trigger: name, stack, event (pull request, push, storage object [then approval], manual approval, scheduled)',
    )
    .option('--json', 'print JSON', false)
    .option('--outdir <dir>', OUTDIR_HELP)
    .action((o: { json: boolean; outdir?: string }) => void (action = () => list(o.json, o.outdir)));
  program
    .command('run <name>')
    .description("run a trigger's build: each step a container of its image's stand-in, /workspace shared")
    .option('--substitution <KEY=VALUE>', 'a substitution (repeat); user ones start with _', (v, acc: string[]) => [...acc, v], [])
    .option(
      '--host <NAME:PORT=URL>',
      'answer NAME:PORT on the cloudbuild network with a server on this machine (repeat), e.g. a Marathon URL the synth wrote',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--marathon-staging <url>', 'the local staging Marathon that answers the Marathon and service URLs the synth wrote')
    .option('--marathon-production <url>', 'the local production Marathon (same)')
    .option('--source <dir>', 'the checkout copied to /workspace (without node_modules, .git, cdktf.out, dist)', '.')
    .option('--secrets <dir>', 'the local secret store: one file per Secret Manager secret, named by its id', '.c2c-secrets')
    .option('--commit <sha>', '$COMMIT_SHA (default: git rev-parse HEAD of --source)')
    .option('--outdir <dir>', OUTDIR_HELP)
    .option('--dry-run', 'check and show the steps, their order and images; run nothing', false)
    .option('--json', 'print the result as JSON', false)
    .addHelpText('after', EXIT_CODES)
    .action((n: string, o: RunOpts) => void (action = () => run(n, o, interrupt.signal)));
  configureCommander(program, io);
  const interrupt = interruptOnSignals(process, (s) => io.err(`pipeline: ${s}: stopping the running steps ...`));
  try {
    program.parse(argv, { from: 'user' });
    return await action();
  } catch (e) {
    return exitCodeFor(e) === 0 ? 0 : reportCliError('pipeline', io, e);
  } finally {
    interrupt.dispose();
  }
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
