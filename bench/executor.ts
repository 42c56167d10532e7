// The local Cloud Build executor (lib/cloudbuild): its overhead per step (docker run of the stand-in to the container's
// exit, for a step that does nothing), a sequential build of no-op steps against a parallel one, and a real
// synthesized pull-request trigger (`bash build.sh` of the starter service in the node:20 stand-in).
// Run: npm run bench -- executor.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_IMAGES } from '../constructs/build-steps';
import { findRepoRoot } from '../constructs/settings';
import { probeDockerEngine } from '../lib/docker/engine';
import { removeContainersWithLabel } from '../lib/docker/containers';
import { imageRowFor, imageTable } from '../lib/cloudbuild/images';
import { runBuild, STEP_LABEL } from '../lib/cloudbuild/step-runner';
import { ensureStandInImage } from '../lib/cloudbuild/stand-in-images';
import { Build } from '../lib/cloudbuild/types';
import { onInterrupt } from './cleanup';

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
  } finally {
    unregister();
    await cleanup();
  }
}

if (require.main === module) void main();
