/**
 * Where the gate's trust comes from. The allowed-signers file is part of the repository: adding a key is a reviewed
 * change like any other. `C2C_ALLOWED_SIGNERS` points elsewhere (tests, the demo's own work dir).
 */
export const DEFAULT_ALLOWED_SIGNERS = 'security/allowed_signers';

/** The allowed-signers path from the environment the CLI read once: `C2C_ALLOWED_SIGNERS`, else the repository's file. */
export function allowedSignersPath(env: Readonly<Record<string, string | undefined>>): string {
  return env.C2C_ALLOWED_SIGNERS || DEFAULT_ALLOWED_SIGNERS;
}
