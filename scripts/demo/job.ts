// The main job's state and its runner: a list of named steps (scripts/demo/steps.ts) run in order over one MainJob.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { ProcessOutput, ProcessPromise } from 'zx';
import { findRepoRoot } from '../../constructs/settings';
import { ArtifactRef } from '../../lib/catalog/artifact';
import { Catalog } from '../../lib/catalog';
import { ServiceRuns } from '../../lib/cloudbuild/service-setup';
import { ArtifactBucket } from '../../lib/demo/artifacts';
import { RUN_LABEL } from '../../lib/demo/docker-images';
import { removeContainersWithLabel, removeDanglingImages, removeImageTags } from '../../lib/docker/containers';
import { DockerMode } from '../../lib/docker/engine';
import { LocalRegistry } from '../../lib/docker/local-registry';
import { acquireWorkLock, WorkLock } from '../../lib/demo/work-lock';
import { C2CError, ERROR_EXIT_CODES } from '../../lib/errors';
import { startChatStandIn } from '../../lib/notify';
import { PlatformConfig } from '../../lib/platform';
import { loadCatalog } from '../../services';
import { LocalMarathon } from '@commit-to-cloud/local-marathon';

export interface Options {
  readonly workdir: string;
  readonly json: boolean;
  readonly docker: DockerMode;
}

/** One built commit of a service: its repository, commit and image. */
export interface Build {
  readonly name: string;
  readonly repo: string;
  readonly sha: string;
  readonly commitTime: string;
  /** The image (with Docker: pinned by digest, `<registry>/<name>:<tag>@sha256:…`), or an artifact service's URI. */
  readonly image: string;
  readonly artifact?: ArtifactRef;
  /** With Docker: the pushed tag (`<registry>/<name>:<tag>`) and the digest the registry answered for it. */
  readonly pushed?: { readonly tag: string; readonly digest: string };
}

export interface Written {
  readonly what: string;
  readonly path: string;
}

/** The two clusters, the stand-ins around them and the deploy CLI as the job runs it (set by the `clusters` step). */
export interface Clusters {
  readonly staging: LocalMarathon;
  readonly production: LocalMarathon;
  readonly chat: Awaited<ReturnType<typeof startChatStandIn>>;
  readonly bucket: ArtifactBucket;
  /** The audit log: a file, or with Docker the builds' `gs://<audit bucket>/events/` in the Storage stand-in. */
  readonly audit: string;
  /** What reaches that log (with Docker: the Storage stand-in's URL and token), for the deploy CLI and AuditLog.open. */
  readonly auditEnv: Readonly<Record<string, string>>;
  /** The deploy CLI as `actor` (quiet, never throws). */
  deploy(actor: string, args: string[]): ProcessPromise;
  /** The deploy CLI with its progress lines shown as they come, prefixed with `label`, then its result. */
  deployLive(label: string, actor: string, args: string[]): Promise<ProcessOutput>;
}

/**
 * One step of the main job. A step with a `heading` is numbered (`[n/N] heading`); one without prepares what later
 * steps use. Add a step by putting it into the list in scripts/demo/steps.ts where it belongs.
 */
export interface Step {
  readonly name: string;
  readonly heading?: (job: MainJob) => string;
  /** Whether the step does not run in this job (decided once the steps before it ran: the Docker path or not). */
  readonly skip?: (job: MainJob) => boolean;
  run(job: MainJob): Promise<void>;
}

/** A server the job started and stops: what it is (for the Ctrl-C line) and, for a Marathon, where to count its tasks. */
export interface Running {
  readonly what: string;
  readonly marathonUrl?: string;
  close(): Promise<void>;
}

/** What the steps share: options, where things go, what was written, the summary, and what earlier steps set up. */
export class MainJob {
  readonly root = findRepoRoot(__dirname);
  readonly catalog: Catalog = loadCatalog();
  readonly written: Written[] = [];
  readonly summary: Record<string, unknown> = {};
  /** With Docker: every image the job builds carries this run's label, and so does every container started from one. */
  readonly runId = randomUUID();
  readonly pushedTags: string[] = [];
  /** Servers closed when the job stops (the local Marathons first). */
  readonly servers: Running[] = [];
  /** Set by Ctrl-C (SIGINT) or SIGTERM: from then on the narrative is silent and only the stop is reported. */
  interrupted?: NodeJS.Signals;
  dockerUsed = false;
  registry?: LocalRegistry;
  baseImage = '';
  /** The local image store (the stand-in path). */
  images = '';
  private platformConfig?: PlatformConfig;
  private clusterSet?: Clusters;
  /**
   * With Docker: the local Cloud Build executor's setup (the `clusters` step), which runs the first release; `abort`
   * stops its builds, `running` is their work until it has cleaned up (awaited when the job stops).
   */
  executor?: { readonly runs: ServiceRuns; readonly abort: AbortController; running?: Promise<unknown> };
  /** The first release of every service (the `build` step). */
  builds: Build[] = [];
  private readonly started = Date.now();
  private stopping?: Promise<number>;

  constructor(readonly opts: Options) {}

  get work(): string {
    return this.opts.workdir;
  }

  get platform(): PlatformConfig {
    return this.need(this.platformConfig, 'the platform settings');
  }

  set platform(value: PlatformConfig) {
    this.platformConfig = value;
  }

  get clusters(): Clusters {
    return this.need(this.clusterSet, 'the local Marathons');
  }

