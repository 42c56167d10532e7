/** `docker push` of a built image, and the digest the registry stored it under. */
import { C2CError } from '../errors';
import { parseImageReference } from '../image-reference';
import { execCommand, tail } from './exec';

/**
 * The digest in `docker push` output: its last line is `<tag>: digest: sha256:<64 hex> size: <bytes>`. Undefined when
 * no such line names the tag.
 */
export function parsePushDigest(output: string, tag: string): string | undefined {
  let found: string | undefined;
  for (const m of output.matchAll(/^(\S+): digest: (sha256:[0-9a-f]{64}) size: \d+$/gm)) if (m[1] === tag) found = m[2];
  return found;
}

/** A pushed image. */
export interface PushedImage {
  /** The reference pushed, `<registry>/<name>:<tag>`. */
  readonly image: string;
  readonly digest: string;
  readonly seconds: number;
}

/**
 * Pushes an image to its registry and returns the digest the push reported.
 * @throws C2CError DOCKER_PUSH_FAILED
 */
export async function pushImage(input: { service: string; image: string; signal?: AbortSignal }): Promise<PushedImage> {
  const started = Date.now();
  const ref = parseImageReference(input.image);
  const r = await execCommand('docker', ['push', input.image], { signal: input.signal });
  const digest = r.code === 0 ? parsePushDigest(r.stdout, ref.tag ?? 'latest') : undefined;
  if (!digest) {
    throw new C2CError(
      'DOCKER_PUSH_FAILED',
      `docker push ${input.image} (${input.service}) ${r.code === 0 ? 'printed no digest' : `exited ${r.code}`}:\n${tail(r.stdout + r.stderr, 6)}`,
      {
        hint: `check that the registry at ${ref.registry} answers (curl http://${ref.registry}/v2/) and that the engine may push to it (a loopback registry needs no TLS; any other must be listed in insecure-registries or serve HTTPS)`,
      },
    );
  }
  return { image: input.image, digest, seconds: (Date.now() - started) / 1000 };
}
