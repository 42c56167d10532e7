// How the cluster is reached, in the synthesized app (one synth of a fleet with an artifact service, shared by both):
// - the artifact server: a Marathon app per environment that runs the program of scripts/artifact-server.js in the
//   pinned slim Node image, reads the registry bucket with the cluster machines' account (whose one grant anywhere is
//   objectViewer on that bucket), and is where every artifact app fetches from;
// - the private pool cannot be lost: every build that talks to Marathon or to a service names the pool
//   (`build.options.worker_pool`) AND starts with the pool check, which every other step waits for; the check itself
//   fails the build when it cannot reach a Marathon from where it runs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { join } from 'node:path';
import { ARTIFACT_SERVER_IMAGE, ARTIFACT_SERVER_PROGRAM } from '../../constructs/artifact-server';
import { DEPLOY_CLI, PINNED_IMAGE } from '../../constructs/build-steps';
import { platformNames } from '../../constructs/naming';
import { PlatformStack } from '../../constructs/platform-stack';
import { poolCheckStep, POOL_CHECK_STEP } from '../../constructs/worker-pool';
import { ServiceDefinition } from '../../lib/catalog/types';
import { MarathonAppDefinition } from '../../lib/marathon/app';
import { artifactBaseUrl } from '../../lib/platform';
import { lampApi, ledger, shopfront } from '../fixtures/services';
import { platform, resources, resourceWhere, synthFleet, SynthJson, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const names = platformNames(platform);
const AGENTS = 'serviceAccount:mesos-agents@acme-lighting-platform.iam.gserviceaccount.com';
const POOL = `projects/${platform.project}/locations/${platform.region}/workerPools/c2c-private`;
const timer: ServiceDefinition = {
  ...ledger,
  name: 'timer',
  repo: 'acme-lighting/timer',
  secrets: undefined,
  build: 'make',
  package: { kind: 'artifact', cmd: 'node server.js' },
};
const synthesized = synthFleet(ws.app(), ws.bundle, [lampApi, ledger, shopfront, timer], { clusterMembers: [AGENTS] });
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

// The private pool.
interface TriggerStep {
  id: string;
  wait_for: string[];
  env?: string[];
  secret_env?: string[];
  args: string[];
}
interface Trigger {
  name: string;
  build?: { step: TriggerStep[]; options?: { worker_pool?: string } };
}

const triggers = Object.values(synthesized.stacks).flatMap(
  (s: SynthJson) => Object.values(s.resource.google_cloudbuild_trigger ?? {}) as unknown as Trigger[],
);

/**
 * A build talks to Marathon or to a service when a step gets a service URL or a Marathon credential, or runs the deploy
 * CLI with a Marathon URL (the platform pipeline's synth also reads the Marathon URLs, as settings, and talks to neither).
 */
const talksToTheCluster = (t: Trigger) =>
  (t.build?.step ?? []).some(
    (s) =>
      (s.env ?? []).some((e) => e.startsWith('SERVICE_URL=')) ||
      (s.secret_env ?? []).some((e) => /MARATHON/.test(e)) ||
      ((s.env ?? []).some((e) => e.startsWith('MARATHON_URL_')) && s.args.join(' ').includes(DEPLOY_CLI)),
  );

/** The steps a step waits for, transitively. */
function upstream(steps: TriggerStep[], id: string, seen = new Set<string>()): Set<string> {
  const step = steps.find((s) => s.id === id)!;
  for (const w of step.wait_for) {
    if (w !== '-' && !seen.has(w)) {
      seen.add(w);
      upstream(steps, w, seen);
    }
  }
  return seen;
}

it('the builds that talk to the cluster are every service’s push, production and e2e builds, and the team’s page', () => {
  const names = triggers.filter(talksToTheCluster).map((t) => t.name);
  const expected = ['lamp-api', 'ledger', 'shopfront', 'timer'].flatMap((s) => [
    `${s}-push`,
    `${s}-production`,
    `${s}-e2e`,
    `${s}-smoke-staging`,
    `${s}-smoke-production`,
  ]);
  expected.push('c2c-page');
  expect(names.sort()).toEqual(expected.sort());
});

describe.each(triggers.filter(talksToTheCluster).map((t) => [t.name, t] as const))('%s', (_name, trigger) => {
  const steps = trigger.build!.step;

  it('names the private pool', () => expect(trigger.build!.options?.worker_pool).toBe(POOL));

  it('starts with the pool check, and no other step starts before it has passed', () => {
    expect([steps[0].id, steps[0].wait_for]).toEqual([POOL_CHECK_STEP, ['-']]);
    for (const step of steps.slice(1)) {
      expect([step.id, step.wait_for.includes('-'), upstream(steps, step.id).has(POOL_CHECK_STEP)]).toEqual([step.id, false, true]);
    }
  });

  it('checks Marathons the build itself names', () => {
    const targets = steps[0]
      .env!.find((e) => e.startsWith('C2C_POOL_CHECK_TARGETS='))!
      .split('=')[1]
      .split(' ');
    const named = new Set(steps.flatMap((s) => (s.env ?? []).filter((e) => e.startsWith('MARATHON_URL_')).map((e) => e.split('=')[1])));
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect([...named, ...Object.values(platform.marathonUrls)]).toContain(t);
  });
});

it('the production build needs only production’s Marathon: a staging outage cannot block a production deploy', () => {
  const production = triggers.find((t) => t.name === 'ledger-production')!;
  expect(production.build!.step[0].env).toContain(`C2C_POOL_CHECK_TARGETS=${platform.marathonUrls.production}`);
});

describe('the pool check, run as the step runs it', () => {
  let open: Server;
  let openPort: number;
  let closedPort: number;
  beforeAll(async () => {
    open = createServer((s) => s.end());
    await new Promise<void>((r) => open.listen(0, '127.0.0.1', r));
    openPort = (open.address() as { port: number }).port;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    closedPort = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
  });
  afterAll(() => new Promise((r) => open.close(r)));

  const run = (targets: string[]) => {
    const step = poolCheckStep(POOL, targets);
    const env = Object.fromEntries(step.env!.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return spawnSync('node', step.args, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  };

  it('passes when every Marathon answers (as from inside the pool)', () => {
    const r = run([`http://127.0.0.1:${openPort}`]);
    expect([r.status, r.stdout.trim()]).toEqual([0, `in-private-pool: reached 127.0.0.1:${openPort} from ${POOL}`]);
  });

  it('fails the build, naming the pool and the provider issue, when one cannot be reached (as from the default pool)', () => {
    const r = run([`http://127.0.0.1:${openPort}`, `http://127.0.0.1:${closedPort}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`in-private-pool: cannot reach 127.0.0.1:${closedPort}: connect ECONNREFUSED`);
    expect(r.stderr).toContain(`does not run in the private pool ${POOL}`);
    expect(r.stderr).toContain('hashicorp/terraform-provider-google#18731');
  });
});
