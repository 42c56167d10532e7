import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { C2CError } from '../errors';
import { GoogleAuth, googleFetch } from '../google/http';
import { AllowedSigners, loadAllowedSigners } from '../signing';

/**
 * The platform's allowed-signers list on the cloud path. The service repository's `security/allowed_signers` is
 * editable by the service's own authors (one could list their own key under a reviewer's name), so in Cloud Build the
 * plan step (`--verify-commit`) and the production gate (`--approval cloudbuild`) read the list the platform stack
 * published instead: an object of the deploy bucket, named by the SHA-256 of its content, fetched at the generation
 * the platform's Terraform state names. The triggers pass it as `C2C_PLATFORM_SIGNERS=gs://BUCKET/OBJECT#GENERATION`.
 */
export const PLATFORM_SIGNERS_ENV = 'C2C_PLATFORM_SIGNERS';

/** Object name of the platform's list in the deploy bucket: pinned by its content hash, like the deploy bundle. */
export function platformSignersObject(sha256: string): string {
  return `security/allowed_signers-${sha256}`;
}

/** Where the platform's list is: bucket, object (which names its SHA-256) and generation. */
export interface PlatformSignersRef {
  readonly bucket: string;
  readonly object: string;
  readonly generation: string;
  /** The SHA-256 the object's name holds: the fetched bytes must hash to it. */
  readonly sha256: string;
}

const REF = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220})\/(security\/allowed_signers-([0-9a-f]{64}))#([1-9]\d{0,19})$/;

/**
 * Parses `gs://BUCKET/security/allowed_signers-<sha256>#GENERATION`.
 * @throws C2CError USAGE naming the variable and the form it needs
 */
export function parsePlatformSigners(value: string): PlatformSignersRef {
  const m = REF.exec(value.trim());
  if (!m) {
    throw new C2CError('USAGE', `${PLATFORM_SIGNERS_ENV} '${value}' is not gs://BUCKET/security/allowed_signers-<sha256>#GENERATION`, {
      hint: 'the platform stack sets it in the triggers; do not set it by hand',
    });
  }
  return { bucket: m[1], object: m[2], sha256: m[3], generation: m[4] };
}

/** Cloud Storage's JSON API. */
const GCS_BASE_URL = 'https://storage.googleapis.com';

/**
 * Fetches the platform's list at exactly its generation with the build's credentials, refuses it unless its bytes hash
 * to the SHA-256 in its name, and loads it (into a private temporary file: ssh-keygen reads the list from a file).
 * `baseUrl` is for tests of this function; the CLI never passes one.
 * @throws C2CError GATE_NO_ALLOWED_SIGNERS (cannot be read), GATE_BAD_ALLOWED_SIGNERS (other bytes, or a bad line)
 */
export async function fetchPlatformSigners(
  ref: PlatformSignersRef,
  options: { auth: GoogleAuth; baseUrl?: string },
): Promise<AllowedSigners> {
  const where = `gs://${ref.bucket}/${ref.object}#${ref.generation}`;
  const url = `${options.baseUrl ?? GCS_BASE_URL}/storage/v1/b/${encodeURIComponent(ref.bucket)}/o/${encodeURIComponent(ref.object)}?alt=media&generation=${ref.generation}`;
  let bytes: Buffer;
  try {
    const res = await googleFetch(url, {
      what: `read the platform's allowed signers ${where}`,
      auth: options.auth,
      timeoutMs: 15_000,
      deniedHint: "the build's service account needs roles/storage.objectViewer on the deploy bucket (the platform stack grants it)",
    });
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    if (!(err instanceof C2CError)) throw err;
    throw new C2CError('GATE_NO_ALLOWED_SIGNERS', err.message, {
      hint: err.hint ?? "apply the platform stack (it publishes the list), then the service's stack",
      cause: err,
    });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ref.sha256) {
    throw new C2CError(
      'GATE_BAD_ALLOWED_SIGNERS',
      `${where} has SHA-256 ${sha256}, not the one its name holds: it is not the list the platform published`,
      {
        hint: 'apply the platform stack again; nothing but the platform apply may write security/ in the deploy bucket',
      },
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'c2c-platform-signers-'));
  const path = join(dir, 'allowed_signers');
  await writeFile(path, bytes, { mode: 0o600 });
  return loadAllowedSigners(path);
}
