/**
 * A Docker image, when a Docker engine answers: the container runs the way Mesos' Docker containerizer runs it for
 * Marathon. The image is pulled first when it is missing (or always with `forcePullImage`); a pull that fails fails
 * the task with Mesos' message. Then `docker create` (networking, port mappings on 127.0.0.1, the environment, the
 * sandbox at /mnt/mesos/sandbox, labels, `parameters`) and `docker start -a`, which is the task's process: it streams
 * the container's output into the sandbox and exits with the container's status. Signals go to the container
 * (`docker kill -s`), never only to the client, and every container carries the server's labels so that a server's
 * close, or the next server after a crash, removes it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { networkMode } from '../app-definition';
import { isObject, JsonObject } from '../json';
import { serverAlive } from '../orphans';
import { Launch, Launcher } from './types';

/** Labels on every container a server starts. */
export const LABEL_INSTANCE = 'local-marathon.instance';
export const LABEL_TASK = 'local-marathon.task';
export const LABEL_APP = 'local-marathon.app';
/** `<pid>:<start time>` of the server process, so that a later server can tell whether it is still alive. */
export const LABEL_SERVER = 'local-marathon.server';
/** Where Mesos mounts the sandbox in a Docker container (`--sandbox_directory`). */
export const CONTAINER_SANDBOX = '/mnt/mesos/sandbox';

function onPath(bin: string, path: string): boolean {
  return path.split(delimiter).some((d) => d && existsSync(join(d, bin)));
}

/**
 * Asks whether a Docker engine answers (`docker info`). It can take seconds when none does, so it starts at once and
 * only a Docker task launch (and `/__local/info`) waits for it.
 */
export function probeDocker(mode: 'auto' | 'never', env: Record<string, string | undefined>): Promise<boolean> {
  if (mode === 'never' || !onPath('docker', env.PATH ?? '')) return Promise.resolve(false);
  return dockerCli(['info', '--format', '{{.ServerVersion}}'], env, { timeoutMs: 5000 }).then((r) => r.code === 0);
}

/** The outcome of one `docker` command. */
export interface DockerResult {
  /** The exit status; null when it could not be run or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI; never rejects. */
export function dockerCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      args,
      { env, signal: options.signal, timeout: options.timeoutMs ?? 0, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = !err
          ? 0
          : typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null;
        resolve({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') || (err && code === null ? err.message : '') });
      },
    );
  });
}