  set clusters(value: Clusters) {
    this.clusterSet = value;
  }

  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)}s`;
  }

  seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** A line of the narrative (stdout; nothing with --json). */
  say(line = ''): void {
    if (!this.opts.json && !this.interrupted) process.stdout.write(`${line}\n`);
  }

  /** A path relative to the working directory when it is below it. */
  rel(p: string): string {
    const r = relative(process.cwd(), p);
    return r.startsWith('..') ? p : r;
  }

  /**
   * One stop, however many ask for it (Ctrl-C and the failure it causes both do): each waits until all is done.
   * Resolves to the number of containers that were left running (and are removed now).
   */
  stop(): Promise<number> {
    return (this.stopping ??= (async () => {
      await Promise.all(this.servers.splice(0).map((m) => m.close()));
      if (!this.dockerUsed) return 0;
      // The local Marathon removes its containers when it closes; anything left (it was killed) goes here.
      const left = await removeContainersWithLabel(`${RUN_LABEL}=${this.runId}`);
      if (left > 0 && !this.interrupted) process.stderr.write(`demo: removed ${left} container(s) left running\n`);
      // The registry's tags point at a registry that is gone now; the cache tags stay for the next run's builds,
      // and the images this run (or an earlier one) superseded, now without a tag, go.
      await removeImageTags(this.pushedTags.splice(0));
      await removeDanglingImages(RUN_LABEL);
      return left;
    })());
  }

  /** What runs now, for the Ctrl-C line: each server, a Marathon with the number of its tasks. */
  async running(): Promise<string[]> {
    return Promise.all(
      this.servers.map(async (s) => {
        if (s.marathonUrl === undefined) return s.what;
        const n = await countTasks(s.marathonUrl);
        return `${s.what} (${n === undefined ? 'its tasks' : `${n} task${n === 1 ? '' : 's'}`})`;
      }),
    );
  }

  private need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`${what} are not set up yet: a step runs before the step that prepares them`);
    return value;
  }
}

/** The number of tasks a Marathon reports (GET /v2/tasks), undefined when it does not answer in time. */
async function countTasks(marathonUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${marathonUrl}/v2/tasks`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { tasks?: unknown };
    return res.ok && Array.isArray(body.tasks) ? body.tasks.length : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the steps in order over a fresh work directory, which it locks first (`<workdir>.lock`): a second run on the
 * same directory exits 1 naming the run that holds it. Ctrl-C or SIGTERM stops what runs (servers, containers), says
 * what it stopped in one line and exits 130 (SIGTERM: 143). Returns the exit code: 0 when every step did what it
 * should, 1 when one failed (its message on stderr).
 */
export async function runMainJob(opts: Options, steps: readonly Step[]): Promise<number> {
  let lock: WorkLock;
  try {
    lock = acquireWorkLock(opts.workdir);
  } catch (err) {
    if (!(err instanceof C2CError) || err.code !== 'WORKDIR_LOCKED') throw err;
    process.stderr.write(`demo: ${err.message}\n`);
    return 1;
  }
  if (lock.tookOver) {
    const t = lock.tookOver;
    process.stderr.write(`demo: note: took over ${lock.path}, left by pid ${t.pid} (since ${t.since}), which no longer runs\n`);
  }
  const release = () => lock.release();
  process.once('exit', release);
  try {
    await rm(opts.workdir, { recursive: true, force: true });
    await mkdir(opts.workdir, { recursive: true });
    return await runSteps(new MainJob(opts), steps, lock);
  } finally {
    lock.release();
    process.removeListener('exit', release);
  }
}

/** The steps in order, each with its header and its own duration; signals stop the job (see runMainJob). */
async function runSteps(job: MainJob, steps: readonly Step[], lock: WorkLock): Promise<number> {
  let interruption: Promise<never> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second Ctrl-C while stopping ends the process at once (the lock goes with it, on exit).
    if (job.interrupted) process.exit(ERROR_EXIT_CODES.INTERRUPTED);
    job.interrupted = signal;
    interruption = interrupt(job, lock);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Counted at the first numbered step: which steps run is known once the unnumbered ones before it (Docker) ran.
  let numbered = 0;
  let n = 0;
  try {
    for (const step of steps) {
      if (job.interrupted) break;
      if (step.skip?.(job)) continue;
      if (step.heading && n === 0) numbered = steps.filter((s) => s.heading !== undefined && !s.skip?.(job)).length;
      const started = Date.now();
      if (step.heading) job.say(`\n[${++n}/${numbered}] ${step.heading(job)}`);
      await step.run(job);
      if (step.heading) job.say(`  (step ${n}/${numbered} took ${((Date.now() - started) / 1000).toFixed(1)}s)`);
    }
    if (job.opts.json && !job.interrupted) process.stdout.write(`${JSON.stringify(job.summary)}\n`);
    return 0;
  } catch (err) {
    // A step that fails because of the interruption (its Marathon is gone, its deploy was stopped) is not news.
    if (job.interrupted) return ERROR_EXIT_CODES.INTERRUPTED;
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    if (err instanceof C2CError && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return 1;
  } finally {
    // The interruption ends the process itself, once it has stopped everything and said so.
    if (interruption) await interruption;
    await job.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** Stops everything, says in one line what was stopped, releases the lock and exits 130 (SIGTERM: 143). */
async function interrupt(job: MainJob, lock: WorkLock): Promise<never> {
  const running = await job.running();
  // Whatever the stop meets, the process still says what it stopped and exits with the signal's code.
  const left = await job.stop().catch(() => 0);
  if (left > 0) running.push(`${left} container${left === 1 ? '' : 's'} left running`);
  const what = running.length > 0 ? running.join(', ') : 'nothing (no server was running yet)';
  process.stderr.write(`interrupted: stopped ${what}; ${job.rel(job.work)} is kept, and \`npm start\` starts over\n`);
  lock.release();
  process.exit(job.interrupted === 'SIGTERM' ? ERROR_EXIT_CODES.TERMINATED : ERROR_EXIT_CODES.INTERRUPTED);
}
