/** A Docker image, when a Docker engine answers: `docker run` in the foreground of the task's process group. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { isObject, JsonObject } from '../json';
import { Launch, Launcher, LaunchSpec } from './types';

function onPath(bin: string, path: string): boolean {
  return path.split(delimiter).some((d) => d && existsSync(join(d, bin)));
}

/**
 * Asks whether a Docker engine answers (`docker info`). It can take seconds when none does, so it starts at once and
 * only a Docker task launch (and `/__local/info`) waits for it.
 */
export function probeDocker(mode: 'auto' | 'never', path: string): Promise<boolean> {
  if (mode === 'never' || !onPath('docker', path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 3000 }, (err) => resolve(!err));
  });
}

function dockerArgs(spec: LaunchSpec, image: string, cmd: string | undefined, args: string[]): string[] {
  const argv = ['run', '--rm', '--name', `local-marathon-${spec.taskId.replace(/[^a-zA-Z0-9_.-]/g, '-')}`];
  for (const [k, v] of Object.entries(spec.env)) if (k !== 'PATH' && k !== 'HOME') argv.push('-e', `${k}=${v}`);
  const container = spec.def.container as JsonObject;
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

/** The Docker runner kind; `engine` says whether an engine answered. */
export function dockerLauncher(engine: Promise<boolean>): Launcher {
  return {
    kind: 'docker',
    async command({ spec, image, cmd, args }: Launch) {
      if (!image || !(await engine)) return undefined;
      return { file: 'docker', argv: dockerArgs(spec, image, cmd, args) };
    },
  };
}
