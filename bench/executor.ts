// The local Cloud Build executor (lib/cloudbuild): its overhead per step (docker run of the stand-in to the container's
// exit, for a step that does nothing), a sequential build of no-op steps against a parallel one, and a real
// synthesized pull-request trigger (`bash build.sh` of the starter service in the node:20 stand-in); then push-to-staging
// and click-to-production of bulb-api against two local Marathons (lib/cloudbuild/service-run.ts): from the start of
// its push build to the end of the smoke-staging build its staged plan starts, and from the approval of the production
// build its plan under plans/ starts (by a second listed identity, through the Cloud Build stand-in) to the end of the
// smoke-production build that build's smoke/ object starts. Run: npm run bench -- executor.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_IMAGES } from '../constructs/build-steps';
import { findRepoRoot } from '../constructs/settings';
import { probeDockerEngine } from '../lib/docker/engine';
import { execCommand } from '../lib/docker/exec';
import { removeContainersWithLabel } from '../lib/docker/containers';
import { imageRowFor, imageTable } from '../lib/cloudbuild/images';
import { runBuild, STEP_LABEL } from '../lib/cloudbuild/step-runner';
import { ensureStandInImage } from '../lib/cloudbuild/stand-in-images';
import { Build } from '../lib/cloudbuild/types';
import { onInterrupt } from './cleanup';
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { LocalMarathon, startLocalMarathon } from '@commit-to-cloud/local-marathon';
import { ensureBaseImage } from '../lib/docker/base-image';
import { RELAY_LABEL, removeBuildNetwork } from '../lib/cloudbuild/network';
import { startServiceRuns } from '../lib/cloudbuild/service-setup';
import { approveAs, publishBundle, runApproved, runPush } from '../lib/cloudbuild/service-run';
import { synthesize } from '../constructs/synth';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function main(): Promise<void> {
  const probe = await probeDockerEngine();
  if (!probe.available) {
    console.log(`skipped: ${probe.reason}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'c2c-bench-executor-'));
  const cleanup = async () => {
    await removeContainersWithLabel(STEP_LABEL);
    await removeContainersWithLabel(RELAY_LABEL);
    await removeBuildNetwork();
    rmSync(work, { recursive: true, force: true });
  };
  const unregister = onInterrupt(cleanup);
  try {
    for (const image of [STEP_IMAGES.deploy, STEP_IMAGES.node]) {
      const t = Date.now();
      const r = await ensureStandInImage(imageRowFor(image, imageTable())!);
      console.log(`stand-in ${r.image}: ${r.created ? `made in ${((Date.now() - t) / 1000).toFixed(1)} s` : 'already there'}`);
    }
    const context = (id: string) => ({ projectId: 'bench', buildId: `bench-${process.pid}-${id}`, location: 'local' });
    const noop = (n: number, parallel: boolean): Build => ({
      steps: Array.from({ length: n }, (_, i) => ({
        id: `s${i}`,
        name: STEP_IMAGES.deploy,
        entrypoint: 'true',
        ...(parallel ? { waitFor: ['-'] } : {}),
      })),
    });
    const seq = await runBuild(noop(8, false), { workspace: join(work, 'seq'), context: context('seq') });
    const perStep = seq.steps.map((s) => s.seconds!);
    console.log(
      `no-op step (docker run to exit), 8 in sequence: median ${median(perStep).toFixed(2)} s, min ${Math.min(...perStep).toFixed(2)} s, max ${Math.max(...perStep).toFixed(2)} s; build ${seq.seconds.toFixed(1)} s`,
    );
    const par = await runBuild(noop(8, true), { workspace: join(work, 'par'), context: context('par') });
    console.log(`8 no-op steps with waitFor ['-'] (parallel): build ${par.seconds.toFixed(1)} s`);
    const ws = join(work, 'pr');
    cpSync(join(findRepoRoot(__dirname), 'templates/service-repo'), ws, { recursive: true });
    const build: Build = { steps: [{ id: 'build', name: STEP_IMAGES.node, entrypoint: 'bash', args: ['build.sh'], waitFor: ['-'] }] };
    const pr = await runBuild(build, { workspace: ws, context: context('pr') });
    console.log(
      `pull-request build of the starter service (bash build.sh in node:20): ${pr.ok ? 'ok' : 'FAILED'} in ${pr.seconds.toFixed(1)} s`,
    );
    await servicePipeline(work);
  } finally {
    unregister();
    await cleanup();
  }
}

if (require.main === module) void main();

const ANA = 'ana@acme-lighting.example';
const BEN = 'ben@acme-lighting.example';

/** Keys for Ana and Ben, and the platform repository's security/allowed_signers listing both (what the platform publishes). */
function platformSigners(work: string): string {
  const platformRoot = join(work, 'platform-repo');
  mkdirSync(join(platformRoot, 'security'), { recursive: true });
  for (const who of [ANA, BEN]) {
    const key = join(work, `key-${who.split('@')[0]}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', who, '-f', key]);
    appendFileSync(join(platformRoot, 'security/allowed_signers'), `${who} ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`);
  }
  symlinkSync(join(findRepoRoot(__dirname), 'templates'), join(platformRoot, 'templates'));
  return platformRoot;
}

/** A checkout of the starter service, FROM the local base image, one commit signed by Ana (it lists no signers itself). */
async function signedCheckout(work: string): Promise<{ path: string; sha: string }> {
  const path = join(work, 'bulb-api');
  cpSync(join(findRepoRoot(__dirname), 'templates/service-repo'), path, { recursive: true });
  const base = (await ensureBaseImage()).image;
  const file = join(path, 'Dockerfile');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^ARG BASE_IMAGE=.*$/m, `ARG BASE_IMAGE=${base}`));
  const git = (args: string[]) => execFileSync('git', ['-C', path, ...args], { encoding: 'utf8' }).trim();
  git(['init', '-q', '-b', 'main']);
  git(['add', '-A']);
  git(['-c', `user.email=${ANA}`, '-c', 'user.name=bench', '-c', 'gpg.format=ssh', '-c', `user.signingkey=${join(work, 'key-ana')}`, 'commit', '-qS', '-m', 'bench']); // prettier-ignore
  return { path, sha: git(['rev-parse', 'HEAD']) };
}