/** The engine address as Mesos prints it in its messages (`docker -H <socket> ...`). */
function dockerHost(env: Record<string, string | undefined>): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** The container name of a task (Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]*`). */
export function containerName(taskId: string): string {
  return `local-marathon-${taskId.replace(/[^a-zA-Z0-9_.-]/g, '-')}`;
}

/** What the Docker runner kind needs from its server. */
export interface DockerContext {
  /** Whether an engine answered. */
  engine: Promise<boolean>;
  /** The environment of the docker CLI (PATH, DOCKER_HOST, DOCKER_CONFIG, ...). */
  env: Record<string, string | undefined>;
  /** The server's instance id (`local-marathon.instance` label). */
  instanceId: string;
  /** `<pid>:<start time>` of the server (`local-marathon.server` label). */
  server: string;
  /** Settles once the containers of dead servers have been removed; launches wait for it. */
  ready: Promise<unknown>;
}

/** Pulls the image when it is missing or `force` is set; a failed pull throws with Mesos' message. */
async function ensureImage(image: string, force: boolean, ctx: DockerContext, signal: AbortSignal | undefined): Promise<void> {
  if (!force && (await dockerCli(['image', 'inspect', '--format', '{{.Id}}', image], ctx.env, { signal })).code === 0) return;
  const r = await dockerCli(['pull', image], ctx.env, { signal });
  if (signal?.aborted) throw new Error(`Launch of ${image} aborted`);
  if (r.code !== 0) {
    const status = r.code === null ? 'terminated' : `exited with status ${r.code}`;
    throw new Error(
      `Failed to launch container: Failed to run 'docker -H ${dockerHost(ctx.env)} pull ${image}': ${status}; stderr='${r.stderr}'`,
    );
  }
}

/** The `-p` flags of a bridge task: each mapping's container port on its host port, on 127.0.0.1 only. */
function publishArgs(def: JsonObject, ports: number[]): string[] {
  const container = isObject(def.container) ? def.container : {};
  const mappings = Array.isArray(container.portMappings) ? container.portMappings : [];
  const out: string[] = [];
  mappings.forEach((pm, i) => {
    const hostPort = ports[i];
    if (!isObject(pm) || !hostPort) return;
    // Marathon: a containerPort of 0 means "the same as the host port".
    const containerPort = typeof pm.containerPort === 'number' && pm.containerPort > 0 ? pm.containerPort : hostPort;
    const protocols = String(pm.protocol ?? 'tcp')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    for (const proto of protocols) out.push('-p', `127.0.0.1:${hostPort}:${containerPort}/${proto}`);
  });
  return out;
}

/** The `docker create` arguments of a task. */
export function createArgs(launch: Launch, name: string, ctx: Pick<DockerContext, 'instanceId' | 'server'>): string[] {
  const { spec, sandbox, image, cmd, args } = launch;
  const def = spec.def;
  const argv = ['create', '--name', name];
  const labels = isObject(def.labels) ? def.labels : {};
  for (const [k, v] of Object.entries(labels)) if (!k.startsWith('local-marathon.')) argv.push('--label', `${k}=${String(v)}`);
  argv.push('--label', `${LABEL_INSTANCE}=${ctx.instanceId}`, '--label', `${LABEL_SERVER}=${ctx.server}`);
  argv.push('--label', `${LABEL_TASK}=${spec.taskId}`, '--label', `${LABEL_APP}=${typeof def.id === 'string' ? def.id : ''}`);
  const env = { ...spec.containerEnv, MESOS_SANDBOX: CONTAINER_SANDBOX, MESOS_CONTAINER_NAME: name };
  for (const [k, v] of Object.entries(env)) argv.push('-e', `${k}=${v}`);
  argv.push('-v', `${sandbox}:${CONTAINER_SANDBOX}`);
  // `container` (user) networks are run like container/bridge on the default bridge: there is one local agent.
  if (networkMode(def) === 'host') argv.push('--network', 'host');
  else argv.push('--network', 'bridge', ...publishArgs(def, spec.ports));
  const docker = isObject(def.container) && isObject(def.container.docker) ? def.container.docker : {};
  if (docker.privileged === true) argv.push('--privileged');
  for (const p of Array.isArray(docker.parameters) ? docker.parameters : []) {
    if (isObject(p) && typeof p.key === 'string') argv.push(`--${p.key}=${String(p.value ?? '')}`);
  }
  // Mesos runs a `cmd` as the shell command, overriding the image's entrypoint; `args` go to the entrypoint.
  if (cmd) return [...argv, '--entrypoint', '/bin/sh', image as string, '-c', cmd];
  return [...argv, image as string, ...args];
}

/** The Docker runner kind. */
export function dockerLauncher(ctx: DockerContext): Launcher {
  return {
    kind: 'docker',
    async command(launch: Launch) {
      const { image, spec } = launch;
      if (!image || !(await ctx.engine)) return undefined;
      await ctx.ready;
      const docker = isObject(spec.def.container) && isObject(spec.def.container.docker) ? spec.def.container.docker : {};
      await ensureImage(image, docker.forcePullImage === true, ctx, spec.signal);
      const name = containerName(spec.taskId);
      const created = await dockerCli(createArgs(launch, name, ctx), ctx.env);
      if (created.code !== 0) {
        throw new Error(
          `Failed to launch container: Failed to run 'docker -H ${dockerHost(ctx.env)} create ${image}': exited with status ${created.code}; stderr='${created.stderr}'`,
        );
      }
      if (spec.signal?.aborted) {
        await dockerCli(['rm', '-f', name], ctx.env);
        throw new Error(`Launch of ${image} aborted`);
      }
      return { file: 'docker', argv: ['start', '-a', name], container: name, env: dockerClientEnv(ctx.env) };
    },
  };
}

/** What the docker client needs of the host environment besides PATH. */
function dockerClientEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'HOME'])
    if (env[k] !== undefined) out[k] = env[k] as string;
  return out;
}

/** Sends a signal to a task's container; SIGKILL (or a container that is not running yet) removes it outright. */
export async function signalContainer(name: string, signal: NodeJS.Signals, env: Record<string, string | undefined>): Promise<void> {
  const r = await dockerCli(['kill', '-s', signal.replace(/^SIG/, ''), name], env);
  if (r.code !== 0 && signal === 'SIGKILL') await dockerCli(['rm', '-f', name], env);
}

/**
 * After the client (`docker start -a`) exited: the container's own exit status (the client's may be its own, e.g.
 * when it was killed), then the container is removed. A container that still runs is killed (status 137).
 */
export async function finishContainer(name: string, env: Record<string, string | undefined>): Promise<number | null> {
  const r = await dockerCli(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', name], env);
  const [running, code] = r.stdout.trim().split(' ');
  await dockerCli(['rm', '-f', name], env);
  if (r.code !== 0) return null;
  return running === 'true' ? 137 : Number(code);
}

/** The containers (ids) that carry a label `key` (or `key=value`). */
async function labelled(
  filter: string,
  env: Record<string, string | undefined>,
): Promise<{ id: string; server: string; instance: string }[]> {
  const r = await dockerCli(
    ['ps', '-a', '--filter', `label=${filter}`, '--format', `{{.ID}}\t{{.Label "${LABEL_SERVER}"}}\t{{.Label "${LABEL_INSTANCE}"}}`],
    env,
  );
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, server, instance] = line.split('\t');
      return { id, server: server ?? '', instance: instance ?? '' };
    });
}

/** Removes every container of one server instance (its close). Returns how many. */
export async function removeInstanceContainers(instanceId: string, env: Record<string, string | undefined>): Promise<number> {
  const ids = (await labelled(`${LABEL_INSTANCE}=${instanceId}`, env)).map((c) => c.id);
  if (ids.length) await dockerCli(['rm', '-f', ...ids], env);
  return ids.length;
}

/**
 * Removes the containers of servers that died without removing them (`kill -9`, a crash): every container labelled
 * `local-marathon.instance` whose `local-marathon.server` process (pid plus start time) no longer runs. Containers of
 * live servers, and ones without a server label, are left alone. Returns the ids removed.
 */
export async function reapDeadServerContainers(ownInstance: string, env: Record<string, string | undefined>): Promise<string[]> {
  const dead = (await labelled(LABEL_INSTANCE, env)).filter((c) => {
    if (c.instance === ownInstance) return false;
    const m = /^(\d+):(\S*)$/.exec(c.server);
    return m !== null && !serverAlive(Number(m[1]), m[2] || undefined);
  });
  if (dead.length) await dockerCli(['rm', '-f', ...dead.map((c) => c.id)], env);
  return dead.map((c) => c.id);
}
