/**
 * Fault injection for tests, on `/__local/faults` (a path real Marathon does not have). Every fault is bounded: it
 * applies `count` times (1..1000, default 1) and switches itself off after `seconds` (1..600, default 60).
 */
import { HttpError, Json, JsonObject, formatTimestamp, isObject, newId } from './json';

/** The kinds of fault. */
export const FAULT_KINDS = ['status', 'reset', 'delay', 'unhealthy', 'crash', 'hang'] as const;
/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A stored fault. */
export interface Fault {
  id: string;
  kind: FaultKind;
  count: number;
  remaining: number;
  expiresAt: number;
  status?: number;
  ms?: number;
  appId?: string;
}

function bad(message: string): HttpError {
  return new HttpError(422, { message });
}

function bounded(body: JsonObject, key: string, def: number, min: number, max: number): number {
  const v = body[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(`'${key}' must be a number from ${min} to ${max}`);
  return v;
}

/** The active faults. */
export class Faults {
  private faults: Fault[] = [];

  /** Validates and stores a fault (422 with a message when the body is wrong). */
  add(body: Json): Fault {
    if (!isObject(body)) throw bad('The body must be a JSON object with a "kind"');
    const kind = body.kind;
    if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw bad(`'kind' must be one of ${FAULT_KINDS.join(', ')}`);
    }
    const count = Math.floor(bounded(body, 'count', 1, 1, 1000));
    const seconds = bounded(body, 'seconds', 60, 0.001, 600);
    const fault: Fault = { id: newId(), kind: kind as FaultKind, count, remaining: count, expiresAt: Date.now() + seconds * 1000 };
    if (kind === 'status') {
      const status = body.status ?? 503;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
        throw bad("'status' must be an HTTP error status (400-599)");
      fault.status = status;
    }
    if (kind === 'delay') fault.ms = bounded(body, 'ms', 1000, 0, 60000);
    if (kind === 'unhealthy' || kind === 'crash' || kind === 'hang') {
      if (typeof body.appId !== 'string' || !body.appId) throw bad(`A '${kind}' fault needs an 'appId', e.g. "/staging/x"`);
      fault.appId = `/${body.appId.replace(/^\/+/, '')}`;
    }
    this.faults.push(fault);
    return fault;
  }

  /** Active faults (not used up, not expired). */
  list(): Fault[] {
    const now = Date.now();
    this.faults = this.faults.filter((f) => f.remaining > 0 && f.expiresAt > now);
    return this.faults;
  }

  /** Removes every fault. */
  clear(): void {
    this.faults = [];
  }

  /** Consumes one use of the first active fault of `kind` (for `appId` when given). */
  take(kind: FaultKind, appId?: string): Fault | undefined {
    const f = this.list().find((x) => x.kind === kind && (appId === undefined || x.appId === appId));
    if (f) f.remaining--;
    return f;
  }

  /** Whether any fault of `kind` is active (without consuming it). */
  has(kind: FaultKind): boolean {
    return this.list().some((x) => x.kind === kind);
  }
}

/** The JSON form of a fault. */
export function faultJson(f: Fault): JsonObject {
  const out: JsonObject = { id: f.id, kind: f.kind, count: f.count, remaining: f.remaining, expiresAt: formatTimestamp(f.expiresAt) };
  if (f.status !== undefined) out.status = f.status;
  if (f.ms !== undefined) out.ms = f.ms;
  if (f.appId !== undefined) out.appId = f.appId;
  return out;
}
