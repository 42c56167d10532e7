/**
 * How a build here reaches the Google stand-in under Google's own names, so that the synthesized steps run unchanged:
 * `metadata.google.internal` (port 80, the metadata server's name, which Google's client libraries and the deploy CLI
 * default to) and `storage.googleapis.com` / `cloudbuild.googleapis.com` (port 443, TLS with a certificate made for
 * the run and trusted by the steps' Node through `NODE_EXTRA_CA_CERTS`). No endpoint of a step is overridden: the
 * deploy CLI's `C2C_STORAGE_URL` and `C2C_METADATA_URL` stay unset, and the production gate's refusal of
 * `C2C_CLOUDBUILD_BASE_URL` holds (it reads `https://cloudbuild.googleapis.com`, answered here by the stand-in).
 * A tool that does not read `NODE_EXTRA_CA_CERTS` (curl, the Cloud SDK) would refuse the certificate: none of the
 * runnable steps uses one against Google.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GoogleStandIn } from './google-stand-in';
import { HostRoute, makeStandInCertificate, targetOf } from './network';

/** The Google API host names answered over TLS. */
export const GOOGLE_API_NAMES = ['storage.googleapis.com', 'cloudbuild.googleapis.com'] as const;
/** Where steps find the stand-in's certificate. */
export const STAND_IN_CA_PATH = '/etc/c2c-standin/ca.pem';

/** What runBuild needs so its steps reach the stand-in: routes, the certificate's mount, its env. */
export interface GoogleRouting {
  readonly routes: HostRoute[];
  readonly mounts: string[];
  readonly env: Record<string, string>;
}

/** Routes to `google` under Google's names; the certificate is written into `dir` (mounted read-only into steps). */
export async function googleRouting(google: Pick<GoogleStandIn, 'url'>, dir: string): Promise<GoogleRouting> {
  const cert = await makeStandInCertificate(GOOGLE_API_NAMES);
  const file = join(dir, 'c2c-standin-ca.pem');
  writeFileSync(file, cert.cert);
  const target = targetOf(google.url);
  return {
    routes: [
      { names: ['metadata.google.internal'], port: 80, target },
      { names: [...GOOGLE_API_NAMES], port: 443, target, tls: cert },
    ],
    mounts: [`${file}:${STAND_IN_CA_PATH}:ro`],
    env: { NODE_EXTRA_CA_CERTS: STAND_IN_CA_PATH },
  };
}
