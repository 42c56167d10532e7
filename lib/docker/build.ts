/**
 * `docker build` of a service repository's Dockerfile, as the push trigger's image step does it, with the previous
 * image as cache. The engine here (Debian's docker.io 20.10) has no buildx, so this uses the classic builder
 * (`DOCKER_BUILDKIT=0`), whose `--cache-from` reuses the layers of a local image; Cloud Build uses BuildKit with an
 * inline cache read from the registry (constructs/build-pipeline.ts). Both build the same Dockerfile.
 */
import { C2CError } from '../errors';
import { execCommand, tail } from './exec';

/** What to build. */
export interface BuildInput {
  /** The service, for messages. */
  readonly service: string;
  /** The build context (the repository's root, holding the Dockerfile). */
  readonly context: string;
  /** Every tag the image gets; the first is the one reported. */
  readonly tags: readonly string[];
  /** Images whose layers may be reused (only those that exist locally are passed). @default [] */
  readonly cacheFrom?: readonly string[];
  /** `--build-arg NAME=value`, e.g. `BASE_IMAGE`. @default {} */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** `--label NAME=value` on the image (containers started from it carry them too). @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** The environment docker runs in (PATH, DOCKER_HOST, ...); the CLI passes its own. */
  readonly env: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/** The `docker build` arguments for a build (the classic builder's; no shell, one value per argument). */
export function dockerBuildArgs(input: Omit<BuildInput, 'service' | 'signal' | 'env'>): string[] {
  if (input.tags.length === 0) throw new Error('dockerBuildArgs: at least one tag');
  // --force-rm: the classic builder keeps the container of a failed step otherwise.
  const args = ['build', '--force-rm'];
  for (const tag of input.tags) args.push('--tag', tag);
  for (const image of input.cacheFrom ?? []) args.push('--cache-from', image);
  for (const [k, v] of Object.entries(input.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(input.labels ?? {})) args.push('--label', `${k}=${v}`);
  args.push(input.context);
  return args;
}

/** What the classic builder's output says about a build. */
export interface BuildOutput {
  /** `sha256:…` when the output names it. */
  readonly imageId?: string;
  /** Dockerfile steps run (`Step N/M`). */
  readonly steps: number;
  /** Steps answered from the cache (`---> Using cache`). */
  readonly cachedSteps: number;
}

/** Reads the step count, cache hits and image id from the classic builder's output. */
export function parseBuildOutput(output: string): BuildOutput {
  const steps = output.match(/^Step \d+\/\d+ :/gm)?.length ?? 0;
  const cachedSteps = output.match(/^ ---> Using cache$/gm)?.length ?? 0;
  const id = /^Successfully built ([0-9a-f]{12,64})$/m.exec(output)?.[1];
  return { steps, cachedSteps, ...(id ? { imageId: id } : {}) };
}

/** A built image. */
export interface BuiltImage extends BuildOutput {
  readonly image: string;
  readonly imageId: string;
  readonly seconds: number;
}

/** Whether the engine has an image by that name (or id). */
export async function imageExists(image: string): Promise<boolean> {
  return (await execCommand('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { timeoutMs: 30_000 })).code === 0;
}

/**
 * Builds the image with the classic builder, the previous image as cache.
 * @throws C2CError DOCKER_BUILD_FAILED (the output's last lines in the message), DOCKER_NOT_FOUND (no docker command)
 */
export async function buildImage(input: BuildInput): Promise<BuiltImage> {
  const started = Date.now();
  const cacheFrom: string[] = [];
  for (const image of input.cacheFrom ?? []) if (await imageExists(image)) cacheFrom.push(image);
  const args = dockerBuildArgs({ ...input, cacheFrom });
  const r = await execCommand('docker', args, { env: { ...input.env, DOCKER_BUILDKIT: '0' }, signal: input.signal });
  if (r.code === 127) {
    throw new C2CError('DOCKER_NOT_FOUND', `docker build of ${input.service}: no docker command on PATH`, {
      hint: 'install Docker (Debian: apt-get install docker.io), or run the main job with --docker never',
    });
  }
  if (r.code !== 0) {
    throw new C2CError(
      'DOCKER_BUILD_FAILED',
      `docker build of ${input.service} (${input.context}) exited ${r.code}:\n${tail(r.stdout + r.stderr, 8)}`,
      {
        hint: `fix the service's Dockerfile, then try it alone: DOCKER_BUILDKIT=0 docker ${args.join(' ')}`,
      },
    );
  }
  const out = parseBuildOutput(r.stdout);
  const inspected = await execCommand('docker', ['image', 'inspect', '--format', '{{.Id}}', input.tags[0]], { timeoutMs: 30_000 });
  return { ...out, image: input.tags[0], imageId: inspected.stdout.trim() || (out.imageId ?? ''), seconds: (Date.now() - started) / 1000 };
}
