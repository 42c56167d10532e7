import { C2CError } from '../errors';
import { GoogleAuth, googleFetch } from './http';

/** Secret Manager's API. */
export const SECRET_MANAGER_BASE_URL = 'https://secretmanager.googleapis.com';

const SECRET_NAME = /^projects\/[a-z0-9-]{1,63}\/secrets\/[A-Za-z0-9_-]{1,255}$/;

/** Options of {@link accessLatestSecret}. */
export interface SecretManagerOptions {
  readonly auth: GoogleAuth;
  /** @default {@link SECRET_MANAGER_BASE_URL} (tests pass a loopback server) */
  readonly baseUrl?: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * The value of a secret's latest version (`projects/P/secrets/S`), or `null` when the secret has no enabled version
 * yet (Terraform declares a secret, a person adds its value): the caller says what is missing instead of failing.
 * The value is never part of an error.
 * @throws C2CError USAGE for a malformed name; GOOGLE_DENIED, GOOGLE_UNREACHABLE, GOOGLE_HTTP
 */
export async function accessLatestSecret(name: string, options: SecretManagerOptions): Promise<string | null> {
  if (!SECRET_NAME.test(name)) {
    throw new C2CError('USAGE', `'${name}' is not a secret name`, { hint: 'give projects/PROJECT/secrets/SECRET_ID' });
  }
  const res = await googleFetch(`${options.baseUrl ?? SECRET_MANAGER_BASE_URL}/v1/${name}/versions/latest:access`, {
    what: `read the latest version of ${name}`,
    auth: options.auth,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    // 404: no version (or no secret); 400 FAILED_PRECONDITION: the latest version is disabled or destroyed.
    accept: [404, 400],
    deniedHint: `the account needs roles/secretmanager.secretAccessor on ${name}`,
  });
  const body = (await res.json().catch(() => ({}))) as { payload?: { data?: unknown }; error?: { status?: unknown } };
  if (res.status === 404 || (res.status === 400 && body.error?.status === 'FAILED_PRECONDITION')) return null;
  if (res.status === 400) {
    throw new C2CError('GOOGLE_HTTP', `could not read the latest version of ${name}: the API answered 400`, {
      details: { status: 400 },
    });
  }
  const data = body.payload?.data;
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
    throw new C2CError('GOOGLE_HTTP', `the latest version of ${name} came back without a base64 payload`, {
      hint: 'add the value again: gcloud secrets versions add',
    });
  }
  return Buffer.from(data, 'base64').toString('utf8');
}
