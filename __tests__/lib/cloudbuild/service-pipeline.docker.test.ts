// An image service's push and production triggers, as synthesized, through the executor against two local Marathons:
// build, image (registry side-car stand-in), staging deploy, smoke test, production plan (signed commit), upload,
// notice; then the approval by a second listed identity through the Cloud Build stand-in, and the production apply.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { GoogleStandIn, startGoogleStandIn } from '../../../lib/cloudbuild/google-stand-in';
import { RELAY_LABEL, removeBuildNetwork } from '../../../lib/cloudbuild/network';
import { googleRouting } from '../../../lib/cloudbuild/stand-in-routes';
import { BuildResult, runBuild, RunOptions, STEP_LABEL } from '../../../lib/cloudbuild/step-runner';
import { readTriggers, ReadTrigger } from '../../../lib/cloudbuild/triggers';
import { ensureBaseImage } from '../../../lib/docker/base-image';
import { removeContainersWithLabel } from '../../../lib/docker/containers';
import { marathonAppId } from '../../../lib/marathon/render';
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

/** The host port of the first task of an app (its first port), as marathon-lb would route to it. */
async function taskPort(m: LocalMarathon, appId: string): Promise<{ host: string; port: number }> {
  const r = (await (await fetch(`${m.url}/v2/apps${appId}/tasks`)).json()) as { tasks: { ports: number[] }[] };
  return { host: '127.0.0.1', port: r.tasks[0].ports[0] };
}

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
  marathons = {
    staging: await startLocalMarathon({ allowedHosts: ['marathon.staging.internal'] }),
    production: await startLocalMarathon({ allowedHosts: ['marathon.production.internal'] }),
  };
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([marathons?.staging.close(), marathons?.production.close(), google?.close()]);
  chat.close();
  await removeContainersWithLabel(STEP_LABEL);
  await removeContainersWithLabel(RELAY_LABEL);
  await removeBuildNetwork();
  spawnSync('docker', ['rmi', 'localhost:5000/bulb-api:latest']);
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
  const bundleName = push.build.substitutions!._C2C_BUNDLE;
  const up = await fetch(
    `${google.url}/upload/storage/v1/b/acme-lighting-platform-c2c-deploy/o?uploadType=media&name=${encodeURIComponent(bundleName)}&ifGenerationMatch=0`,
    { method: 'POST', headers: { authorization: `Bearer ${google.buildToken}` }, body: readFileSync(join(dir, 'deploy-bundle.cjs')) },
  );
  const generation = ((await up.json()) as { generation: string }).generation;
  const routing = await googleRouting(google, dir);
  const chatPort = (chat.address() as AddressInfo).port;
  const common = (trigger: ReadTrigger, buildId: string): RunOptions => ({
    workspace: join(dir, buildId),
    context: { projectId: trigger.project, location: trigger.location, buildId, commitSha: source.sha, triggerName: trigger.name, branchName: 'main' },
    secrets: secretsOf(trigger, 'http://chat.example.internal/hook'),
    standInEnv: routing.env,
    mounts: [...routing.mounts, `${join(homedir(), '.npm')}:/root/.npm`],
    routes: [
      ...routing.routes,
      { names: ['marathon.staging.internal'], port: 8080, target: { host: '127.0.0.1', port: Number(new URL(marathons.staging.url).port) } },
      { names: ['marathon.production.internal'], port: 8080, target: { host: '127.0.0.1', port: Number(new URL(marathons.production.url).port) } },
      { names: ['bulb-api.staging.marathon.internal'], port: 80, target: () => taskPort(marathons.staging, marathonAppId('bulb-api', 'staging')) },
      { names: ['bulb-api.production.marathon.internal'], port: 80, target: () => taskPort(marathons.production, marathonAppId('bulb-api', 'production')) },
      { names: ['chat.example.internal'], port: 80, target: { host: '127.0.0.1', port: chatPort } },
    ],
  }); // prettier-ignore

  const pushOpts = common(push, `push-${process.pid}`);
  cpSync(source.path, pushOpts.workspace, { recursive: true });
  const started = Date.now();
  let staged = 0;
  const pushed = await runBuild(push.build, {
    ...pushOpts,
    substitutions: { _C2C_BUNDLE_GENERATION: generation },
    onEvent: (e) => (e.type === 'finished' && e.result.key === 'smoke-staging' ? (staged = Date.now()) : undefined),
  });
  expect(summary(pushed)).toBe(push.build.steps.map((s) => `${s.id}: ok`).join('\n'));
  expect(pushed.steps.find((s) => s.key === 'registry-sidecar')!.note).toMatch(/^stood in: mirror.gcr.io\/library\/registry:2.8.3 ran as/);
  const plans = readdirSync(join(dir, 'google', 'acme-lighting-platform-c2c-deploy')).map(decodeURIComponent);
  const planObject = plans.find((p) => p.startsWith('plans/bulb-api/'))!.replace(/#\d+$/, '');
  const plan = JSON.parse(readFileSync(join(pushOpts.workspace, 'production.plan.json'), 'utf8')) as { commit?: { author?: string } };
  expect(JSON.stringify(plan)).toContain(ANA);
  expect(posted.join('\n')).toContain('bulb-api');

  const production = triggers.find((t) => t.name === 'bulb-api-production')!;
  const buildId = `production-${process.pid}`;
  // As Cloud Build records it: the build's substitutions carry the plan object the Pub/Sub message named.
  google.addBuild({ project: production.project, location: production.location, id: buildId, substitutions: { _PLAN_OBJECT: planObject } });
  const approve = await fetch(
    `${google.url}/v1/projects/${production.project}/locations/${production.location}/builds/${buildId}:approve`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${google.tokenFor(BEN)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ approvalResult: { decision: 'APPROVED' } }),
    },
  );
  expect(approve.status).toBe(200);
  const prodOpts = common(production, buildId);
  cpSync(source.path, prodOpts.workspace, { recursive: true });
  const applied = await runBuild(production.build, {
    ...prodOpts,
    substitutions: { _C2C_BUNDLE_GENERATION: generation, _PLAN_OBJECT: planObject },
  });
  expect(summary(applied)).toBe(production.build.steps.map((s) => `${s.id}: ok`).join('\n'));
  // The figures docs/pipeline.md quotes (push to a smoke-tested staging; approval to a smoke-tested production).
  process.stderr.write(
    `figures: push-to-staging ${((staged - started) / 1000).toFixed(1)} s (push build ${pushed.seconds.toFixed(1)} s); click-to-production ${applied.seconds.toFixed(1)} s\n`,
  );
  const app = (await (await fetch(`${marathons.production.url}/v2/apps/production/bulb-api`)).json()) as {
    app: { tasksRunning: number; container: { docker: { image: string } } };
  };
  expect(app.app.container.docker.image).toMatch(/^localhost:5000\/bulb-api:[0-9a-f]{7}@sha256:[0-9a-f]{64}$/);
  expect(app.app.tasksRunning).toBe(3);
}, 900_000);
