/**
 * No orphans: every task's process group is recorded on disk while it runs (`<dir>/processes/<task>.json`, next to
 * `<dir>/server.json` naming the server process), so a server that died without stopping its tasks (`kill -9`, a
 * crash) leaves enough behind for the next one to kill them. `<dir>` is the state directory with `--state`, otherwise
 * the server's work directory; then the next server looks for work directories of dead servers in the same temporary
 * directory. A process is recognised by its pid plus its start time, so a recycled pid is never signalled.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What is recorded about a running task. */
export interface ProcessEntry {
  taskId: string;
  appId: string;
  /** The pid of the task's process group leader (= the group id). */
  pgid: number;
  /** The leader's start time (clock ticks since boot, from /proc), when readable. */
  startTime?: string;
  kind: string;
  /** The Docker container of a `docker` task (removed by label when its server is gone). */
  container?: string;
}

/** The start time of a process from /proc/<pid>/stat (field 22), or undefined when unknown or gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that `pid` + `startTime` named is still running (a zombie counts as gone). */
function running(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, as another user's process.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return false;
    return startTime === undefined || fields[19] === startTime;
  } catch {
    return true;
  }
}

/** Whether the server process `pid` (with that start time, when known) still runs. */
export function serverAlive(pid: number, startTime: string | undefined): boolean {
  return pid > 0 && running(pid, startTime);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The on-disk record of one server's task process groups. */
export class ProcessRecord {
  private readonly processes: string;

  constructor(readonly dir: string) {
    this.processes = join(dir, 'processes');
  }

  private file(taskId: string): string {
    return join(this.processes, `${taskId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  /** Marks `dir` as owned by this process (`server.json`). */
  claim(): void {
    mkdirSync(this.processes, { recursive: true });
    writeFileSync(join(this.dir, 'server.json'), JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) }));
  }

  /** Gives `dir` up after a clean stop: its tasks are gone, so are their records. */
  release(): void {
    rmSync(this.processes, { recursive: true, force: true });
    rmSync(join(this.dir, 'server.json'), { force: true });
  }

  add(entry: ProcessEntry): void {
    writeFileSync(this.file(entry.taskId), JSON.stringify(entry));
  }

  remove(taskId: string): void {
    try {
      unlinkSync(this.file(taskId));
    } catch {
      // Already gone.
    }
  }

  /** The pid of a live server that owns `dir`, if any. */
  owner(): number | undefined {
    const owner = readJson<{ pid: number; startTime?: string }>(join(this.dir, 'server.json'));
    return owner && Number.isInteger(owner.pid) && running(owner.pid, owner.startTime) ? owner.pid : undefined;
  }

  /**
   * Kills the task process groups a dead previous server of `dir` left behind and forgets them. Returns the task ids
   * killed, or undefined when a live server still owns `dir` (its tasks are not orphans).
   */
  reap(): string[] | undefined {
    const owner = this.owner();
    if (owner !== undefined) return undefined;
    const killed: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(this.processes);
    } catch {
      return killed;
    }
    for (const name of names) {
      const entry = readJson<ProcessEntry>(join(this.processes, name));
      rmSync(join(this.processes, name), { force: true });
      if (!entry || !Number.isInteger(entry.pgid) || entry.pgid <= 1) continue;
      // A leader with another start time is a recycled pid: not ours. A dead leader may have left group members; its
      // pid cannot be reused while they live (it is their group id), so the group is still the task's.
      const now = processStartTime(entry.pgid);
      if (now !== undefined && entry.startTime !== undefined && now !== entry.startTime) continue;
      try {
        process.kill(-entry.pgid, 'SIGKILL');
        killed.push(entry.taskId);
      } catch {
        // ESRCH: the group is already gone.
      }
    }
    return killed;
  }
}

/**
 * Without a state directory: the work directories (`<tmp>/local-marathon-*`) of servers that died are reaped (their
 * tasks killed) and removed. Directories of live servers, or without `server.json` yet, are left alone.
 */
export function reapStaleWorkDirs(tmp: string, prefix: string, log: (line: string) => void): void {
  let names: string[] = [];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(tmp, name);
    if (readJson(join(dir, 'server.json')) === undefined) continue;
    const killed = new ProcessRecord(dir).reap();
    if (killed === undefined) continue;
    if (killed.length) log(`killed ${killed.length} task(s) left by a previous server in ${dir}`);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another user's directory: not ours to remove.
    }
  }
}
