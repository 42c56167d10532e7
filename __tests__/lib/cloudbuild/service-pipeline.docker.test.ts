// An image service's push and production triggers, as synthesized, through the executor against two local Marathons:
// build, image (registry side-car stand-in), staging deploy, smoke test, production plan (signed commit), upload,
// notice; then the approval by a second listed identity through the Cloud Build stand-in, and the production apply.
// Then the artifact service's: make, the tarball uploaded to the registry bucket, deployed by its artifact server's
// URL, which the local Marathons' fetchers reach (the synthesized artifact server runs here, reading the Storage
// stand-in; the fetchers' connection table stands in for the agents' DNS), checksum-verified before the task starts.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { GoogleStandIn } from '../../../lib/cloudbuild/google-stand-in';
import { BuildResult, prepareBuild, RunEvent } from '../../../lib/cloudbuild/step-runner';
import { LocalArtifactServer, startArtifactServer } from '../../../lib/cloudbuild/artifact-server';
import { approveAs, publishBundle, runApproved, runPush, ServiceRunSetup } from '../../../lib/cloudbuild/service-run';
import { ServiceRuns, startServiceRuns } from '../../../lib/cloudbuild/service-setup';
import { ReadTrigger, StorageNotification } from '../../../lib/cloudbuild/triggers';
import { synthesize } from '../../../constructs/synth';
import { ensureBaseImage } from '../../../lib/docker/base-image';
import { testKeys } from '../../helpers/keys';

const root = join(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'c2c-svc-pipeline-'));
const ANA = 'ana@acme-lighting.example';
const BEN = 'ben@acme-lighting.example';
let triggers: readonly ReadTrigger[];
let notifications: readonly StorageNotification[];
let keys: ReturnType<typeof testKeys>;
let google: GoogleStandIn;
let runs: ServiceRuns;
let setup: ServiceRunSetup;
/** What the running test watches of the builds' steps. */
let watch: (build: string, e: RunEvent) => void = () => undefined;
let marathons: Record<'staging' | 'production', LocalMarathon>;
let artifacts: LocalArtifactServer;
/** What the artifact server logged (one line per request). */
const served: string[] = [];
const posted: string[] = [];
const chat = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => (posted.push(body), res.end('ok')));
});

