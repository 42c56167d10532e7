import { createHash } from 'node:crypto';
import { C2CError } from '../errors';
import { GoogleAuth, googleFetch } from '../google/http';
import { AuditProblem, AuditSink, GENESIS } from './types';

/** Cloud Storage's JSON API. */
export const GCS_BASE_URL = 'https://storage.googleapis.com';

const DENIED = 'the build service account needs roles/storage.objectCreator and objectViewer on the audit bucket';

/** The record objects under one `gs://bucket/prefix/`, through Cloud Storage's JSON API. */
interface RecordStore {
  readonly bucket: string;
  readonly prefix: string;
  /** Record objects (named by sequence number), in name order = chain order. */
  list(): Promise<{ name: string; generation: string }[]>;
  /** One object's text, without its final newline. */
  read(name: string): Promise<string>;
  /** Creates `name` only if it does not exist (`ifGenerationMatch=0`); false when another writer took it first. */
  create(name: string, body: string): Promise<boolean>;
}

/**
 * One object per event under `gs://bucket/prefix/`, created with `ifGenerationMatch=0` so nothing is overwritten
 * (the bucket's retention policy, declared by the platform constructs, keeps every object).
 */
export function gcsSink(location: string, options: { auth: GoogleAuth; baseUrl?: string }): AuditSink {
  const store = recordStore(location, options);
  return {
    location,
    append: (line) => appendRecord(store, line),
    integrity: async () => integrityProblems(store, await store.list()),
    async readAll() {
      const lines: string[] = [];
      for (const { name } of await store.list()) lines.push(await store.read(name));
      return lines;
    },
  };
}

/** Parses the location and binds the JSON API calls (list, read, create-once) with one error shape. */
function recordStore(location: string, options: { auth: GoogleAuth; baseUrl?: string }): RecordStore {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!m) throw new C2CError('USAGE', `audit location '${location}' is not gs://BUCKET[/PREFIX]`);
  const bucket = m[1];
  const prefix = m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/`;
  const base = options.baseUrl ?? GCS_BASE_URL;
  const b = encodeURIComponent(bucket);
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
  return {
    bucket,
    prefix,
    async list() {
      const items: { name: string; generation: string }[] = [];
      let pageToken: string | undefined;
      do {
        const q = new URLSearchParams({ prefix, ...(pageToken ? { pageToken } : {}) });
        const res = await call(`${base}/storage/v1/b/${b}/o?${q}`, `list gs://${bucket}/${prefix}`);
        const page = (await res.json()) as { items?: { name: string; generation?: string }[]; nextPageToken?: string };
        items.push(...(page.items ?? []).map((i) => ({ name: i.name, generation: String(i.generation ?? '') })));
        pageToken = page.nextPageToken;
      } while (pageToken);
      // Record objects are named by their sequence number, so name order is chain order.
      return items.filter((i) => RECORD.test(i.name.slice(prefix.length))).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    },
    async read(name) {
      const res = await call(`${base}/storage/v1/b/${b}/o/${encodeURIComponent(name)}?alt=media`, `read gs://${bucket}/${name}`);
      return (await res.text()).replace(/\n$/, '');
    },
    async create(name, body) {
      const url = `${base}/upload/storage/v1/b/${b}/o?uploadType=media&ifGenerationMatch=0&name=${encodeURIComponent(name)}`;
      const res = await call(url, `write ${name} to gs://${bucket}`, { method: 'POST', body, accept: [412] });
      if (res.status !== 412) return true;
      await res.body?.cancel();
      return false;
    },
  };
}

/**
 * Appends one record. The sequence number is the lock: creating object N with ifGenerationMatch=0 fails (412) when
 * another writer took N first; then read the new last record and try N+1.
 */
async function appendRecord(store: RecordStore, line: (prevHash: string) => string | Promise<string>): Promise<void> {
  const { bucket, prefix } = store;
  for (let attempt = 0; attempt < 20; attempt++) {
    const names = (await store.list()).map((i) => i.name);
    const last = names[names.length - 1];
    const seq = last ? Number(last.slice(prefix.length, prefix.length + 12)) + 1 : 1;
    const prevHash = last ? sha256(await store.read(last)) : GENESIS;
    if (await store.create(`${prefix}${String(seq).padStart(12, '0')}.json`, await line(prevHash))) return;
  }
  throw new C2CError('AUDIT_WRITE', `could not append to gs://${bucket}/${prefix}: other writers kept taking the next record`, {
    hint: 'try again',
  });
}

/**
 * Record N is object N, created once (ifGenerationMatch=0) and kept by the retention policy: a missing number is a
 * deleted record, and a generation (GCS's creation stamp, increasing) not above its predecessor's is an object created
 * later in an earlier place (a back-dated insert).
 */
function integrityProblems(store: RecordStore, items: readonly { name: string; generation: string }[]): AuditProblem[] {
  const { bucket, prefix } = store;
  const problems: AuditProblem[] = [];
  let previous = 0n;
  items.forEach((item, i) => {
    const seq = Number(item.name.slice(prefix.length, prefix.length + 12));
    if (seq !== i + 1 && problems.length === 0) {
      problems.push({
        line: i + 1,
        message: `record ${i + 1} is missing from gs://${bucket}/${prefix} (the next object is number ${seq}): it was deleted`,
      });
    }
    // GCS always sends a generation; a store that sends none is not checked for order.
    const generation = /^\d+$/.test(item.generation) ? BigInt(item.generation) : 0n;
    if (i > 0 && generation > 0n && previous > 0n && generation <= previous) {
      problems.push({
        line: i,
        message: `object ${items[i - 1].name} was created after the record that follows it (generation ${previous} > ${item.generation}): inserted later`,
      });
    }
    previous = generation;
  });
  return problems;
}

const RECORD = /^\d{12}\.json$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
