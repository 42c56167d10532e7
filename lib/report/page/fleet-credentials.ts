import type { EnvironmentName } from '../../catalog';
import { C2CError } from '../../errors';
import { accessLatestSecret, SecretManagerOptions } from '../../google/secret-manager';
import { authFromEnv, MarathonAuth } from '../../marathon/client';

/**
 * The env naming, per Marathon, the secret (`projects/P/secrets/S`) that holds the page's own read credential: set by
 * the cloud job (constructs/team-page.ts), read by `deploy report --html`.
 */
export const READ_SECRET_ENV: Readonly<Record<EnvironmentName, string>> = {
  staging: 'C2C_MARATHON_READ_SECRET_STAGING',
  production: 'C2C_MARATHON_READ_SECRET_PRODUCTION',
};

/**
 * The Marathon credential a read secret holds, in the deploy steps' form: `token=…` (a DC/OS token), `none` (a
 * Marathon without authentication) or `user:password`; null while the secret has no value. The value is never part
 * of an error.
 * @throws C2CError USAGE (a value of no known form), GOOGLE_* (Secret Manager)
 */
export async function readCredentialFromSecret(secret: string, options: SecretManagerOptions): Promise<MarathonAuth | null> {
  const value = await accessLatestSecret(secret, options);
  if (value === null) return null;
  const v = value.trim();
  try {
    return authFromEnv(v.startsWith('token=') ? { MARATHON_TOKEN: v.slice(6) } : v === 'none' ? {} : { MARATHON_CREDENTIALS: v });
  } catch {
    throw new C2CError('USAGE', `the latest version of ${secret} is not 'token=…', 'none' or 'user:password' (its value is not shown)`, {
      hint: `add a new version: printf %s 'user:password' | gcloud secrets versions add ${secret.split('/').pop() ?? ''} --data-file=-`,
    });
  }
}
