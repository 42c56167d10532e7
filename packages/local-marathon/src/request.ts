/** Reading requests: bodies with a size limit, JSON media types (415/400, SEMANTICS.md §1/§4), query flags, Accept. */
import { IncomingMessage } from 'node:http';
import { HttpError, Json } from './json';

/** The largest body accepted; a larger one is answered 413. */
export const MAX_BODY = 10 * 1024 * 1024;

/** Past this much, the rest of an oversized body is no longer read and discarded: the connection is cut. */
const MAX_DISCARD = 10 * MAX_BODY;

function tooLarge(): HttpError {
  return new HttpError(413, { message: `Request Entity Too Large: the limit is ${MAX_BODY} bytes` });
}

/**
 * The body as text; 413 (`HttpError`, Marathon's error shape) when its Content-Length or its size exceeds `MAX_BODY`.
 * The rest of an oversized body is read and discarded, so the client gets the 413 rather than a reset.
 */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
      reject(tooLarge());
      req.resume();
      return;
    }
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_DISCARD) req.destroy();
      else if (size > MAX_BODY) {
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Whether a Content-Type is JSON. */
export function isJsonType(ct: string | undefined): boolean {
  return !!ct && /^application\/json\s*(;|$)/i.test(ct.trim());
}

/** §1/§4: 415 without a JSON content type, 400 for an empty or unparsable body. */
export async function jsonBody(req: IncomingMessage): Promise<Json> {
  if (!isJsonType(req.headers['content-type'])) throw new HttpError(415, { message: 'Unsupported Media Type' });
  const raw = await readBody(req);
  if (!raw.trim()) {
    throw new HttpError(400, { message: 'Please specify data in JSON format', details: 'No content to map due to end-of-input' });
  }
  try {
    return JSON.parse(raw) as Json;
  } catch (e) {
    throw new HttpError(400, { message: 'Invalid JSON', details: e instanceof Error ? e.message : String(e) });
  }
}

/** A boolean query parameter (`?force=true`); absent or empty means `def`. */
export function flag(url: URL, name: string, def: boolean): boolean {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return def;
  return v.toLowerCase() === 'true';
}

/** §1: the JSON resources answer 406 to an Accept header that excludes JSON (`/v2/tasks` also serves text/plain). */
export function acceptsJson(accept: string | undefined, textOk: boolean): boolean {
  if (!accept) return true;
  return accept.split(',').some((t) => {
    const type = t.split(';')[0].trim().toLowerCase();
    return (
      type === '*/*' || type === 'application/json' || type === 'application/*' || (textOk && (type === 'text/plain' || type === 'text/*'))
    );
  });
}
