/**
 * Runs tasks as real local processes, each the leader of its own process group so that a kill reaches everything
 * it started. The runner kinds live in ./runners, one module each, tried in order: `cmd` without a container; an
 * executable from the local image store; `docker run` when an engine answers; otherwise a built-in stand-in that
 * answers 200 `ok` on every assigned port. A new kind is one more module and one more entry in the list.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Fetcher, FetcherConnectTo, fetchUris } from './fetcher';
import { isObject } from './json';
import { ProcessRecord, processStartTime } from './orphans';
import { cmdLauncher } from './runners/cmd';
import {
  DockerContext,
  dockerLauncher,
  finishContainer,
  probeDocker,
  reapDeadServerContainers,
  removeInstanceContainers,
  signalContainer,
} from './runners/docker';
import { imageStoreLauncher } from './runners/image-store';
import { answerOk, standInLauncher } from './runners/stand-in';
import { Launch, LaunchCommand, Launcher, LaunchSpec, RunnerKind } from './runners/types';

export type { LaunchSpec, RunnerKind } from './runners/types';

/** A started task process. */
export interface TaskProcess {
  pid: number;
  kind: RunnerKind;
  sandbox: string;
  /** Resolves when the process has exited (for a container: when it has exited and been removed, with its status). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  child: ChildProcess;
  /** The Docker container of a `docker` task. */
  container?: string;
}

/** Asks the OS for a free loopback port (listen on 0, then close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Options of {@link Runner}. */
export interface RunnerOptions {
  /** Sandboxes go to `<workDir>/tasks/<taskId>`. */
  workDir: string;
  imageStore?: string;
  docker: 'auto' | 'never';
  /** `PATH` to look for the `docker` binary on (and the fetcher's `tar`, `unzip`, ...). */
  path: string;
  /** The environment of the docker CLI (DOCKER_HOST, DOCKER_CONFIG, ...). @default - `{ PATH: path }` */
  dockerEnv?: Record<string, string | undefined>;
  /** This server's instance id: the `local-marathon.instance` label of its containers. @default - a random UUID */
  instanceId?: string;
  /** Receives log lines. */
  log?: (line: string) => void;
  /** A fetch download that receives nothing for this long fails. @default 60000 */
  fetcherStallTimeoutMs?: number;
  /** The fetcher's connection table (fetcher.ts `FetcherConnectTo`). @default [] */
  fetcherConnectTo?: readonly FetcherConnectTo[];
  /** Where each running task's process group is recorded, so a later server can reap it after a crash. */
  processes?: ProcessRecord;
}

