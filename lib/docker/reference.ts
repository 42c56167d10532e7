/**
 * Docker image references, checked by the grammar of the distribution project (`reference/reference.go`, which the
 * Docker engine and every registry client use):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *   domain     := host [":" port]           (the first component, when it has a '.' or ':' or is 'localhost')
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := "." | "_" | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex         (sha256: 64 lower-case hex digits)
 *
 * The one place image references are checked: flags, plan files and service files all call {@link imageReferenceProblem}.
 */

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
  const path = hasDomain ? segments.slice(1) : segments;

  if (hasDomain && !DOMAIN.test(first)) return `has an invalid registry '${first}'; write host[:port], e.g. registry.internal:5000`;
  if (name.length > MAX_NAME) return `has a name of ${name.length} characters; the limit is ${MAX_NAME}`;
  const upper = path.find((p) => p !== p.toLowerCase());
  if (upper !== undefined) {
    const fixed = [...(hasDomain ? [first] : []), ...path.map((p) => p.toLowerCase())].join('/');
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
