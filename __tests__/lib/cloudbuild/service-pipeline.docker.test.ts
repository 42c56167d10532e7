// An image service's push and production triggers, as synthesized, through the executor against two local Marathons:
// build, image (registry side-car stand-in), staging deploy, smoke test, production plan (signed commit), upload,
// notice; then the approval by a second listed identity through the Cloud Build stand-in, and the production apply.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { GoogleStandIn, startGoogleStandIn } from '../../../lib/cloudbuild/google-stand-in';
import { RELAY_LABEL, removeBuildNetwork } from '../../../lib/cloudbuild/network';
import { googleRouting } from '../../../lib/cloudbuild/stand-in-routes';
import { BuildResult, STEP_LABEL } from '../../../lib/cloudbuild/step-runner';
import {
  approveAs,
  publishBundle,
  runProduction,
  runPush,
  ServiceRunSetup,
  synthesizedMarathonHosts,
} from '../../../lib/cloudbuild/service-run';
import { readTriggers, ReadTrigger } from '../../../lib/cloudbuild/triggers';
import { ensureBaseImage } from '../../../lib/docker/base-image';
import { removeContainersWithLabel } from '../../../lib/docker/containers';
import { testKeys } from '../../helpers/keys';

const root = join(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'c2c-svc-pipeline-'));
const ANA = 'ana@acme-lighting.example';
const BEN = 'ben@acme-lighting.example';
const saved = { ...process.env };
let triggers: ReadTrigger[];
let google: GoogleStandIn;
let marathons: Record<'staging' | 'production', LocalMarathon>;
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
  Object.assign(process.env, {
    CDKTF_OUTDIR: join(dir, 'cdktf.out'),
    C2C_DEPLOY_BUNDLE: bundle,
    C2C_STATE_BUCKET: 't',
    C2C_CLOUDBUILD_CONNECTION: 'gh',
    // The registry the agents pull from: the side-car's published port, as the local Marathon's engine sees it.
    C2C_REGISTRY_HOST: 'localhost:5000',
  });
  jest.isolateModules(() => require('../../../main'));
  process.env = saved;
  triggers = readTriggers(join(dir, 'cdktf.out'));
  google = await startGoogleStandIn(join(dir, 'google'));
  await new Promise<void>((r) => chat.listen(0, '127.0.0.1', r));
  // The local Marathons accept the names the synth wrote (marathon.staging.internal, ...), as the relays send them.
  const hosts = synthesizedMarathonHosts(triggers);
  marathons = {
    staging: await startLocalMarathon({ allowedHosts: hosts.staging }),
    production: await startLocalMarathon({ allowedHosts: hosts.production }),
  };
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([marathons?.staging.close(), marathons?.production.close(), google?.close()]);
  chat.close();
  await removeContainersWithLabel(STEP_LABEL);
  await removeContainersWithLabel(RELAY_LABEL);
  await removeBuildNetwork();
  // The image the synthesized docker-build step made (its tags carry no label of ours: the step is run as synthesized).
  const tags = spawnSync('docker', ['images', 'localhost:5000/bulb-api', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' });
  const made = tags.stdout.split('\n').filter((t) => t !== '');
  if (made.length > 0) spawnSync('docker', ['rmi', '-f', ...made]);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

/** The service's checkout: the starter files, FROM the local base image, its allowed signers, one commit signed by Ana. */
async function checkout(): Promise<{ path: string; sha: string }> {
  const path = join(dir, 'bulb-api');
  cpSync(join(root, 'templates/service-repo'), path, { recursive: true });
  const base = (await ensureBaseImage()).image;
  const dockerfile = readFileSync(join(path, 'Dockerfile'), 'utf8').replace(/^ARG BASE_IMAGE=.*$/m, `ARG BASE_IMAGE=${base}`);
  writeFileSync(join(path, 'Dockerfile'), dockerfile);
  const keys = testKeys(join(dir, 'keys'), [ANA, BEN]);
  mkdirSync(join(path, 'security'), { recursive: true });
  cpSync(keys.allowedSigners, join(path, 'security/allowed_signers'));
  const git = (args: string[]) => execFileSync('git', ['-C', path, ...args], { encoding: 'utf8' }).trim();
  git(['init', '-q', '-b', 'main']);
  git(['add', '-A']);
  git(['-c', `user.email=${ANA}`, '-c', 'user.name=Ana', '-c', 'gpg.format=ssh', '-c', `user.signingkey=${keys.key(ANA)}`, 'commit', '-qS', '-m', 'bulb-api']); // prettier-ignore
  return { path, sha: git(['rev-parse', 'HEAD']) };
}

function secretsOf(trigger: ReadTrigger, webhook: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of trigger.build.availableSecrets?.secretManager ?? []) m.set(s.env, s.env === 'C2C_NOTIFY_WEBHOOK' ? webhook : 'none');
  return m;
}

function summary(r: BuildResult): string {
  return r.steps.map((s) => `${s.key}: ${s.status}${s.status === 'ok' ? '' : `\n${s.logTail}`}`).join('\n');
}

it("runs bulb-api's push trigger (image, staging, smoke, plan, upload, notice) and, approved by a second listed identity, its production trigger", async () => {
  const source = await checkout();
  const push = triggers.find((t) => t.name === 'bulb-api-push')!;
  const setup: ServiceRunSetup = {
    triggers,
    google,
    routing: await googleRouting(google, dir),
    marathons: { staging: marathons.staging.url, production: marathons.production.url },
    work: dir,
    secrets: secretsOf(push, 'http://chat.example.internal/hook'),
    routes: [{ names: ['chat.example.internal'], port: 80, target: { host: '127.0.0.1', port: (chat.address() as AddressInfo).port } }],
    mounts: [`${join(homedir(), '.npm')}:/root/.npm`],
  };
  const generation = await publishBundle(setup, 'bulb-api', readFileSync(join(dir, 'deploy-bundle.cjs')));
  const pushed = await runPush(setup, 'bulb-api', source, generation, `push-${process.pid}`);
  expect(summary(pushed.result)).toBe(push.build.steps.map((s) => `${s.id}: ok`).join('\n'));
  expect(pushed.result.steps.find((s) => s.key === 'registry-sidecar')!.note).toMatch(
    /^stood in: mirror.gcr.io\/library\/registry:2.8.3 ran as/,
  );
  expect(pushed.planObject).toMatch(/^plans\/bulb-api\/production\/[0-9a-f]{64}\.json$/);
  // The plan's author is the verified signer of the commit (git and ssh-keygen in the node:20 stand-in).
  expect(readFileSync(join(pushed.workspace, 'production.plan.json'), 'utf8')).toContain(ANA);
  expect(posted.join('\n')).toContain('bulb-api');

  // The author cannot approve; a rejection never runs the build.
  const production = triggers.find((t) => t.name === 'bulb-api-production')!;
  await expect(
    runProduction(setup, 'bulb-api', source, generation, pushed.planObject!, `rejected-${process.pid}`, (url) =>
      approveAs(url, google.tokenFor(BEN), 'REJECTED'),
    ),
  ).rejects.toThrow(/is REJECTED, not APPROVED: it does not run/);
  const applied = await runProduction(setup, 'bulb-api', source, generation, pushed.planObject!, `production-${process.pid}`, (url) =>
    approveAs(url, google.tokenFor(BEN)),
  );
  expect(summary(applied)).toBe(production.build.steps.map((s) => `${s.id}: ok`).join('\n'));
  // The figures docs/pipeline.md quotes (push to a smoke-tested staging; approval to a smoke-tested production).
  process.stderr.write(
    `figures: push-to-staging ${pushed.stagingSeconds?.toFixed(1)} s (push build ${pushed.result.seconds.toFixed(1)} s); click-to-production ${applied.seconds.toFixed(1)} s\n`,
  );
  const app = (await (await fetch(`${marathons.production.url}/v2/apps/production/bulb-api`)).json()) as {
    app: { tasksRunning: number; container: { docker: { image: string } } };
  };
  expect(app.app.container.docker.image).toMatch(/^localhost:5000\/bulb-api:[0-9a-f]{7}@sha256:[0-9a-f]{64}$/);
  expect(app.app.tasksRunning).toBe(3);
}, 900_000);
