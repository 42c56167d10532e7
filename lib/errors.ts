/**
 * Errors that users meet. Each carries a stable `code` (documented, safe to match on) and an optional `hint`
 * saying what to do next. The CLI prints `message` plus the hint; the stack only for unexpected errors.
 */
export class C2CError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly details?: unknown;

  constructor(code: string, message: string, options: { hint?: string; details?: unknown; cause?: unknown } = {}) {
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