/** Push-to-staging and click-to-production of bulb-api through the executor. */
async function servicePipeline(work: string): Promise<void> {
  const root = findRepoRoot(__dirname);
  const outdir = join(work, 'cdktf.out');
  const bundle = join(root, 'dist', 'deploy-bundle.cjs');
  const env = { C2C_DEPLOY_BUNDLE: bundle, C2C_STATE_BUCKET: 'bench', C2C_CLOUDBUILD_CONNECTION: 'gh', C2C_REGISTRY_HOST: 'localhost:5000' }; // prettier-ignore
  synthesize(env, { root: platformSigners(work), outdir });
  const chat = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => chat.listen(0, '127.0.0.1', r));
  const marathons: LocalMarathon[] = [];
  const runs = await startServiceRuns({
    outdir,
    work,
    marathons: async (hosts) => {
      marathons.push(await startLocalMarathon({ allowedHosts: [...hosts.staging] }));
      marathons.push(await startLocalMarathon({ allowedHosts: [...hosts.production] }));
      return { staging: marathons[0].url, production: marathons[1].url };
    },
    chatUrl: `http://127.0.0.1:${(chat.address() as AddressInfo).port}/hook`,
    mounts: [`${join(homedir(), '.npm')}:/root/.npm`],
  });
  const { setup, google } = runs;
  try {
    const source = await signedCheckout(work);
    const generation = await publishBundle(setup, 'bulb-api', readFileSync(bundle));
    const pushed = await runPush(setup, 'bulb-api', source, generation, `bench-push-${process.pid}`);
    const failed = [pushed.result, ...pushed.started.map((b) => b.result)].flatMap((r) => r.steps).find((x) => x.status !== 'ok');
    if (failed || pushed.pending.length === 0) {
      console.log(`push of bulb-api FAILED at ${failed?.key ?? 'the plan hand-off'}: ${failed?.reason ?? ''}\n${failed?.logTail ?? ''}`);
      return;
    }
    console.log(
      `push-to-staging (bulb-api's push build to the end of the smoke-staging build its staged plan starts): ${pushed.stagingSeconds!.toFixed(1)} s; push build ${pushed.result.seconds.toFixed(1)} s, smoke-staging ${pushed.started.map((b) => b.result.seconds.toFixed(1)).join(' + ')} s`,
    );
    const applied = await runApproved(setup, 'bulb-api', source, generation, pushed.pending[0], `bench-prod-${process.pid}`, (url) =>
      approveAs(url, google.tokenFor(BEN)),
    );
    const ok = applied.result.ok && applied.started.length > 0 && applied.started.every((b) => b.result.ok);
    console.log(
      `click-to-production (approval to the end of smoke-production; 3 instances): ${ok ? 'ok' : 'FAILED'} in ${applied.seconds.toFixed(1)} s; production build ${applied.result.seconds.toFixed(1)} s, smoke-production ${applied.started.map((b) => b.result.seconds.toFixed(1)).join(' + ')} s`,
    );
  } finally {
    chat.close();
    await Promise.allSettled(marathons.map((m) => m.close()));
    await runs.close();
    const tags = await execCommand('docker', ['images', 'localhost:5000/bulb-api', '--format', '{{.Repository}}:{{.Tag}}']);
    const made = tags.stdout.split('\n').filter((t) => t !== '');
    if (made.length > 0) await execCommand('docker', ['rmi', '-f', ...made]);
  }
}
