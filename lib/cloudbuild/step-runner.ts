/**
 * Runs a build's steps on this machine as Cloud Build runs them: each step a container of its image's stand-in, with
 * its entrypoint, args, env, secretEnv and working directory `/workspace/<dir>`; `/workspace` a directory shared by
 * every step; the Docker socket mounted; steps started by the graph of `waitFor` (parallel where Cloud Build runs
 * them in parallel); a step past its timeout killed. When a step fails, the build fails: running steps are stopped
 * and the steps not yet started are not run. Steps whose image cannot run here are reported, never faked.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import { C2CError } from '../errors';
import { execCommand, tail } from '../docker/exec';
import { removeContainersWithLabel } from '../docker/containers';
import { GraphNode, stepGraph } from './graph';
import { imageRowFor, ImageRow, imageTable } from './images';
import { BUILD_NETWORK, ensureBuildNetwork, HostRoute, Relays, startRelays } from './network';
import { ensureStandInImage } from './stand-in-images';
import { redact } from './secrets';
import { rewriteSidecar } from './sidecar';
import { allowsLooseSubstitutions, BuildContext, builtInValues, checkSubstitutions, substitute } from './substitute';
import { Build, BuildStep, durationMs } from './types';

/** Label on every step container (value: the build id), for cleanup. */
export const STEP_LABEL = 'c2c.cloudbuild.build';

/** How a step ended. */
export type StepStatus = 'ok' | 'failed' | 'timeout' | 'cancelled' | 'not run' | 'not runnable';

/** One step's outcome. */
export interface StepResult {
  readonly key: string;
  readonly image: string;
  readonly status: StepStatus;
  readonly seconds?: number;
  /** The last lines of its output (secrets redacted), when it failed. */
  readonly logTail?: string;
  /** Why it did not run, or what failed. */
  readonly reason?: string;
  /** What the executor changed to run it here (PreparedStep.note). */
  readonly note?: string;
}

/** What a run reports as it goes. */
export type RunEvent = { readonly type: 'started'; readonly key: string } | { readonly type: 'finished'; readonly result: StepResult };

/** Options of {@link runBuild}. */
export interface RunOptions {
  /** The host directory mounted as /workspace (the checkout). */
  readonly workspace: string;
  readonly context: BuildContext;
  /** User substitutions given at run time; they override the trigger's. */
  readonly substitutions?: Readonly<Record<string, string>>;
  /**
   * A build a trigger started: its substitution checks are loose unless the build asks for `MUST_MATCH`; a build
   * submitted directly is strict unless it asks for `ALLOW_LOOSE` ({@link allowsLooseSubstitutions}). @default false
   */
  readonly triggered?: boolean;
  /** Values of `availableSecrets`, by env name (see secrets.ts). */
  readonly secrets?: ReadonlyMap<string, string>;
  /**
   * Variables the executor adds to every step (before the build's own `env`, which wins): `NODE_EXTRA_CA_CERTS` for
   * the stand-in certificate of the TLS routes. Cloud Build sets none of them.
   */
  readonly standInEnv?: Readonly<Record<string, string>>;
  /** The Docker network steps run on, created when missing (network.ts). @default 'cloudbuild' */
  readonly network?: string;
  /**
   * Names on the network answered by servers on this machine (the Google stand-in as `metadata.google.internal`,
   * `storage.googleapis.com`; the local Marathons under the names the synth wrote), through relays (network.ts).
   */
  readonly routes?: readonly HostRoute[];
  /**
   * `NAME:IP` of relays started outside this build that answer names it uses (a run's shared relays, {@link Relays.hosts}),
   * for every step's `--add-host`, as the build's own relays' are.
   */
  readonly hosts?: readonly string[];
  /** More bind mounts (`host:container[:ro]`) for every step: the CLI mounts this machine's npm cache at /root/.npm. */
  readonly mounts?: readonly string[];
  /** Environment of the docker CLI itself (PATH, DOCKER_HOST); never passed to steps. @default - PATH=/usr/local/bin:/usr/bin:/bin */
  readonly dockerEnv?: Readonly<Record<string, string | undefined>>;
  /** The image table. @default imageTable() */
  readonly images?: readonly ImageRow[];
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: RunEvent) => void;
  /** Lines of a failed step's log to keep. @default 20 */
  readonly logLines?: number;
}

