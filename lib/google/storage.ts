import { createHash } from 'node:crypto';
import { C2CError } from '../errors';
import { GoogleAuth, googleFetch } from './http';

/** Cloud Storage's JSON API. */
export const STORAGE_BASE_URL = 'https://storage.googleapis.com';

/** A Cloud Storage object: `gs://bucket/name`, optionally one generation (`#123`). */
export interface ObjectRef {
  readonly bucket: string;
  readonly name: string;
  readonly generation?: string;
}

/** Parses `gs://bucket/name[#generation]`. @throws C2CError USAGE */
export function parseObjectUrl(url: string): ObjectRef {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,221})\/([^#]+?)(?:#(\d+))?$/.exec(url);
  if (!m) {
    throw new C2CError('USAGE', `'${url}' is not a Cloud Storage object URL`, {
      hint: 'give gs://BUCKET/OBJECT, or gs://BUCKET/OBJECT#GENERATION',
    });
  }
  return { bucket: m[1], name: m[2], ...(m[3] ? { generation: m[3] } : {}) };
}

/** `gs://bucket/name[#generation]`. */
export function formatObjectUrl(ref: ObjectRef): string {
  return `gs://${ref.bucket}/${ref.name}${ref.generation ? `#${ref.generation}` : ''}`;
}

/** Options of the object calls. */
export interface StorageOptions {
  readonly auth: GoogleAuth;
  /** @default {@link STORAGE_BASE_URL} (tests pass a loopback server) */
  readonly baseUrl?: string;
  /** @default 60000 */
  readonly timeoutMs?: number;
}

/**
 * Downloads an object (one generation when given, which a versioned bucket keeps after the object is replaced) and,
 * when `sha256` is given, refuses bytes that do not hash to it; with `maxBytes`, stops reading past that size.
 * @throws C2CError GOOGLE_NOT_FOUND, GOOGLE_DENIED, ..., OBJECT_CHECKSUM or OBJECT_TOO_LARGE
 */
export async function getObject(ref: ObjectRef, options: StorageOptions & { sha256?: string; maxBytes?: number }): Promise<Buffer> {
  const q = new URLSearchParams({ alt: 'media', ...(ref.generation ? { generation: ref.generation } : {}) });
  const res = await googleFetch(
    `${options.baseUrl ?? STORAGE_BASE_URL}/storage/v1/b/${encodeURIComponent(ref.bucket)}/o/${encodeURIComponent(ref.name)}?${q}`,
    {
      what: `read ${formatObjectUrl(ref)}`,
      auth: options.auth,
      timeoutMs: options.timeoutMs ?? 60_000,
      deniedHint: `the build's service account needs roles/storage.objectViewer on gs://${ref.bucket}`,
    },
  );
  const bytes = options.maxBytes === undefined ? Buffer.from(await res.arrayBuffer()) : await readAtMost(res, options.maxBytes, ref);
  if (options.sha256 !== undefined) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== options.sha256.toLowerCase()) {
      throw new C2CError('OBJECT_CHECKSUM', `${formatObjectUrl(ref)} has SHA-256 ${actual}, not ${options.sha256}`, {
        hint: 'the object is not the one this build was configured with; nothing was written',
      });
    }
  }
  return bytes;
}

/** The body, read only up to `max` bytes (an object that is input is never read whole into memory past that). */
async function readAtMost(res: Response, max: number, ref: ObjectRef): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (let r = await reader?.read(); reader && r && !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new C2CError('OBJECT_TOO_LARGE', `${formatObjectUrl(ref)} is larger than ${max} bytes; it was not read`, {
        hint: 'this is not an object of the kind expected here',
      });
    }
    chunks.push(r.value);
  }
  return Buffer.concat(chunks);
}

/**
 * Creates an object that must not exist yet (`ifGenerationMatch=0`): a plan or an artifact is written once and never
 * replaced. Returns the new object with its generation.
 * @throws C2CError OBJECT_EXISTS when the name is taken; GOOGLE_* otherwise
 */
export async function createObject(
  ref: Omit<ObjectRef, 'generation'>,
  body: string | Uint8Array,
  options: StorageOptions & { contentType?: string },
): Promise<ObjectRef> {
  const q = new URLSearchParams({ uploadType: 'media', name: ref.name, ifGenerationMatch: '0' });
  const res = await googleFetch(`${options.baseUrl ?? STORAGE_BASE_URL}/upload/storage/v1/b/${encodeURIComponent(ref.bucket)}/o?${q}`, {
    what: `write ${formatObjectUrl(ref)}`,
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/octet-stream' },
    body,
    auth: options.auth,
    timeoutMs: options.timeoutMs ?? 60_000,
    accept: [412],
    deniedHint: `the build's service account needs roles/storage.objectCreator on gs://${ref.bucket}`,
  });
  if (res.status === 412) {
    await res.body?.cancel().catch(() => undefined);
    throw new C2CError('OBJECT_EXISTS', `${formatObjectUrl(ref)} exists already; objects here are written once`, {
      hint: 'a plan or artifact with this name was uploaded before; make a new one',
    });
  }
  const meta = (await res.json().catch(() => ({}))) as { generation?: unknown };
  return { ...ref, ...(typeof meta.generation === 'string' ? { generation: meta.generation } : {}) };
}
