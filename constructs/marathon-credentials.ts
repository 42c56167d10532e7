import { Construct } from 'constructs';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { MarathonSecretRefs } from './naming';

/** Props of {@link MarathonCredentials}. */
export interface MarathonCredentialsProps {
  /** Google Cloud project. */
  readonly project: string;
  /** Member (`serviceAccount:...`) of the push trigger's account: reads the staging and the read-only production secret. */
  readonly pushMember: string;
  /** Member of the production trigger's account: the only reader of the production secret. */
  readonly productionMember: string;
  /**
   * Prefix of the secret ids.
   * @default 'c2c-marathon'
   */
  readonly prefix?: string;
}

/** The secret ids {@link MarathonCredentials} declares, by use. */
export function marathonSecretIds(prefix = 'c2c-marathon'): Record<keyof MarathonSecretRefs, string> {
  return { staging: `${prefix}-staging`, productionRead: `${prefix}-production-read`, production: `${prefix}-production` };
}

/**
 * Marathon credentials in Secret Manager, one secret per use, each readable by exactly one build account:
 * - `c2c-marathon-staging`: staging, read and write, for the push trigger (deploy to staging);
 * - `c2c-marathon-production-read`: production, read only, for the push trigger (the production plan reads live state);
 * - `c2c-marathon-production`: production, read and write, for the production trigger only.
 * Terraform declares the secrets and who may read them; the values (`user:password` or a DC/OS token) are added once
 * by a person (`gcloud secrets versions add`), so no credential is ever in Terraform state, substitutions or logs.
 * Builds read them through `availableSecrets` (Cloud Build resolves the version when the build starts).
 */
export class MarathonCredentials extends Construct {
  /** The secrets, by use. */
  readonly secrets: Readonly<Record<keyof MarathonSecretRefs, SecretManagerSecret>>;
  /** Version names (`.../versions/latest`) for `availableSecrets`, by use (references). */
  readonly refs: MarathonSecretRefs;
  /** The same version names as literals, for other stacks (ordered after this one as a whole). */
  readonly versionNames: MarathonSecretRefs;

  constructor(scope: Construct, id: string, props: MarathonCredentialsProps) {
    super(scope, id);
    const ids = marathonSecretIds(props.prefix);
    const readers: Record<keyof MarathonSecretRefs, string> = {
      staging: props.pushMember,
      productionRead: props.pushMember,
      production: props.productionMember,
    };
    const secrets = {} as Record<keyof MarathonSecretRefs, SecretManagerSecret>;
    const refs = {} as Record<keyof MarathonSecretRefs, string>;
    for (const use of Object.keys(ids) as (keyof MarathonSecretRefs)[]) {
      const secret = new SecretManagerSecret(this, ids[use], {
        project: props.project,
        secretId: ids[use],
        replication: { auto: {} },
        labels: { 'managed-by': 'commit-to-cloud', purpose: 'marathon-credentials' },
      });
      new SecretManagerSecretIamMember(this, `${ids[use]}-accessor`, {
        project: props.project,
        secretId: secret.secretId,
        role: 'roles/secretmanager.secretAccessor',
        member: readers[use],
      });
      secrets[use] = secret;
      refs[use] = `${secret.id}/versions/latest`;
    }
    this.secrets = secrets;
    this.refs = refs;
    const names = {} as Record<keyof MarathonSecretRefs, string>;
    for (const use of Object.keys(ids) as (keyof MarathonSecretRefs)[])
      names[use] = `projects/${props.project}/secrets/${ids[use]}/versions/latest`;
    this.versionNames = names;
  }
}
