/**
 * Docker image references: the one module that checks, splits and pins them. The grammar is the distribution
 * project's (`reference/reference.go`, which the Docker engine and every registry client use):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *   domain     := host [":" port]           (the first component, when it has a '.' or ':', is 'localhost' or has an
 *                                            upper-case letter: Docker's `splitDockerDomain`)
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := "." | "_" | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex         (sha256: 64 lower-case hex digits)
 *
 * Flags, plan files and service files are all checked by {@link imageReferenceProblem}; {@link parseImageReference}
 * splits a reference with the same rule; {@link resolveImageDigest} asks a registry what a tag points at.
 */
import { C2CError } from './errors';
import { GoogleAuth, googleFetch } from './google/http';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** The longest name (domain and path) the distribution project accepts. */
const MAX_NAME = 255;

/** What a reference must carry besides its name. */
export type ImageReferenceNeeds = 'tag-or-digest' | 'digest';

/**
 * Why `image` is not a Docker image reference (with a tag or digest, or with a digest when `needs` is 'digest'), as a
 * phrase that ends with the fix; null when it is one.
 */
export function imageReferenceProblem(image: unknown, needs: ImageReferenceNeeds = 'tag-or-digest'): string | null {
  if (typeof image !== 'string' || image === '') return `is not an image reference; give one, e.g. ${EXAMPLE}`;
  if (/\s/.test(image)) return `contains white space; give one reference, e.g. ${EXAMPLE}`;
  const { name, domain, path, tag, digest } = splitReference(image);

  if (domain !== undefined && !DOMAIN.test(domain))
    return `has an invalid registry '${domain}'; write host[:port], e.g. registry.internal:5000`;
  if (name.length > MAX_NAME) return `has a name of ${name.length} characters; the limit is ${MAX_NAME}`;
  const upper = path.find((p) => p !== p.toLowerCase());
  if (upper !== undefined) {
    const fixed = [...(domain !== undefined ? [domain] : []), ...path.map((p) => p.toLowerCase())].join('/');
    return `has an upper-case repository '${path.join('/')}'; repository names are lower-case: use '${fixed}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}'`;
  }
  const bad = path.find((p) => !PATH_COMPONENT.test(p));
  if (bad !== undefined) {
    return `has an invalid repository component '${bad}'; use lower-case letters and digits, separated by '.', '_', '__' or '-'`;
  }
  if (tag !== undefined && !TAG.test(tag)) {
    return `has an invalid tag '${tag}'; a tag is letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')`;
  }
  if (digest !== undefined && !DIGEST.test(digest)) return `has an invalid digest '${digest}'; write sha256:<64 lower-case hex digits>`;
  if (needs === 'digest' && digest === undefined) return "must be pinned by digest, 'name@sha256:<64 hex>'";
  if (tag === undefined && digest === undefined) return `has no tag or digest; add one, e.g. '${name}:3f2a9c1'`;
  return null;
}

const EXAMPLE = "'registry.internal:5000/bulb-api:3f2a9c1'";

/** A reference cut at its '@', its last ':' after the last '/', and its domain (Docker's `splitDockerDomain` rule). */
interface SplitReference {
  /** Domain and path, without tag and digest. */
  readonly name: string;
  readonly domain?: string;
  readonly path: readonly string[];
  readonly tag?: string;
  readonly digest?: string;
}

function splitReference(image: string): SplitReference {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const named = at >= 0 ? image.slice(0, at) : image;
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  const name = colon > slash ? named.slice(0, colon) : named;
  const segments = name.split('/');
  const first = segments[0];
  const hasDomain = segments.length > 1 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  return { name, path: hasDomain ? segments.slice(1) : segments, tag, digest, ...(hasDomain ? { domain: first } : {}) };
}

/** `registry.internal:5000/team/app:tag` split into its parts. */
export interface ImageReference {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Splits an image reference (not checked: see {@link imageReferenceProblem}); no domain means Docker Hub. */
export function parseImageReference(image: string): ImageReference {
  const { domain, path, tag, digest } = splitReference(image);
  return {
    registry: domain ?? 'docker.io',
    repository: path.join('/'),
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
