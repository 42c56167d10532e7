// The artifact server in the synthesized app: a Marathon app per environment that runs the program of
// scripts/artifact-server.js in the pinned slim Node image, reads the registry bucket with the cluster machines'
// account (whose one grant anywhere is objectViewer on that bucket), and is where every artifact app fetches from.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACT_SERVER_IMAGE, ARTIFACT_SERVER_PROGRAM } from '../../constructs/artifact-server';
import { platformNames } from '../../constructs/naming';
import { PINNED_IMAGE } from '../../constructs/build-steps';
import { MarathonAppDefinition } from '../../lib/marathon/app';
import { artifactBaseUrl } from '../../lib/platform';
import { ServiceDefinition } from '../../lib/catalog/types';
import { ledger } from '../fixtures/services';
import { PlatformStack } from '../../constructs/platform-stack';
import { platform, resources, resourceWhere, synthFleet, SynthJson, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const names = platformNames(platform);
const AGENTS = 'serviceAccount:mesos-agents@acme-lighting-platform.iam.gserviceaccount.com';
const timer: ServiceDefinition = {
  ...ledger,
  name: 'timer',
  repo: 'acme-lighting/timer',
  secrets: undefined,
  build: 'make',
  package: { kind: 'artifact', cmd: 'node server.js' },
};
const synthesized = synthFleet(ws.app(), ws.bundle, [ledger, timer], { clusterMembers: [AGENTS] });
const json = synthesized.stacks.platform;

/** The Marathon app a stack publishes as `templates/<name>/<env>.json`, read back as Terraform will write it. */
function template(stack: SynthJson, name: string, env: string): MarathonAppDefinition {
  const object = resourceWhere(stack, 'google_storage_bucket_object', 'name', `templates/${name}/${env}.json`);
  // Terraform reads `$${` as a literal `${` (and `%%{` as `%{`): what the object holds once applied.
  return JSON.parse(
    String(object.content)
      .replace(/\$\$\{/g, '${')
      .replace(/%%\{/g, '%{'),
  ) as MarathonAppDefinition;
}

/** `sh -c` word splitting of `exec node -e '<program>'`: the program's text. */
function programOf(cmd: string): string {
  const m = /^exec node -e '([\s\S]*)'$/.exec(cmd);
  if (!m) throw new Error(`not 'exec node -e ...': ${cmd.slice(0, 40)}`);
  return m[1].replace(/'\\''/g, "'");
}

describe.each(['staging', 'production'])('the artifact server app (%s)', (env) => {
  const app = () => template(json, 'artifacts', env);

  it('runs the program of scripts/artifact-server.js, byte for byte, in the slim Node image pinned by digest', () => {
    expect(app().id).toBe(`/${env}/artifacts`);
    expect(app().container?.docker.image).toBe(ARTIFACT_SERVER_IMAGE);
    expect(ARTIFACT_SERVER_IMAGE).toMatch(PINNED_IMAGE);
    expect(programOf(app().cmd!)).toBe(readFileSync(ARTIFACT_SERVER_PROGRAM, 'utf8'));
  });

  it('reads the registry bucket under artifacts/, on the service port of C2C_ARTIFACT_HOST, through the internal marathon-lb', () => {
    expect(app().env).toMatchObject({
      C2C_ARTIFACT_BUCKET: names.registryBucket,
      C2C_ARTIFACT_PREFIX: 'artifacts/',
      C2C_ARTIFACT_PORT: '8080',
    });
    expect(app().container?.portMappings).toEqual([
      { containerPort: 8080, hostPort: 0, servicePort: Number(platform.artifactHost.split(':')[1]), protocol: 'tcp', name: 'http' },
    ]);
    expect(app().labels).toMatchObject({ HAPROXY_GROUP: 'internal' });
    expect(app().healthChecks).toEqual([expect.objectContaining({ protocol: 'HTTP', path: '/health', portIndex: 0 })]);
  });

  it('is where the artifact services fetch from', () => {
    const fetch = template(synthesized.stacks['service-timer'], 'timer', env).fetch!;
    expect(fetch.map((f) => f.uri)).toEqual([`${artifactBaseUrl(platform)}/artifacts/timer/latest/${'0'.repeat(64)}/app.tar.gz`]);
    expect(artifactBaseUrl(platform)).toBe(`http://${platform.artifactHost}`);
  });
});

it("the machines' account, which the server runs with, holds one grant in the whole app: objectViewer on the registry bucket", () => {
  const bucketKey = Object.entries(json.resource.google_storage_bucket).find(([, b]) => b.name === names.registryBucket)![0];
  const grants = Object.values(synthesized.stacks).flatMap((stack) =>
    Object.entries(stack.resource)
      .filter(([type]) => /_iam_(member|binding)$/.test(type))
      .flatMap(([type, all]) => Object.values(all).map((r): Record<string, unknown> => ({ type, ...r })))
      .filter((r) => r.member === AGENTS || (Array.isArray(r.members) && r.members.includes(AGENTS))),
  );
  expect(grants.map((g) => [g.type, g.role, g.bucket])).toEqual([
    ['google_storage_bucket_iam_member', 'roles/storage.objectViewer', `\${google_storage_bucket.${bucketKey}.name}`],
  ]);
});

it('the marathon/ folder of the platform stack holds the apps as published', () => {
  const file = join(synthesized.outdir, 'stacks', 'platform', 'marathon', 'artifacts.production.json');
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(template(json, 'artifacts', 'production'));
  expect(resources(json, 'google_storage_bucket_object').filter((o) => String(o.name).startsWith('templates/artifacts/'))).toHaveLength(2);
});

it('an Artifact Registry backend (no bucket, no artifact server) is refused at synth while an artifact service exists', () => {
  const stack = (services: ServiceDefinition[]) =>
    new PlatformStack(ws.app(), 'platform', {
      platform,
      bundle: ws.bundle,
      services,
      connection: 'github',
      platformRepo: 'acme-lighting/commit-to-cloud',
      stacks: [{ name: 'platform', side: 'production' }],
      exampleFleet: true,
      registryBackend: 'artifact-registry',
    });
  expect(() => stack([ledger, timer])).toThrow(
    `PlatformStack: 'registryBackend' ("artifact-registry") has no bucket for artifacts and no artifact server for the cluster's fetcher, which timer need; use the 'gcs' backend`,
  );
  expect(stack([ledger]).artifactServer).toBeUndefined();
});
