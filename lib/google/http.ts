import { C2CError } from '../errors';

/**
 * Where a Google access token comes from: a token given as is (`gcloud auth print-access-token` on a laptop), else the
 * metadata server of the machine (what a Cloud Build step, Cloud Run or GCE has). The CLI builds this once from the
 * environment ({@link googleAuthFromEnv}); libraries take it as a value.
 */
export interface GoogleAuth {
  /** A ready OAuth 2 access token. @default - ask the metadata server */
  readonly accessToken?: string;
  /** Metadata server base URL (tests use loopback). @default 'http://metadata.google.internal' */
  readonly metadataUrl?: string;
}

/** `GOOGLE_OAUTH_ACCESS_TOKEN` and `C2C_METADATA_URL` from an environment the CLI passes in. */
export function googleAuthFromEnv(env: Readonly<Record<string, string | undefined>>): GoogleAuth {
  return {
    ...(env.GOOGLE_OAUTH_ACCESS_TOKEN ? { accessToken: env.GOOGLE_OAUTH_ACCESS_TOKEN } : {}),
    ...(env.C2C_METADATA_URL ? { metadataUrl: env.C2C_METADATA_URL } : {}),
  };
}

export const DEFAULT_METADATA_URL = 'http://metadata.google.internal';
/** Default deadline of one Google API request, ms. */
export const DEFAULT_GOOGLE_TIMEOUT_MS = 10_000;

/** Metadata-server tokens, per auth value, until a minute before they expire. */
const cache = new WeakMap<GoogleAuth, { token: string; until: number }>();

/**
 * An access token for Google APIs.
 * @throws C2CError GOOGLE_AUTH when there is no token and the metadata server does not give one
 */
export async function googleAccessToken(auth: GoogleAuth, timeoutMs = 5000): Promise<string> {
  if (auth.accessToken) return auth.accessToken;
  const cached = cache.get(auth);
  if (cached && cached.until > Date.now()) return cached.token;
  const base = (auth.metadataUrl ?? DEFAULT_METADATA_URL).replace(/\/+$/, '');
  const noCredentials = (why: string, cause?: unknown) =>
    new C2CError('GOOGLE_AUTH', `no Google credentials: GOOGLE_OAUTH_ACCESS_TOKEN is not set and ${why}`, {
      hint: 'outside Google Cloud, set GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth print-access-token)',
      ...(cause === undefined ? {} : { cause }),
    });
  let res: Response;
  try {
    res = await fetch(`${base}/computeMetadata/v1/instance/service-accounts/default/token`, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw noCredentials('the metadata server did not answer', err);
  }
  if (!res.ok) throw noCredentials(`the metadata server answered ${res.status} for an access token`);
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown };
  if (typeof body.access_token !== 'string' || body.access_token === '')
    throw noCredentials('the metadata server returned no access_token');
  const seconds = typeof body.expires_in === 'number' ? body.expires_in : 300;
  cache.set(auth, { token: body.access_token, until: Date.now() + Math.max(0, seconds - 60) * 1000 });
  return body.access_token;
}

/** One call to a Google API (or any HTTP API the same way: bearer token, deadline, one error shape). */
export interface GoogleRequest {
  /** What the call does, for messages: `read build 123 from the Cloud Build API`. */
  readonly what: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** The token source; `null` sends no Authorization header (e.g. a registry without auth). */
  readonly auth: GoogleAuth | null;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** Aborts the request early (Ctrl-C); the deadline still applies. */
  readonly signal?: AbortSignal;
  /** Statuses that the caller handles itself (returned, not thrown), or `'any'`. @default - 2xx only */
  readonly accept?: readonly number[] | 'any';
  /** What to do on 401/403: which role or permission is missing. */
  readonly deniedHint?: string;
}

/** The status of a failed call: carried in `details` of GOOGLE_* errors. */
export interface GoogleFailure {
  readonly url: string;
  readonly status?: number;
}

/**
 * Sends one request with a bearer token and a deadline and maps failures to one error shape:
 * GOOGLE_AUTH (no token), GOOGLE_UNREACHABLE (network, timeout), GOOGLE_DENIED (401, 403), GOOGLE_NOT_FOUND (404),
 * GOOGLE_HTTP (any other non-2xx). Messages name the call and the status, never the token.
 */
export async function googleFetch(url: string, req: GoogleRequest): Promise<Response> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_GOOGLE_TIMEOUT_MS;
  const headers: Record<string, string> = { ...req.headers };
  if (req.auth) headers.authorization = `Bearer ${await googleAccessToken(req.auth, Math.min(timeoutMs, 5000))}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  const where = safeUrl(url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: req.method ?? 'GET',
      headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: req.signal ? AbortSignal.any([timeout, req.signal]) : timeout,
    });
  } catch (err) {
    const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).message;
    throw new C2CError('GOOGLE_UNREACHABLE', `could not ${req.what}: ${why}`, {
      cause: err,
      details: { url: where } satisfies GoogleFailure,
    });
  }
  if (res.ok || req.accept === 'any' || req.accept?.includes(res.status)) return res;
  await res.body?.cancel().catch(() => undefined);
  const details: GoogleFailure = { url: where, status: res.status };
  if (res.status === 401 || res.status === 403) {
    throw new C2CError(
      'GOOGLE_DENIED',
      `could not ${req.what}: ${res.status} ${res.status === 401 ? 'unauthenticated' : 'permission denied'}`,
      {
        ...(req.deniedHint ? { hint: req.deniedHint } : {}),
        details,
      },
    );
  }
  if (res.status === 404) throw new C2CError('GOOGLE_NOT_FOUND', `could not ${req.what}: 404 not found`, { details });
  throw new C2CError('GOOGLE_HTTP', `could not ${req.what}: the API answered ${res.status}`, { details });
}

/** A URL for messages: without user info and query (either may hold a secret). */
function safeUrl(url: string): string {
  const noUser = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
  return noUser.replace(/[?#].*$/, '');
}