beforeAll(async () => {
  const bundle = join(dir, 'deploy-bundle.cjs');
  execFileSync('node', ['-e', `import('./scripts/build.mjs').then((m) => m.buildDeployBundle({ outfile: ${JSON.stringify(bundle)} }))`], {
    cwd: root,
  });
  // The platform repository lists Ana and Ben (security/allowed_signers): the platform stack publishes that list.
  keys = testKeys(join(dir, 'keys'), [ANA, BEN]);
  const platformRoot = join(dir, 'platform-repo');
  mkdirSync(join(platformRoot, 'security'), { recursive: true });
  cpSync(keys.allowedSigners, join(platformRoot, 'security/allowed_signers'));
  symlinkSync(join(root, 'templates'), join(platformRoot, 'templates'));
  const outdir = join(dir, 'cdktf.out');
  const env = {
    C2C_DEPLOY_BUNDLE: bundle,
    C2C_STATE_BUCKET: 't',
    C2C_CLOUDBUILD_CONNECTION: 'gh',
    // The registry the agents pull from: the side-car's published port, as the local Marathon's engine sees it.
    C2C_REGISTRY_HOST: 'localhost:5000',
  };
  synthesize(env, { root: platformRoot, outdir });
  await new Promise<void>((r) => chat.listen(0, '127.0.0.1', r));
  // What the platform's apply creates from its configuration (the allowed-signers object), then the triggers as they
  // read once it is applied (C2C_PLATFORM_SIGNERS names that object's generation); the local Marathons accept the names
  // the synth wrote (marathon.staging.internal, ...), as the relays send them.
  runs = await startServiceRuns({
    outdir,
    work: dir,
    marathons: async (hosts, applied) => {
      // The platform's artifact server as synthesized, reading the Storage stand-in; the fetchers reach it under the
      // name the builds write into artifact URIs (the connection table stands in for the agents' DNS and marathon-lb).
      artifacts = await startArtifactServer({
        outdir,
        triggers: applied.triggers,
        googleUrl: applied.google.url,
        log: (l) => served.push(l),
      });
      marathons = {
        staging: await startLocalMarathon({ allowedHosts: [...hosts.staging], fetcherConnectTo: [...artifacts.connectTo] }),
        production: await startLocalMarathon({ allowedHosts: [...hosts.production], fetcherConnectTo: [...artifacts.connectTo] }),
      };
      return { staging: marathons.staging.url, production: marathons.production.url };
    },
    chatUrl: `http://127.0.0.1:${(chat.address() as AddressInfo).port}/hook`,
    mounts: [`${join(homedir(), '.npm')}:/root/.npm`],
    // A network of the test's own in place of cloudbuild: another executor run on a shared engine keeps its names.
    network: `cloudbuild-t${process.pid}`,
    onEvent: (build, e) => watch(build, e),
  });
  ({ setup, google } = runs);
  ({ triggers, notifications } = setup);
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([marathons?.staging.close(), marathons?.production.close(), artifacts?.close()]);
  chat.close();
  // Each build removes its step containers itself, and runs.close() the relays: nothing else on a shared engine (another
  // run's builds and relays carry the same labels) is touched.
  await runs?.close();
  // The image the synthesized docker-build step made (its tags carry no label of ours: the step is run as synthesized).
  const tags = spawnSync('docker', ['images', 'localhost:5000/bulb-api', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' });
  const made = tags.stdout.split('\n').filter((t) => t !== '');
  if (made.length > 0) spawnSync('docker', ['rmi', '-f', ...made]);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

/**
 * The service's checkout: the starter files, FROM the local base image, one commit signed by Ana. It lists no signer
 * of its own: the plan step can only know Ana from the platform's published list.
 */
async function checkout(): Promise<{ path: string; sha: string }> {
  const path = join(dir, 'bulb-api');
  cpSync(join(root, 'templates/service-repo'), path, { recursive: true });
  const base = (await ensureBaseImage()).image;
  const dockerfile = readFileSync(join(path, 'Dockerfile'), 'utf8').replace(/^ARG BASE_IMAGE=.*$/m, `ARG BASE_IMAGE=${base}`);
  writeFileSync(join(path, 'Dockerfile'), dockerfile);
  return signedCommit(path);
}

/** `git init` and one commit of everything in `path`, signed by Ana. */
function signedCommit(path: string): { path: string; sha: string } {
  const git = (args: string[]) => execFileSync('git', ['-C', path, ...args], { encoding: 'utf8' }).trim();
  git(['init', '-q', '-b', 'main']);
  git(['add', '-A']);
  git(['-c', `user.email=${ANA}`, '-c', 'user.name=Ana', '-c', 'gpg.format=ssh', '-c', `user.signingkey=${keys.key(ANA)}`, 'commit', '-qS', '-m', 'bulb-api']); // prettier-ignore
  return { path, sha: git(['rev-parse', 'HEAD']) };
}

function summary(r: BuildResult): string {
  return r.steps.map((s) => `${s.key}: ${s.status}${s.status === 'ok' ? '' : `\n${s.logTail}`}`).join('\n');
}

/** The step ids of a trigger's build, each ok. */
const allOk = (t: ReadTrigger) => t.build.steps.map((x) => `${x.id}: ok`).join('\n');

it('every synthesized trigger asks for MUST_MATCH, and every build passes that check with the substitutions its trigger defines', () => {
  expect(triggers.length).toBeGreaterThan(20);
  const kinds = new Set<string>();
  for (const t of triggers) {
    expect([t.name, t.build.options?.substitutionOption]).toEqual([t.name, 'MUST_MATCH']);
    const context = { projectId: t.project, location: t.location, buildId: 'check', commitSha: '0'.repeat(40), triggerName: t.name, branchName: 'main' }; // prettier-ignore
    // A used key the trigger does not define, or one it defines and no step uses, would throw here (and in the cloud).
    expect(() => prepareBuild(t.build, { context, triggered: true })).not.toThrow();
    kinds.add(t.name.replace(/^(bulb-api|billing|storefront|light-schedules|c2c-platform|platform)-/, ''));
  }
  process.stderr.write(`substitutions checked (MUST_MATCH) for ${triggers.length} triggers: ${[...kinds].sort().join(', ')}\n`);
});

it("runs bulb-api's push trigger, the staging smoke build its staged plan starts, and, approved by a second listed identity, the production build and its smoke build", async () => {
  const source = await checkout();
  const byName = (n: string) => triggers.find((t) => t.name === n)!;
  const push = byName('bulb-api-push');
  const deployBucket = notifications[0].bucket;
  // What the deploy bucket holds under plans/ when the staging smoke step ends (the plan must not be there yet).
  let plansWhenSmoked: string[] | undefined;
  watch = (build, e) => {
    if (build === 'bulb-api-smoke-staging' && e.type === 'finished' && e.result.key === 'smoke-staging')
      plansWhenSmoked = google.objects(deployBucket).filter((o) => o.startsWith('plans/'));
  };
  const generation = await publishBundle(setup, 'bulb-api', readFileSync(join(dir, 'deploy-bundle.cjs')));
  const pushed = await runPush(setup, 'bulb-api', source, generation, `push-${process.pid}`);
  expect(summary(pushed.result)).toBe(allOk(push));
  expect(pushed.result.steps.find((s) => s.key === 'registry-sidecar')!.note).toMatch(
    /^stood in: mirror.gcr.io\/library\/registry:2.8.3 ran as/,
  );
  // The plan's author is the commit's signer, verified against the platform's list (the checkout lists nobody).
  expect(readFileSync(join(pushed.workspace, 'production.plan.json'), 'utf8')).toContain(ANA);
  expect(posted.join('\n')).toContain('bulb-api');
  // The staged plan started the staging smoke build (and nothing else); its steps all ran ok.
  expect(pushed.started.map((b) => [b.trigger, b.object])).toEqual([
    ['bulb-api-smoke-staging', expect.stringMatching(/^staged\/bulb-api\/production\/[0-9a-f]{64}\.json$/)],
  ]);
  expect(summary(pushed.started[0].result)).toBe(allOk(byName('bulb-api-smoke-staging')));
  // The plan reached plans/ only after the smoke test, and that object is what started the production build.
  expect(plansWhenSmoked).toEqual([]);
  expect(pushed.planObject).toMatch(/^plans\/bulb-api\/production\/[0-9a-f]{64}\.json$/);
  expect(pushed.pending.map((p) => p.trigger.name)).toEqual(['bulb-api-production']);
  expect(pushed.pending[0].substitutions._PLAN_OBJECT).toBe(pushed.planObject);

  // A rejection never runs the build: Marathon's production app does not exist afterwards.
  await expect(
    runApproved(setup, 'bulb-api', source, generation, pushed.pending[0], `rejected-${process.pid}`, (url) =>
      approveAs(url, google.tokenFor(BEN), 'REJECTED'),
    ),
  ).rejects.toThrow(/is REJECTED, not APPROVED: it does not run/);
  expect((await fetch(`${marathons.production.url}/v2/apps/production/bulb-api`)).status).toBe(404);
  expect(google.objects(deployBucket).filter((o) => o.startsWith('smoke/'))).toEqual([]);
  const applied = await runApproved(setup, 'bulb-api', source, generation, pushed.pending[0], `production-${process.pid}`, (url) =>
    approveAs(url, google.tokenFor(BEN)),
  );
  expect(summary(applied.result)).toBe(allOk(byName('bulb-api-production')));
  expect(applied.started.map((b) => [b.trigger, b.object])).toEqual([
    ['bulb-api-smoke-production', `smoke/bulb-api/production/production-${process.pid}.json`],
  ]);
  expect(summary(applied.started[0].result)).toBe(allOk(byName('bulb-api-smoke-production')));
  // The figures docs/pipeline.md quotes (push to a smoke-tested staging; approval to a smoke-tested production).
  process.stderr.write(
    `figures: push-to-staging ${pushed.stagingSeconds?.toFixed(1)} s (push build ${pushed.result.seconds.toFixed(1)} s, smoke-staging ${pushed.started[0].result.seconds.toFixed(1)} s); click-to-production ${applied.seconds.toFixed(1)} s (production build ${applied.result.seconds.toFixed(1)} s)\n`,
  );
  const app = (await (await fetch(`${marathons.production.url}/v2/apps/production/bulb-api`)).json()) as {
    app: { tasksRunning: number; container: { docker: { image: string } } };
  };
  expect(app.app.container.docker.image).toMatch(/^localhost:5000\/bulb-api:[0-9a-f]{7}@sha256:[0-9a-f]{64}$/);
  expect(app.app.tasksRunning).toBe(3);
}, 900_000);

/** The artifact service's checkout: the artifact starter files, one commit signed by Ana. */
function artifactCheckout(): { path: string; sha: string } {
  const path = join(dir, 'light-schedules');
  cpSync(join(root, 'templates/artifact-repo'), path, { recursive: true });
  return signedCommit(path);
}

interface ArtifactApp {
  app: { fetch: { uri: string }[]; labels: Record<string, string>; tasksRunning: number; tasksHealthy: number; container?: unknown };
}

it("runs light-schedules' push trigger (the artifact through the synthesized artifact server), its smoke builds and, approved, production", async () => {
  const source = artifactCheckout();
  const byName = (n: string) => triggers.find((t) => t.name === n)!;
  const push = byName('light-schedules-push');
  const generation = await publishBundle(setup, 'light-schedules', readFileSync(join(dir, 'deploy-bundle.cjs')));
  const pushed = await runPush(setup, 'light-schedules', source, generation, `art-push-${process.pid}`);
  expect(summary(pushed.result)).toBe(allOk(push));
  // What the build deployed: the artifact server's synthesized URL for the object it uploaded, and the file's SHA-256.
  const uri = readFileSync(join(pushed.workspace, 'artifact.uri'), 'utf8').trim();
  const sha256 = readFileSync(join(pushed.workspace, 'artifact.sha256'), 'utf8').trim();
  expect(sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(uri).toBe(`http://artifacts.marathon.internal:5001/artifacts/light-schedules/${source.sha}/${sha256}/app.tar.gz`);
  const registry = push.build.steps
    .find((s) => s.id === 'upload-artifact')!
    .args!.join(' ')
    .match(/gs:\/\/([^/]+)\//)![1];
  expect(google.objects(registry)).toContain(`artifacts/light-schedules/${source.sha}/${sha256}/app.tar.gz`);
  // Marathon holds the synthesized URI as the build gave it; its fetcher got the object through the artifact server.
  const staged = (await (await fetch(`${marathons.staging.url}/v2/apps/staging/light-schedules`)).json()) as ArtifactApp;
  expect(staged.app.fetch.map((f) => f.uri)).toEqual([uri]);
  expect(staged.app.container).toBeUndefined();
  expect(staged.app.tasksRunning).toBeGreaterThan(0);
  expect(served).toContain(`GET ${new URL(uri).pathname} 200`);
  // The staged plan started the staging smoke build; the plan it handed on waits for the production build's approval.
  expect(pushed.started.map((b) => b.trigger)).toEqual(['light-schedules-smoke-staging']);
  expect(summary(pushed.started[0].result)).toBe(allOk(byName('light-schedules-smoke-staging')));
  expect(pushed.pending.map((p) => p.trigger.name)).toEqual(['light-schedules-production']);
  const applied = await runApproved(
    setup,
    'light-schedules',
    source,
    generation,
    pushed.pending[0],
    `art-production-${process.pid}`,
    (url) => approveAs(url, google.tokenFor(BEN)),
  );
  expect(summary(applied.result)).toBe(allOk(byName('light-schedules-production')));
  expect(applied.started.map((b) => b.trigger)).toEqual(['light-schedules-smoke-production']);
  expect(summary(applied.started[0].result)).toBe(allOk(byName('light-schedules-smoke-production')));
  const live = (await (await fetch(`${marathons.production.url}/v2/apps/production/light-schedules`)).json()) as ArtifactApp;
  expect(live.app.fetch.map((f) => f.uri)).toEqual([uri]);
  expect(live.app.tasksRunning).toBe(2);
  process.stderr.write(
    `figures (artifact): push-to-staging ${pushed.stagingSeconds?.toFixed(1)} s (push build ${pushed.result.seconds.toFixed(1)} s); click-to-production ${applied.seconds.toFixed(1)} s\n`,
  );
}, 900_000);