/** Starts task processes. */
export class Runner {
  private readonly workDir: string;
  private readonly processes: ProcessRecord | undefined;
  private readonly docker: Promise<boolean>;
  private readonly dockerContext: DockerContext;
  private readonly fetcher: Fetcher;
  /** The runner kinds, in the order they are tried; the last one always applies. */
  private readonly launchers: Launcher[];
  /** Container signals and removals in flight (close waits for them). */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: RunnerOptions) {
    this.workDir = options.workDir;
    this.processes = options.processes;
    const env = options.dockerEnv ?? { PATH: options.path };
    this.docker = probeDocker(options.docker, { ...env, PATH: options.path });
    const instanceId = options.instanceId ?? randomUUID();
    const log = options.log ?? (() => undefined);
    this.dockerContext = {
      engine: this.docker,
      env: { ...env, PATH: options.path },
      instanceId,
      server: `${process.pid}:${processStartTime(process.pid) ?? ''}`,
      // Containers left by servers that died (kill -9) go before this server starts any.
      ready: this.docker
        .then((ok) => (ok ? reapDeadServerContainers(instanceId, { ...env, PATH: options.path }) : []))
        .then((ids) => {
          if (ids.length) log(`removed ${ids.length} container(s) left by servers that are gone`);
        }),
    };
    this.fetcher = new Fetcher({
      cacheDir: join(options.workDir, 'fetcher-cache'),
      path: options.path,
      stallTimeoutMs: options.fetcherStallTimeoutMs,
      connectTo: options.fetcherConnectTo ?? [],
    });
    this.launchers = [cmdLauncher, imageStoreLauncher(options.imageStore), dockerLauncher(this.dockerContext), standInLauncher()];
  }

  /** This server's instance id (the `local-marathon.instance` label of its containers). */
  instanceId(): string {
    return this.dockerContext.instanceId;
  }

  /** Settles once the containers of dead servers are removed (at once without an engine). */
  dockerReady(): Promise<unknown> {
    return this.dockerContext.ready;
  }

  /**
   * Signals a task: its container (`docker kill -s`; SIGKILL removes it) for a `docker` task, otherwise its whole
   * process group. Signalling only the `docker start -a` client would not stop the container.
   */
  signal(proc: TaskProcess, signal: NodeJS.Signals): void {
    if (!proc.container) return killGroup(proc.pid, signal);
    const p = signalContainer(proc.container, signal, this.dockerContext.env).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** After every task has exited: removes whatever container of this server is left (a launch cut short by the close). */
  async close(): Promise<void> {
    await this.dockerContext.ready;
    await Promise.all([...this.pending]);
    if (await this.docker) await removeInstanceContainers(this.dockerContext.instanceId, this.dockerContext.env);
  }

  /** Whether a Docker engine answered (`false` when docker is 'never' or no `docker` binary exists). */
  dockerAvailable(): Promise<boolean> {
    return this.docker;
  }

  /** The kinds this runner tries, in order. */
  kinds(): RunnerKind[] {
    return this.launchers.map((l) => l.kind);
  }

  /**
   * Starts a task; resolves once the process has been spawned (or rejects when it could not be, e.g. with a
   * `FetchError` when the app's `fetch` URIs could not all be fetched into the sandbox).
   */
  async launch(spec: LaunchSpec): Promise<TaskProcess> {
    const sandbox = this.prepareSandbox(spec);
    const def = spec.def;
    const uris = fetchUris(def);
    if (uris.length) {
      const user = typeof def.user === 'string' ? def.user : undefined;
      await this.fetcher.fetch({ containerId: randomUUID(), uris, sandbox, user, signal: spec.signal });
    }
    const container = isObject(def.container) ? def.container : undefined;
    const launch: Launch = {
      spec,
      sandbox,
      image: container && isObject(container.docker) && typeof container.docker.image === 'string' ? container.docker.image : undefined,
      cmd: typeof def.cmd === 'string' ? def.cmd : undefined,
      args: Array.isArray(def.args) ? def.args.map(String) : [],
    };
    for (const launcher of this.launchers) {
      const command = await launcher.command(launch);
      if (command) return this.spawn(launcher.kind, command, spec, sandbox);
    }
    throw new Error(`No runner can start task ${spec.taskId}`);
  }

  /** The task's sandbox directory (`MESOS_SANDBOX`), created empty; its stdout and stderr files go there. */
  private prepareSandbox(spec: LaunchSpec): string {
    const sandbox = join(this.workDir, 'tasks', spec.taskId);
    mkdirSync(sandbox, { recursive: true });
    return sandbox;
  }

  private async spawn(kind: RunnerKind, command: LaunchCommand, spec: LaunchSpec, sandbox: string): Promise<TaskProcess> {
    const env = { ...spec.env, ...command.env, MESOS_SANDBOX: sandbox };
    const out = openSync(join(sandbox, 'stdout'), 'a');
    const err = openSync(join(sandbox, 'stderr'), 'a');
    try {
      const child = spawn(command.file, command.argv, { cwd: command.cwd ?? sandbox, env, detached: true, stdio: ['ignore', out, err] });
      // Recorded before anything is awaited: a server killed from now on leaves the group for the next one to reap.
      const pid = child.pid;
      if (pid !== undefined)
        this.processes?.add({
          taskId: spec.taskId,
          appId: typeof spec.def.id === 'string' ? spec.def.id : '',
          pgid: pid,
          startTime: processStartTime(pid),
          kind,
          container: command.container,
        });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.once('exit', (code, signal) => {
          // The shell may leave children behind when it dies; Mesos would kill the whole container, so do we.
          killGroup(child.pid, 'SIGKILL');
          const container = command.container;
          if (!container) {
            this.processes?.remove(spec.taskId);
            resolve({ code, signal });
            return;
          }
          // The container's status, not the client's; the container is removed before the task counts as gone.
          void finishContainer(container, this.dockerContext.env).then((status) => {
            this.processes?.remove(spec.taskId);
            resolve(status === null ? { code, signal } : { code: status, signal: null });
          });
        });
        child.once('error', () => resolve({ code: 127, signal: null }));
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve());
        child.once('error', (e) => {
          this.processes?.remove(spec.taskId);
          reject(e);
        });
      });
      if (command.serve?.length) await serveWhileAlive(child, exited, command.serve);
      return { pid: child.pid as number, kind, sandbox, exited, child, container: command.container };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }
}

/**
 * Answers on `ports` for as long as the task's process lives. A port that cannot be listened on kills the process, as
 * a server that cannot bind its port dies.
 */
async function serveWhileAlive(child: ChildProcess, exited: Promise<unknown>, ports: readonly number[]): Promise<void> {
  try {
    const servers = await answerOk(ports);
    void exited.then(() => servers.close());
  } catch {
    killGroup(child.pid, 'SIGKILL');
  }
}

/** Signals a whole process group; a group that is already gone is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left to signal.
  }
}
