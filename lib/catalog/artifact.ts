import { packageOf, SERVICE_DEFAULTS, ServiceDefinition } from './types';

/** The package a deploy runs for an artifact service: where the fetcher gets it, and its SHA-256. */
export interface ArtifactRef {
  /** `https://…`, `http://…`, `file://…` or an absolute path on the agents; normally from {@link artifactUri}. */
  readonly uri: string;
  /** SHA-256 of the file, 64 lower-case hex digits. */
  readonly sha256: string;
}

/** 64 lower-case hex digits. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Where the build leaves an artifact service's tarball, relative to its repository root. */
export function artifactFile(def: ServiceDefinition): string {
  const pkg = packageOf(def);
  return (pkg.kind === 'artifact' ? pkg.file : undefined) ?? SERVICE_DEFAULTS.artifactFile;
}

/** The last segment of a path or URI (what the fetcher names the file in the sandbox, unless `destPath` is given). */
export function baseName(pathOrUri: string): string {
  const path = pathOrUri.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * The object name an artifact is stored under in the artifact bucket: `artifacts/<service>/<commit>/<sha256>/<file>`.
 * Commit and checksum in the name make the object immutable (a rebuild of the same commit with other bytes is
 * another object), and keep the file name, whose extension tells the fetcher how to extract it.
 */
export function artifactObjectName(def: ServiceDefinition, commit: string, sha256: string): string {
  return `artifacts/${def.name}/${commit}/${sha256}/${baseName(artifactFile(def))}`;
}

/** The URI of a stored artifact: `<base>/<artifactObjectName>`, e.g. base `http://artifacts.marathon.internal:5001` (the artifact server). */
export function artifactUri(base: string, def: ServiceDefinition, commit: string, sha256: string): string {
  return `${base.replace(/\/+$/, '')}/${artifactObjectName(def, commit, sha256)}`;
}

/** Why an artifact reference cannot be deployed, or undefined when it can. */
export function artifactRefProblem(ref: ArtifactRef): { field: 'uri' | 'sha256'; message: string } | undefined {
  if (typeof ref.uri !== 'string' || ref.uri.trim() === '') {
    return { field: 'uri', message: "must be the artifact's URI, e.g. https://storage.googleapis.com/<bucket>/artifacts/…" };
  }
  if (!/^(https?|file|hdfs|s3a?):\/\/\S+$/.test(ref.uri) && !/^\/\S+$/.test(ref.uri)) {
    return { field: 'uri', message: 'must be an http(s)://, file:// (or hdfs/s3) URI or an absolute path, which the fetcher can read' };
  }
  if (typeof ref.sha256 !== 'string' || !SHA256_HEX.test(ref.sha256)) {
    return { field: 'sha256', message: "must be the file's SHA-256, 64 lower-case hex digits ('sha256sum FILE')" };
  }
  return undefined;
}

/**
 * The artifact a Marathon template shows (as an image template shows `:latest`): the `latest` path under `base` (the
 * artifact server's URL, `artifactBaseUrl` in lib/platform.ts) and an all-zero checksum. A deploy always renders the
 * commit's real URI and SHA-256.
 */
export function templateArtifact(def: ServiceDefinition, base: string): ArtifactRef {
  const sha256 = '0'.repeat(64);
  return { uri: artifactUri(base, def, 'latest', sha256), sha256 };
}
