/**
 * Small shared helpers of the local Marathon: JSON value types, Marathon's timestamp format, ids, and the
 * error type that the HTTP layer turns into a status code plus a JSON body.
 */
import { randomUUID } from 'node:crypto';

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  [key: string]: Json;
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy through JSON, so stored definitions never alias request bodies. */
export function clone<T extends Json>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** JSON with object keys sorted, so two definitions compare equal whatever their key order. */
export function stableStringify(v: Json | undefined): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Marathon writes every timestamp as `yyyy-MM-ddTHH:mm:ss.SSSZ` (SEMANTICS.md §1); `Date.toISOString` has exactly
 * that shape for years 0000-9999.
 */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

let lastVersionMs = 0;
/**
 * A new version timestamp. Strictly increasing within this process: two changes in the same millisecond
 * would otherwise share a version, and versions are keys of the version store.
 */
export function newVersion(): string {
  const now = Date.now();
  lastVersionMs = now > lastVersionMs ? now : lastVersionMs + 1;
  return formatTimestamp(lastVersionMs);
}

/** A deployment id: a UUID, like Marathon's. */
export function newId(): string {
  return randomUUID();
}

/** An error that the HTTP layer answers with `status` and `body` (a JSON object, or text with `contentType`). */
export class HttpError extends Error {
  readonly status: number;
  readonly body: JsonObject | undefined;

  constructor(status: number, body: JsonObject | undefined) {
    super(body && typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'HttpError';
    this.status = status;
    this.body = body;
  }
}

/** One entry of a 422 `details` list: a Play JsPath and its error codes or sentences. */
export interface Violation {
  path: string;
  errors: string[];
}

/** Groups violations per path, in first-seen order, the way Marathon's validation writer does. */
export function groupViolations(list: Violation[]): Violation[] {
  const byPath = new Map<string, string[]>();
  for (const v of list) {
    const errs = byPath.get(v.path) ?? [];
    for (const e of v.errors) if (!errs.includes(e)) errs.push(e);
    byPath.set(v.path, errs);
  }
  return [...byPath].map(([path, errors]) => ({ path, errors }));
}

/** 422 `Invalid JSON`: the body parsed but does not fit the RAML type (SEMANTICS.md §4). */
export function invalidJson(list: Violation[]): HttpError {
  return new HttpError(422, { message: 'Invalid JSON', details: groupViolations(list).map(violationJson) });
}

/** 422 `Object is not valid`: the body fits the type but a semantic rule failed (SEMANTICS.md §4). */
export function objectNotValid(list: Violation[]): HttpError {
  return new HttpError(422, { message: 'Object is not valid', details: groupViolations(list).map(violationJson) });
}

function violationJson(v: Violation): JsonObject {
  return { path: v.path, errors: v.errors };
}

/** 404 for an unknown app, with Marathon's literal message. */
export function appNotFound(id: string): HttpError {
  return new HttpError(404, { message: `App '${id}' does not exist` });
}
