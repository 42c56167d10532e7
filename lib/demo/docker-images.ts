/**
 * The push trigger's image steps in the main job, with a Docker engine: `docker build` of the repository's own
 * Dockerfile (from the local base image, the previous image of the service as cache), `docker push` to the job's
 * registry, and the digest the registry answers for the tag, which the plan pins.
 */
import { buildImage, BuiltImage } from '../docker/build';
import { pushImage } from '../docker/push';
import { C2CError } from '../errors';
import { pinnedImage, resolveImageDigest } from '../image-reference';

/** The local tag a service's latest image keeps between runs, so the next build has its layers as cache. */
export function cacheTag(service: string): string {
  return `c2c-main-job/${service}:latest`;
}

/** The label on every image the job builds (and so on every container started from one): `<key>=<run id>`. */
export const RUN_LABEL = 'c2c.main-job.run';

/** A built and pushed image. */
export interface PublishedImage {
  /** `<registry>/<service>:<tag>` */
  readonly image: string;
  /** `sha256:…`, as the registry's API answers for the tag. */
  readonly digest: string;
  /** `<registry>/<service>:<tag>@sha256:…`: what the plan and Marathon run. */
  readonly pinned: string;
  readonly build: BuiltImage;
  readonly pushSeconds: number;
}

/**
 * Builds `repoDir`'s Dockerfile as `<registry host>/<service>:<tag>` (and the cache tag), pushes it, and reads the
 * digest back from the registry's API; the push's own digest must agree.
 * @throws C2CError DOCKER_BUILD_FAILED, DOCKER_PUSH_FAILED
 */
export async function buildAndPush(input: {
  service: string;
  repoDir: string;
  registry: { host: string; url: string };
  tag: string;
  baseImage: string;
  runId: string;
  /** The environment docker runs in. */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}): Promise<PublishedImage> {
  const image = `${input.registry.host}/${input.service}:${input.tag}`;
  const build = await buildImage({
    service: input.service,
    context: input.repoDir,
    tags: [image, cacheTag(input.service)],
    cacheFrom: [cacheTag(input.service)],
    buildArgs: { BASE_IMAGE: input.baseImage },
    labels: { [RUN_LABEL]: input.runId, 'c2c.service': input.service },
    env: input.env,
    signal: input.signal,
  });
  const pushed = await pushImage({ service: input.service, image, signal: input.signal });
  const answer = await resolveImageDigest(image, input.registry.url);
  if (answer.digest !== pushed.digest) {
    throw new C2CError(
      'DOCKER_PUSH_FAILED',
      `docker push ${image} (${input.service}) reported ${pushed.digest}, but the registry answers ${answer.digest ?? `nothing (${'note' in answer ? answer.note : ''})`}`,
      {
        hint: `ask the registry yourself: curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' ${input.registry.url}/v2/${input.service}/manifests/${input.tag}`,
      },
    );
  }
  return { image, digest: pushed.digest, pinned: pinnedImage(image, pushed.digest), build, pushSeconds: pushed.seconds };
}
