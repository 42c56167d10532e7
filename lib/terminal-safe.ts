/**
 * The one sanitizer for text printed from outside input (audit log lines, Marathon's error bodies, URLs, environment
 * variables): control characters are shown escaped, never sent to the terminal, and credentials in URLs and
 * authorization values are redacted. The CLIs' output sinks run every line through `terminalSafe`.
 */

/**
 * C0 controls (ESC, CR, BEL, backspace, …) except newline and tab, DEL, C1 controls (0x80-0x9f, e.g. the one-byte CSI)
 * and the Unicode bidirectional overrides and isolates, which can make a line read as another.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `\x1b`, `\r`, `\u202e`: how an unsafe character is shown. */
function escapeChar(c: string): string {
  if (c === '\r') return '\\r';
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** User info in any URL (`scheme://user:secret@host`), and values after `token=`, `Basic `, `Bearer `. */
const SECRETS: readonly [RegExp, string][] = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, '$1***@'],
  [/\b(token=|Basic\s+|Bearer\s+)[^\s'",;)]+/g, '$1***'],
];

/** `text` with credentials replaced by `***`: user info in URLs and authorization values. */
export function redactSecrets(text: string): string {
  return SECRETS.reduce((t, [re, to]) => t.replace(re, to), text);
}

/** Text safe for a terminal: credentials redacted, control characters other than newline and tab escaped. */
export function terminalSafe(text: string): string {
  return redactSecrets(text).replace(UNSAFE, escapeChar);
}

/** One field inside a line (an actor, a reason from the log): as `terminalSafe`, and newlines and tabs escaped too. */
export function safeField(text: string): string {
  return redactSecrets(text).replace(UNSAFE_IN_LINE, escapeChar);
}
