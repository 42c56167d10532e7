import { C2CError } from '../errors';
import type { AuditEvent, AuditSink } from './log';

/**
 * Google Cloud access token for API calls: `GOOGLE_OAUTH_ACCESS_TOKEN` if set, else the metadata server (what a
 * Cloud Build step or a GCE machine has). `C2C_METADATA_URL` overrides the metadata base URL (tests use loopback).
 */
export async function googleAccessToken(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.GOOGLE_OAUTH_ACCESS_TOKEN) return env.GOOGLE_OAUTH_ACCESS_TOKEN;
  const base = env.C2C_METADATA_URL ?? 'http://metadata.google.internal';
  let res: Response;
  try {
    res = await fetch(`${base}/computeMetadata/v1/instance/service-accounts/default/token`, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw new C2CError(
      'GOOGLE_AUTH',
      'no Google credentials: GOOGLE_OAUTH_ACCESS_TOKEN is not set and the metadata server did not answer',
      {
        hint: 'outside Google Cloud, set GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth print-access-token)',
        cause: err,
      },
    );
  }
  if (!res.ok) throw new C2CError('GOOGLE_AUTH', `the metadata server answered ${res.status} for an access token`);
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new C2CError('GOOGLE_AUTH', 'the metadata server returned no access_token');
  return body.access_token;
}

/** One object per event under `gs://bucket/prefix/`, created with `ifGenerationMatch=0` so nothing is overwritten. */
export function gcsSink(location: string, env: NodeJS.ProcessEnv): AuditSink {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!m) throw new C2CError('USAGE', `audit location '${location}' is not gs://BUCKET[/PREFIX]`);
  const bucket = m[1];
  const prefix = m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/`;
  const base = env.C2C_GCS_BASE_URL ?? 'https://storage.googleapis.com';
  const call = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const token = await googleAccessToken(env);
    const res = await fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(15000),
    });
    if (!res.ok) {
      throw new C2CError('AUDIT_WRITE', `GCS answered ${res.status} for ${init.method ?? 'GET'} gs://${bucket}/${prefix}`, {
        hint: 'the build service account needs roles/storage.objectCreator and objectViewer on the audit bucket',
      });
    }
    return res;
  };
  return {
    location,
    async append(event) {
      const name = `${prefix}${event.time}-${event.id}.json`;
      const url = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=media&ifGenerationMatch=0&name=${encodeURIComponent(name)}`;
      await call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    },
    async readAll() {
      const names: string[] = [];
      let pageToken: string | undefined;
      do {
        const q = new URLSearchParams({ prefix, ...(pageToken ? { pageToken } : {}) });
        const res = await call(`${base}/storage/v1/b/${encodeURIComponent(bucket)}/o?${q}`);
        const page = (await res.json()) as { items?: { name: string }[]; nextPageToken?: string };
        names.push(...(page.items ?? []).map((i) => i.name));
        pageToken = page.nextPageToken;
      } while (pageToken);
      const events: AuditEvent[] = [];
      for (const name of names.filter((n) => n.endsWith('.json'))) {
        const res = await call(`${base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`);
        events.push((await res.json()) as AuditEvent);
      }
      return events;
    },
  };
}
