/**
 * Every error code a user can meet, and the exit code the CLIs give it: the one table of exit codes (documented in
 * `--help` and docs/deploy.md). 1: the operation failed (or Marathon did); 2: bad usage or bad input, nothing was sent
 * or recorded; 3: refused by the production gate; 130/143: interrupted by SIGINT/SIGTERM (as shells report them).
 */
export const ERROR_EXIT_CODES = {
  // bad usage or input (2)
  USAGE: 2,
  UNKNOWN_SERVICE: 2,
  INVALID_DEFINITION: 2,
  PLAN_INVALID: 2,
  ROLLBACK_NO_TARGET: 2,
  PRODUCTION_NEEDS_PLAN: 2,
  PRODUCTION_NEEDS_GATE: 2,
  IMAGE_NOT_FOUND: 2,
  SERVICE_EXISTS: 2,
  SERVICES_INDEX: 2,
  FILE_TARGET: 2,
  PACKAGE_REF: 2,
  REPOSITORY: 2,
  ROLLOUT_NONE: 2,
  ROLLOUT_FROM_ROLLING: 2,
  BUILD_INVALID: 2,
  TRIGGER_NOT_FOUND: 2,
  // refused by the gate (3)
  PLAN_TAMPERED: 3,
  GATE_APPROVAL_EXPIRED: 3,
  GATE_APPROVAL_MISMATCH: 3,
  GATE_CLOUDBUILD_UNREACHABLE: 3,
  GATE_NOT_APPROVER: 3,
  GATE_NO_APPROVAL: 3,
  GATE_NO_BUILD_CONTEXT: 3,
  GATE_SELF_APPROVAL: 3,
  GATE_STALE_PLAN: 3,
  GATE_WRONG_APP: 3,
  GATE_WRONG_SERVICE: 3,
  GATE_APPROVAL_FUTURE: 3,
  GATE_BAD_ALLOWED_SIGNERS: 3,
  GATE_BAD_SIGNATURE: 3,
  GATE_BREAK_GLASS_EXPIRED: 3,
  GATE_BREAK_GLASS_NO_REASON: 3,
  GATE_CLOUDBUILD_OVERRIDE: 3,
  GATE_FORCE_NEEDS_BREAK_GLASS: 3,
  GATE_NO_ALLOWED_SIGNERS: 3,
  GATE_NO_FORCE_IN_PRODUCTION: 3,
  GATE_NO_SIGNING_KEY: 3,
  GATE_NO_SSH_KEYGEN: 3,
  GATE_PLAN_INCONSISTENT: 3,
  GATE_RELEASE_MISMATCH: 3,
  GATE_ROLLOUT_NOT_APPROVED: 3,
  GATE_ROLLBACK_NOT_KNOWN_GOOD: 3,
  GATE_SIGNING_FAILED: 3,
  GATE_WRONG_ENVIRONMENT: 3,
  GATE_AUDIT_LOG_DAMAGED: 3,
  GATE_AUTHOR_UNVERIFIED: 3,
  GATE_SIGNERS_OVERRIDE: 3,
  // failed (1)
  DEPLOY_FAILED: 1,
  DEPLOY_FAILED_ROLLED_BACK: 1,
  DEPLOY_FAILED_ROLLBACK_STARTED: 1,
  DEPLOY_FAILED_ROLLBACK_FAILED: 1,
  DEPLOY_STATE_UNKNOWN: 1,
  DEADLINE: 1,
  MARATHON_UNREACHABLE: 1,
  MARATHON_ERROR: 1,
  MARATHON_AUTH: 1,
  MARATHON_BUSY: 1,
  MARATHON_LOCKED: 1,
  MARATHON_NOT_FOUND: 1,
  MARATHON_REJECTED: 1,
  MARATHON_BAD_RESPONSE: 1,
  AUDIT_WRITE: 1,
  AUDIT_CORRUPT: 1,
  GOOGLE_AUTH: 1,
  GOOGLE_DENIED: 1,
  GOOGLE_HTTP: 1,
  GOOGLE_NOT_FOUND: 1,
  GOOGLE_UNREACHABLE: 1,
  OBJECT_CHECKSUM: 1,
  OBJECT_EXISTS: 1,
  OBJECT_TOO_LARGE: 1,
  NOTIFY_FAILED: 1,
  BUILD_FAILED: 1,
  DEPLOY_BUNDLE_MISSING: 1,
  DOCKER_NOT_FOUND: 1,
  DOCKER_BUILD_FAILED: 1,
  DOCKER_PUSH_FAILED: 1,
  REGISTRY_NOT_FOUND: 1,
  REGISTRY_START_FAILED: 1,
  WORKDIR_LOCKED: 1,
  ROLLOUT_IN_PROGRESS: 1,
  ROLLOUT_STALLED: 1,
  ROLLOUT_ABORTED: 1,
  HAPROXY_STATS: 1,
  HAPROXY_UNREACHABLE: 1,
  STEP_FAILED: 1,
  STEP_NOT_RUNNABLE: 1,
  SECRET_NOT_FOUND: 1,
  // interrupted
  INTERRUPTED: 130,
  TERMINATED: 143,
} as const satisfies Record<string, number>;

/** A stable error code (safe to match on). */
export type ErrorCode = keyof typeof ERROR_EXIT_CODES;

/** The exit code of an error: from the table for a C2CError, 1 for anything unexpected. */
export function exitCodeOf(error: unknown): number {
  return error instanceof C2CError ? ERROR_EXIT_CODES[error.code] : 1;
}

/**
 * Errors that users meet. Each carries a stable `code` (documented, safe to match on) and an optional `hint`
 * saying what to do next. The CLI prints `message` plus the hint; the stack only for unexpected errors.
 */
export class C2CError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'C2CError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

/** One problem with a definition: which object, which field, what value, and how to fix it. */
export interface Violation {
  /** The object the rule is about, e.g. `Microservice(bulb-api)` or `MarathonApp(/staging/bulb-api)`. */
  readonly subject: string;
  /** The field path, e.g. `healthCheck.portIndex`. */
  readonly field: string;
  /** The offending value, as written (JSON). */
  readonly value: unknown;
  /** What is wrong and the fix, as one sentence. */
  readonly message: string;
}

/** `Microservice(bulb-api): 'mem' (0) must be > 0 MiB; set it to ...` */
export function formatViolation(v: Violation): string {
  return `${v.subject}: '${v.field}' (${JSON.stringify(v.value)}) ${v.message}`;
}

/** Thrown when a definition breaks one or more rules; `message` lists every violation, one a line. */
export class ValidationError extends C2CError {
  readonly violations: readonly Violation[];

  constructor(violations: readonly Violation[]) {
    super('INVALID_DEFINITION', violations.map(formatViolation).join('\n'), { details: violations });
    this.name = 'ValidationError';
    this.violations = violations;
  }
}

/**
 * The error for work stopped by an abort signal (the CLI aborts with the signal's name as the reason): INTERRUPTED for
 * SIGINT (exit 130), TERMINATED for SIGTERM (exit 143).
 */
export function interruption(signal: AbortSignal | undefined, message: string, details?: unknown): C2CError {
  const reason: unknown = signal?.reason;
  return new C2CError(reason === 'SIGTERM' ? 'TERMINATED' : 'INTERRUPTED', message, details === undefined ? {} : { details });
}

/** Waits `ms`, or rejects with an interruption as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(interruption(signal, 'interrupted'));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(interruption(signal, 'interrupted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
