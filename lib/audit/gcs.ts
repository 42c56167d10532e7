import { createHash } from 'node:crypto';
import { C2CError } from '../errors';
import { GoogleAuth, googleFetch } from '../google/http';
import { AuditSink, GENESIS } from './types';

/** Cloud Storage's JSON API. */
export const GCS_BASE_URL = 'https://storage.googleapis.com';

const DENIED = 'the build service account needs roles/storage.objectCreator and objectViewer on the audit bucket';

/**
 * One object per event under `gs://bucket/prefix/`, created with `ifGenerationMatch=0` so nothing is overwritten
 * (the bucket's retention policy, declared by the platform constructs, keeps every object).
 */
export function gcsSink(location: string, options: { auth: GoogleAuth; baseUrl?: string }): AuditSink {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!m) throw new C2CError('USAGE', `audit location '${location}' is not gs://BUCKET[/PREFIX]`);
  const bucket = m[1];
  const prefix = m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/`;
  const base = options.baseUrl ?? GCS_BASE_URL;
  const call = async (url: string, what: string, init: { method?: string; body?: string; accept?: number[] } = {}): Promise<Response> => {
    try {
      return await googleFetch(url, {
        what,
        auth: options.auth,
        timeoutMs: 15_000,
        deniedHint: DENIED,
        ...init,
        ...(init.body !== undefined ? { headers: { 'content-type': 'application/json' } } : {}),
      });
    } catch (err) {
      if (!(err instanceof C2CError) || err.code === 'GOOGLE_AUTH') throw err;
      const status = (err.details as { status?: number } | undefined)?.status;
      throw new C2CError(
        'AUDIT_WRITE',
        status ? `GCS answered ${status} for ${init.method ?? 'GET'} gs://${bucket}/${prefix}` : err.message,
        { hint: DENIED, cause: err },
      );
    }
  };
  const listNames = async (): Promise<string[]> => {
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ prefix, ...(pageToken ? { pageToken } : {}) });
      const res = await call(`${base}/storage/v1/b/${encodeURIComponent(bucket)}/o?${q}`, `list gs://${bucket}/${prefix}`);
      const page = (await res.json()) as { items?: { name: string }[]; nextPageToken?: string };
      names.push(...(page.items ?? []).map((i) => i.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    // Record objects are named by their sequence number, so name order is chain order.
    return names.filter((n) => RECORD.test(n.slice(prefix.length))).sort();
  };
  const read = async (name: string): Promise<string> => {
    const res = await call(
      `${base}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`,
      `read gs://${bucket}/${name}`,
    );
    return (await res.text()).replace(/\n$/, '');
  };
  return {
    location,
    async append(line) {
      // The sequence number is the lock: creating object N with ifGenerationMatch=0 fails (412) when another writer
      // took N first; then read the new last record and try N+1.
      for (let attempt = 0; attempt < 20; attempt++) {
        const names = await listNames();
        const last = names[names.length - 1];
        const seq = last ? Number(last.slice(prefix.length, prefix.length + 12)) + 1 : 1;
        const prevHash = last ? sha256(await read(last)) : GENESIS;
        const name = `${prefix}${String(seq).padStart(12, '0')}.json`;
        const url = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=media&ifGenerationMatch=0&name=${encodeURIComponent(name)}`;
        const res = await call(url, `write ${name} to gs://${bucket}`, { method: 'POST', body: line(prevHash), accept: [412] });
        if (res.status !== 412) return;
        await res.body?.cancel();
      }
      throw new C2CError('AUDIT_WRITE', `could not append to gs://${bucket}/${prefix}: other writers kept taking the next record`, {
        hint: 'try again',
      });
    },
    async readAll() {
      const lines: string[] = [];
      for (const name of await listNames()) lines.push(await read(name));
      return lines;
    },
  };
}

const RECORD = /^\d{12}\.json$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
