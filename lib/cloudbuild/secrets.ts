/**
 * The local secret store that stands in for Secret Manager: a directory with one file per secret, named by the
 * secret's id (`projects/P/secrets/NAME/versions/V` reads `<dir>/NAME`). Cloud Build resolves `availableSecrets`
 * before the first step; so does the runner. Values are kept out of every message.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { C2CError } from '../errors';

/** One `availableSecrets.secretManager` entry. */
export interface SecretManagerSecret {
  readonly env: string;
  readonly versionName: string;
}

/** The secret's id in a version name (`projects/P/secrets/NAME/versions/V`). */
export function secretName(versionName: string): string {
  const m = /^projects\/[^/]+\/secrets\/([A-Za-z0-9_-]+)\/versions\/[^/]+$/.exec(versionName);
  if (!m) {
    throw new C2CError(
      'BUILD_INVALID',
      `invalid build: availableSecrets version name '${versionName}' is not projects/PROJECT/secrets/NAME/versions/VERSION`,
      {
        hint: 'fix the version name in the trigger (synthesize again after the platform is applied)',
      },
    );
  }
  return m[1];
}

/**
 * Reads each secret of `secrets` from `dir` (a trailing newline dropped, as `echo value > file` writes one).
 * @throws C2CError SECRET_NOT_FOUND naming the file to create (never a value)
 */
export async function readSecrets(dir: string, secrets: readonly SecretManagerSecret[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const s of secrets) {
    const file = join(dir, secretName(s.versionName));
    let value: string;
    try {
      value = await readFile(file, 'utf8');
    } catch {
      throw new C2CError(
        'SECRET_NOT_FOUND',
        `secret ${s.versionName} (for ${s.env}) is not in the local secret store: ${file} does not exist`,
        {
          hint: `write its value to ${file} (one file per secret), or pass another store with --secrets DIR`,
        },
      );
    }
    out.set(s.env, value.replace(/\r?\n$/, ''));
  }
  return out;
}

/** `text` with every secret value replaced by `[secret NAME]`: for logs that a step may have echoed them into. */
export function redact(text: string, secrets: ReadonlyMap<string, string>): string {
  let out = text;
  for (const [name, value] of secrets) if (value.length >= 4) out = out.split(value).join(`[secret ${name}]`);
  return out;
}
