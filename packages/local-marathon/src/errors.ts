/** Mistakes in how the server is started: each has a stable `code` and a `hint`; the CLI prints both and exits 2. */

/** The codes of {@link LocalMarathonConfigError}. */
export type ConfigErrorCode =
  | 'STATE_NOT_A_DIRECTORY'
  | 'STATE_CORRUPT'
  | 'STATE_IN_USE'
  | 'IMAGES_NOT_A_DIRECTORY'
  | 'UNKNOWN_FEATURE'
  | 'BAD_CREDENTIALS'
  | 'BAD_ALLOWED_HOST'
  | 'BAD_CONNECT_TO';

/** A bad option: nothing was started and nothing was written. */
export class LocalMarathonConfigError extends Error {
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'LocalMarathonConfigError';
  }
}
