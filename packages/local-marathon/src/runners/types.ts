/**
 * What every way of running a task (a "runner kind") implements. The runner tries the kinds in order
 * (`LAUNCHERS` in ../runner.ts) and spawns the command of the first that applies, as the leader of a new process group.
 */
import { JsonObject } from '../json';

/** How a task was started. */
export type RunnerKind = 'cmd' | 'image-store' | 'docker' | 'stand-in';

/** What a task needs to start. */
export interface LaunchSpec {
  taskId: string;
  def: JsonObject;
  /** Host ports, by port index. */
  ports: number[];
  env: Record<string, string>;
  /**
   * What Marathon puts in the task's environment (the app's `env`, `PORT*`, `MARATHON_*`, `MESOS_TASK_ID`, `HOST`), without
   * the host basics (`PATH`, `HOME`, ...) that `env` adds for local processes: a container gets only these.
   */
  containerEnv: Record<string, string>;
  /** Aborts what happens before the process starts (the fetch), when the task is killed or the server closes. */
  signal?: AbortSignal;
}

/** A task about to start: its spec, its sandbox directory (already prepared) and what the definition asks to run. */
export interface Launch {
  spec: LaunchSpec;
  sandbox: string;
  /** `container.docker.image`, when the app has one. */
  image: string | undefined;
  cmd: string | undefined;
  args: string[];
}

/** The process to spawn for a task. */
export interface LaunchCommand {
  file: string;
  argv: string[];
  /** @default - the sandbox */
  cwd?: string;
  /** Extra environment on top of the task's. */
  env?: Record<string, string>;
  /** The Docker container the process attaches to (`docker start -a`): signals and cleanup go to the container. */
  container?: string;
  /** Host ports the server itself answers (200 `ok`) on 127.0.0.1 while the process lives (the stand-in). */
  serve?: number[];
}

/** One runner kind: the command for a launch, or undefined when this kind does not apply to it. */
export interface Launcher {
  kind: RunnerKind;
  command(launch: Launch): Promise<LaunchCommand | undefined>;
}
