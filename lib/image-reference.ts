import { C2CError } from './errors';
import { GoogleAuth, googleFetch } from './google/http';

/** `registry.internal:5000/team/app:tag` split into its parts. */
export interface ImageReference {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Parses an image reference; the first segment is the registry when it has a '.' or ':' or is 'localhost'. */
export function parseImageReference(image: string): ImageReference {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const named = at >= 0 ? image.slice(0, at) : image;
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  const path = colon > slash ? named.slice(0, colon) : named;
  const segments = path.split('/');
  const hasRegistry = segments.length > 1 && (segments[0].includes('.') || segments[0].includes(':') || segments[0] === 'localhost');
  return {
    registry: hasRegistry ? segments[0] : 'docker.io',
    repository: (hasRegistry ? segments.slice(1) : segments).join('/'),
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** What the registry said about an image. */
export type DigestResult = { readonly digest: string } | { readonly digest?: undefined; readonly note: string };

/**
 * Asks the registry (Docker Registry HTTP API v2: `HEAD /v2/<repository>/manifests/<tag>`, header
 * `Docker-Content-Digest`) which digest the image's tag points at, so a plan pins exactly the image that was reviewed.
 * Only when a registry URL is given: nothing is looked up otherwise; `auth` sends a Google token (Artifact Registry).
 * A 404 is an error (the image was never pushed); anything else that keeps the registry from answering is a note, and
 * the plan keeps the tag.
 * @throws C2CError IMAGE_NOT_FOUND
 */
export async function resolveImageDigest(
  image: string,
  registryUrl: string,
  options: { timeoutMs?: number; auth?: GoogleAuth | null } = {},
): Promise<DigestResult> {
  const ref = parseImageReference(image);
  if (ref.digest) return { digest: ref.digest };
  const url = `${registryUrl.replace(/\/+$/, '')}/v2/${ref.repository}/manifests/${ref.tag ?? 'latest'}`;
  let res: Response;
  try {
    res = await googleFetch(url, {
      what: `ask the registry at ${registryUrl} for ${ref.repository}:${ref.tag ?? 'latest'}`,
      method: 'HEAD',
      headers: { accept: MANIFEST_TYPES },
      auth: options.auth ?? null,
      timeoutMs: options.timeoutMs ?? 5000,
      accept: 'any',
    });
  } catch (err) {
    if (!(err instanceof C2CError) || err.code !== 'GOOGLE_UNREACHABLE') throw err;
    const why = (err.cause as Error | undefined)?.message ?? err.message;
    return { note: `the registry at ${registryUrl} did not answer (${why}); the plan keeps the tag` };
  }
  if (res.status === 404) {
    throw new C2CError(
      'IMAGE_NOT_FOUND',
      `${image} is not in the registry at ${registryUrl} (404 for ${ref.repository}:${ref.tag ?? 'latest'})`,
      {
        hint: 'push the image first (the build trigger does), or check the tag',
      },
    );
  }
  const digest = res.headers.get('docker-content-digest');
  if (!res.ok || !digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    return {
      note: `the registry at ${registryUrl} answered ${res.status}${digest ? '' : ' without a Docker-Content-Digest'}; the plan keeps the tag`,
    };
  }
  return { digest };
}

/** `repo:tag@sha256:…`: the tag for people, the digest for the machine. */
export function pinnedImage(image: string, digest: string): string {
  return image.includes('@') ? image : `${image}@${digest}`;
}