/** A build after substitution, ready to run: what `--dry-run` shows. */
export interface PreparedStep {
  readonly key: string;
  readonly image: string;
  /** The stand-in's tag, or why the step cannot run here. */
  readonly standIn: { readonly image: string } | { readonly notRunnable: string };
  /** What the executor changed to run the step here (the registry side-car, sidecar.ts). */
  readonly note?: string;
  /** More stand-in images the step starts (the side-car's). */
  readonly uses?: readonly string[];
  readonly entrypoint?: string;
  readonly args: readonly string[];
  readonly dir: string;
  readonly env: readonly string[];
  readonly secretEnv: readonly string[];
  readonly after: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * Checks the build as Cloud Build does before it starts (graph, substitutions, secrets named) and applies the
 * substitutions. Nothing runs.
 * @throws C2CError BUILD_INVALID
 */
export function prepareBuild(
  build: Build,
  options: Pick<RunOptions, 'context' | 'substitutions' | 'images' | 'triggered' | 'network'>,
): PreparedStep[] {
  const graph = stepGraph(build.steps);
  const user = { ...build.substitutions, ...options.substitutions };
  const templates = build.steps.flatMap((s) => [s.name, s.entrypoint ?? '', s.dir ?? '', ...(s.args ?? []), ...(s.env ?? [])]);
  checkSubstitutions(templates, user, allowsLooseSubstitutions(build.options?.substitutionOption, options.triggered === true));
  const values = { ...builtInValues(options.context), ...user };
  const available = new Set((build.availableSecrets?.secretManager ?? []).map((s) => s.env));
  const side = { label: `${STEP_LABEL}=${options.context.buildId}`, network: options.network ?? BUILD_NETWORK };
  return build.steps.map((step, i) => prepareStep(step, graph[i], graph, build, values, available, options.images ?? imageTable(), side));
}

/** The label a side-car container carries, and the network the build's steps run on. */
interface SidecarPlace {
  readonly label: string;
  readonly network: string;
}

function prepareStep(
  step: BuildStep,
  node: GraphNode,
  graph: readonly GraphNode[],
  build: Build,
  values: Record<string, string>,
  available: ReadonlySet<string>,
  images: readonly ImageRow[],
  side: SidecarPlace,
): PreparedStep {
  const sub = (t: string) => substitute(t, values);
  const secretEnv = [...(build.options?.secretEnv ?? []), ...(step.secretEnv ?? [])];
  for (const name of secretEnv) {
    if (!available.has(name))
      throw new C2CError(
        'BUILD_INVALID',
        `invalid build: step "${node.key}" has secretEnv "${name}", which availableSecrets does not define`,
      );
  }
  const image = sub(step.name);
  const dir = sub(step.dir ?? '');
  const { standIn, args, note, uses } = standInOf(image, (step.args ?? []).map(sub), images, side);
  return {
    key: node.key,
    image,
    standIn,
    ...(note ? { note, uses } : {}),
    ...(step.entrypoint ? { entrypoint: sub(step.entrypoint) } : {}),
    args,
    dir: isAbsolute(dir) ? dir : posix.join('/workspace', dir),
    env: [...(build.options?.env ?? []), ...(step.env ?? [])].map(sub),
    secretEnv,
    after: node.after.map((a) => graph[a].key),
    ...(step.timeout ? { timeoutMs: durationMs(step.timeout, 0) } : {}),
  };
}

/**
 * The stand-in a step runs in; a step of the docker builder that runs an image which cannot run here cannot either,
 * and one that starts the registry side-car runs with the side-car's rewrite (sidecar.ts).
 */
function standInOf(
  image: string,
  args: string[],
  images: readonly ImageRow[],
  side: SidecarPlace,
): { standIn: PreparedStep['standIn']; args: string[]; note?: string; uses?: string[] } {
  const row = imageRowFor(image, images);
  if (!row) return { standIn: { notRunnable: `no local stand-in for ${image} (nothing can be pulled here)` }, args };
  if (!row.standIn) return { standIn: { notRunnable: row.notRunnable ?? 'no stand-in' }, args };
  for (const [i, arg] of args.entries()) {
    const used = /^[a-z0-9./-]+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/.test(arg) && /[:@]/.test(arg) ? imageRowFor(arg, images) : undefined;
    const rewrite = used?.sidecar ? rewriteSidecar(args, used, i, side.label, side.network) : undefined;
    if (rewrite) return { standIn: { image: row.standIn }, args: rewrite.args, note: rewrite.note, uses: [rewrite.standIn] };
    if (used?.notRunnable || used?.sidecar)
      return { standIn: { notRunnable: `it runs ${arg}, which cannot run here: ${used.notRunnable ?? used.sidecar}` }, args };
  }
  return { standIn: { image: row.standIn }, args };
}

/** What {@link runBuild} returns. */
export interface BuildResult {
  readonly ok: boolean;
  readonly steps: readonly StepResult[];
  readonly seconds: number;
  /** The first step that failed. */
  readonly failed?: string;
}

/**
 * Runs a prepared build. Never throws for a failing step: the result says which failed; throws only for what stops
 * the run itself (no engine).
 */
export async function runBuild(build: Build, options: RunOptions): Promise<BuildResult> {
  const started = Date.now();
  const steps = prepareBuild(build, options);
  await mkdir(options.workspace, { recursive: true });
  const network = options.network ?? BUILD_NETWORK;
  await ensureBuildNetwork(network);
  const table = options.images ?? imageTable();
  // Every stand-in a step runs or starts, made when missing (an image that exists is only inspected).
  const needed = new Set(steps.flatMap((s) => ('image' in s.standIn ? [s.standIn.image, ...(s.uses ?? [])] : [])));
  for (const image of needed) await ensureStandInImage(table.find((r) => r.standIn === image)!);
  const relays = await relaysFor(options, network);
  const results = new Map<string, StepResult>();
  const running = new Map<string, Promise<void>>();
  const stop = new AbortController();
  const buildDeadline = setTimeout(() => stop.abort('build timeout'), durationMs(build.timeout, 600_000));
  const onAbort = () => stop.abort('interrupted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // An abort while the stand-ins and relays were being made stops the build before any step starts.
  if (options.signal?.aborted) onAbort();
  const finish = (r: StepResult) => {
    results.set(r.key, r);
    options.onEvent?.({ type: 'finished', result: r });
  };
  try {
    for (;;) {
      for (const step of steps) {
        if (results.has(step.key) || running.has(step.key)) continue;
        const deps = step.after.map((k) => results.get(k));
        if (deps.some((d) => d === undefined)) {
          if (deps.some((d) => d && d.status !== 'ok'))
            finish({ key: step.key, image: step.image, status: 'not run', reason: notRunReason(step, results) });
          continue;
        }
        if (deps.some((d) => d!.status !== 'ok') || stop.signal.aborted) {
          finish({
            key: step.key,
            image: step.image,
            status: 'not run',
            reason: notRunReason(step, results) ?? String(stop.signal.reason),
          });
          continue;
        }
        if ('notRunnable' in step.standIn) {
          finish({ key: step.key, image: step.image, status: 'not runnable', reason: step.standIn.notRunnable });
          continue;
        }
        options.onEvent?.({ type: 'started', key: step.key });
        const p = runStep(step, step.standIn.image, options, [...(options.hosts ?? []), ...(relays?.hosts ?? [])], stop.signal).then(
          (r) => {
            running.delete(step.key);
            finish(r);
            if (r.status !== 'ok') stop.abort(`step ${step.key} ${r.status}`);
          },
        );
        running.set(step.key, p);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    await relays?.close();
    await removeContainersWithLabel(`${STEP_LABEL}=${options.context.buildId}`);
    await execCommand('docker', ['volume', 'rm', '-f', homeVolume(options.context.buildId)], { timeoutMs: 30_000 });
    clearTimeout(buildDeadline);
    options.signal?.removeEventListener('abort', onAbort);
  }
  const ordered = steps.map((s) => results.get(s.key)!);
  const failed = ordered.find((r) => r.status === 'failed' || r.status === 'timeout');
  return {
    ok: ordered.every((r) => r.status === 'ok'),
    steps: ordered,
    seconds: (Date.now() - started) / 1000,
    ...(failed ? { failed: failed.key } : {}),
  };
}

/** The relays of the build's routes, in the slim Node stand-in (made when missing). */
async function relaysFor(options: RunOptions, network: string): Promise<Relays | undefined> {
  if (!options.routes || options.routes.length === 0) return undefined;
  const row = (options.images ?? imageTable()).find((r) => r.image === 'node:20-slim')!;
  const { image } = await ensureStandInImage(row);
  return startRelays({ network, buildId: options.context.buildId, routes: options.routes, image });
}

/** The build's `/builder/home` volume. */
function homeVolume(buildId: string): string {
  return `c2c-builder-home-${buildId.replace(/[^a-zA-Z0-9_.-]/g, '_')}`;
}

function notRunReason(step: PreparedStep, results: ReadonlyMap<string, StepResult>): string | undefined {
  const dep = step.after.find((k) => results.get(k) && results.get(k)!.status !== 'ok');
  return dep ? `waits for ${dep} (${results.get(dep)!.status})` : undefined;
}

/** `docker run` of one step; its output kept (redacted) for the failure message. */
async function runStep(
  step: PreparedStep,
  image: string,
  options: RunOptions,
  hosts: readonly string[],
  stop: AbortSignal,
): Promise<StepResult> {
  const started = Date.now();
  const name = `c2c-step-${options.context.buildId}-${step.key.replace(/[^a-zA-Z0-9_.-]/g, '_')}`.slice(0, 120);
  const secrets = options.secrets ?? new Map<string, string>();
  // Secret values reach the container through the docker CLI's environment (`-e NAME`), never through argv.
  const childEnv: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', ...options.dockerEnv };
  // As in Cloud Build: HOME is /builder/home, one volume kept across the build's steps (docker and git config).
  const envArgs: string[] = ['-e', 'HOME=/builder/home'];
  for (const e of [...Object.entries(options.standInEnv ?? {}).map(([k, v]) => `${k}=${v}`), ...step.env]) envArgs.push('-e', e);
  for (const s of step.secretEnv) {
    childEnv[s] = secrets.get(s) ?? '';
    envArgs.push('-e', s);
  }
  const args = [
    'run', '--rm', '--name', name, '--label', `${STEP_LABEL}=${options.context.buildId}`,
    '--network', options.network ?? BUILD_NETWORK, '-v', `${options.workspace}:/workspace`, '-v', '/var/run/docker.sock:/var/run/docker.sock',
    '-v', `${homeVolume(options.context.buildId)}:/builder/home`, ...(options.mounts ?? []).flatMap((m) => ['-v', m]),
    ...hosts.flatMap((h) => ['--add-host', h]), '-w', step.dir, ...envArgs, ...(step.entrypoint ? ['--entrypoint', step.entrypoint] : []), image, ...step.args,
  ]; // prettier-ignore
  const timeoutMs = step.timeoutMs;
  let log = '';
  let timedOut = false;
  const code = await new Promise<number>((resolve) => {
    const child = spawn('docker', args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (log = (log + d.toString()).slice(-64_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const kill = () => void execCommand('docker', ['kill', name], { timeoutMs: 30_000 });
    const timer = timeoutMs ? setTimeout(() => ((timedOut = true), kill()), timeoutMs) : undefined;
    stop.addEventListener('abort', kill, { once: true });
    child.once('error', () => resolve(127));
    child.once('close', (c) => {
      if (timer) clearTimeout(timer);
      stop.removeEventListener('abort', kill);
      resolve(c ?? 1);
    });
  });
  const seconds = (Date.now() - started) / 1000;
  if (code === 0) return { key: step.key, image: step.image, status: 'ok', seconds, ...(step.note ? { note: step.note } : {}) };
  const logTail = tail(redact(log, secrets), options.logLines ?? 20);
  if (timedOut)
    return { key: step.key, image: step.image, status: 'timeout', seconds, logTail, reason: `timed out after ${timeoutMs! / 1000}s` };
  if (stop.aborted) return { key: step.key, image: step.image, status: 'cancelled', seconds, logTail, reason: String(stop.reason) };
  return { key: step.key, image: step.image, status: 'failed', seconds, logTail, reason: `exited ${code}` };
}
