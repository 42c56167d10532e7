/** Whether a Docker engine answers, and which path the main job takes because of it. */
import { C2CError } from '../errors';
import { execCommand } from './exec';

/** What `docker info` said. */
export type EngineProbe = { readonly available: true; readonly version: string } | { readonly available: false; readonly reason: string };

/** Asks the engine (`docker info`); never throws. */
export async function probeDockerEngine(options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<EngineProbe> {
  const r = await execCommand('docker', ['info', '--format', '{{.ServerVersion}}'], {
    env: options.env,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  const version = r.stdout.trim();
  if (r.code === 0 && version !== '') return { available: true, version };
  if (r.code === 127) return { available: false, reason: 'no docker command on PATH' };
  const why =
    r.stderr
      .trim()
      .split('\n')
      .find((l) => l.trim() !== '') ?? `docker info exited ${r.code}`;
  return { available: false, reason: `no Docker engine answers (${why.replace(/^(ERROR|error):\s*/, '')})` };
}

/** `--docker`: `auto` uses Docker when an engine answers; `never` never does; `always` fails without one. */
export type DockerMode = 'auto' | 'never' | 'always';

/** The modes, for option parsing and help. */
export const DOCKER_MODES: readonly DockerMode[] = ['auto', 'never', 'always'];

/**
 * Decides whether to use Docker: true for an engine that answers (unless `never`), false otherwise.
 * @throws C2CError DOCKER_NOT_FOUND for `always` without an engine
 */
export function useDocker(mode: DockerMode, probe: EngineProbe | undefined): boolean {
  if (mode === 'never') return false;
  if (probe?.available) return true;
  if (mode === 'always') {
    throw new C2CError('DOCKER_NOT_FOUND', `--docker always: ${probe ? probe.reason : 'the engine was not asked'}`, {
      hint: 'start the engine (`dockerd &`, or `sudo systemctl start docker`), or run with --docker auto (or never) to use the stand-in',
    });
  }
  return false;
}
