/**
 * Runs tasks as real local processes, each the leader of its own process group so that a kill reaches everything
 * it started. Four ways, in order: `cmd` without a container; an executable from the local image store; `docker run`
 * when an engine answers; otherwise a built-in stand-in that answers 200 `ok` on every assigned port.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { JsonObject, isObject } from './json';

/** How a task was started; shown as `localRunner` on tasks and in `/v2/info`. */
export type RunnerKind = 'cmd' | 'image-store' | 'docker' | 'stand-in';

/** What a task needs to start. */
export interface LaunchSpec {
  taskId: string;
  def: JsonObject;
  /** Host ports, by port index. */
  ports: number[];
  env: Record<string, string>;
}

/** A started task process. */
export interface TaskProcess {
  pid: number;
  kind: RunnerKind;
  sandbox: string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  child: ChildProcess;
}

const STAND_IN = `'use strict';
const http = require('node:http');
const ports = (process.env.LOCAL_MARATHON_PORTS || '').split(',').filter(Boolean).map(Number);
for (const port of ports) {
  http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); })
    .listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;

/** Parses `registry.host:5000/a/b:tag` into the image-store path segments (`a/b`) and the tag (default `latest`). */
export function imageStorePath(image: string): { name: string; tag: string } {
  let rest = image.split('@')[0];
  const parts = rest.split('/');
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) parts.shift();
  rest = parts.join('/');
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1) || 'latest' };
  return { name: rest, tag: 'latest' };
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

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, bin)));
}

/** Starts and stops task processes. */
export class Runner {
  private readonly workDir: string;
  private readonly imageStore: string | undefined;
  private readonly standInScript: string;
  private dockerCheck: Promise<boolean> | undefined;

  constructor(options: { workDir: string; imageStore?: string; docker: 'auto' | 'never' }) {
    this.workDir = options.workDir;
    this.imageStore = options.imageStore;
    this.standInScript = join(options.workDir, 'stand-in.js');
    writeFileSync(this.standInScript, STAND_IN);
    // `docker info` can take seconds when no engine answers, so it runs in the background and is awaited only by a
    // Docker task launch; startup stays fast.
    if (options.docker === 'auto' && onPath('docker')) {
      this.dockerCheck = new Promise((resolve) => {
        execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 3000 }, (err) => resolve(!err));
      });
    }
  }

  /** Whether a Docker engine answered (`false` when docker is 'never' or no `docker` binary exists). */
  dockerAvailable(): Promise<boolean> {
    return this.dockerCheck ?? Promise.resolve(false);
  }

  /** The image-store executable for an image, if present. */
  imageStoreRun(image: string): string | undefined {
    if (!this.imageStore) return undefined;
    const { name, tag } = imageStorePath(image);
    const run = join(this.imageStore, name, tag, 'run');
    try {
      const st = statSync(run);
      return st.isFile() && (st.mode & 0o111) !== 0 ? run : undefined;
    } catch {
      return undefined;
    }
  }

  /** Starts a task; resolves once the process has been spawned (or rejects when it could not be). */
  async launch(spec: LaunchSpec): Promise<TaskProcess> {
    const sandbox = join(this.workDir, 'tasks', spec.taskId);
    mkdirSync(sandbox, { recursive: true });
    const def = spec.def;
    const container = isObject(def.container) ? def.container : undefined;
    const image =
      container && isObject(container.docker) && typeof container.docker.image === 'string' ? container.docker.image : undefined;
    const cmd = typeof def.cmd === 'string' ? def.cmd : undefined;
    const args = Array.isArray(def.args) ? def.args.map(String) : [];
    let kind: RunnerKind;
    let file: string;
    let argv: string[];
    let cwd = sandbox;
    if (!image) {
      kind = 'cmd';
      [file, argv] = cmd ? ['/bin/sh', ['-c', cmd]] : [args[0], args.slice(1)];
    } else if (this.imageStoreRun(image)) {
      kind = 'image-store';
      const run = this.imageStoreRun(image) as string;
      cwd = join(run, '..');
      // Like a container: `cmd` overrides the entrypoint via the shell, `args` are passed to the entrypoint.
      [file, argv] = cmd ? ['/bin/sh', ['-c', cmd]] : [run, args];
    } else if (await this.dockerAvailable()) {
      kind = 'docker';
      file = 'docker';
      argv = this.dockerArgs(spec, image, cmd, args);
    } else {
      kind = 'stand-in';
      file = process.execPath;
      argv = [this.standInScript];
    }
    const env = { ...spec.env, LOCAL_MARATHON_PORTS: spec.ports.join(','), MESOS_SANDBOX: sandbox };
    const out = openSync(join(sandbox, 'stdout'), 'a');
    const err = openSync(join(sandbox, 'stderr'), 'a');
    try {
      const child = spawn(file, argv, { cwd, env, detached: true, stdio: ['ignore', out, err] });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.once('exit', (code, signal) => {
          // The shell may leave children behind when it dies; Mesos would kill the whole container, so do we.
          killGroup(child.pid, 'SIGKILL');
          resolve({ code, signal });
        });
        child.once('error', () => resolve({ code: 127, signal: null }));
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve());
        child.once('error', reject);
      });
      return { pid: child.pid as number, kind, sandbox, exited, child };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  private dockerArgs(spec: LaunchSpec, image: string, cmd: string | undefined, args: string[]): string[] {
    const def = spec.def;
    const argv = ['run', '--rm', '--name', `local-marathon-${spec.taskId.replace(/[^a-zA-Z0-9_.-]/g, '-')}`];
    for (const [k, v] of Object.entries(spec.env)) if (k !== 'PATH' && k !== 'HOME') argv.push('-e', `${k}=${v}`);
    const container = def.container as JsonObject;
    const mappings = Array.isArray(container.portMappings) ? container.portMappings : undefined;
    if (!mappings) argv.push('--network', 'host');
    else {
      mappings.forEach((pm, i) => {
        const cp = isObject(pm) && typeof pm.containerPort === 'number' && pm.containerPort > 0 ? pm.containerPort : spec.ports[i];
        argv.push('-p', `127.0.0.1:${spec.ports[i]}:${cp}`);
      });
    }
    if (cmd) return [...argv, '--entrypoint', '/bin/sh', image, '-c', cmd];
    return [...argv, image, ...args];
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
