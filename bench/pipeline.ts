// Pipeline estimate: the critical path of a service's push and production builds, computed from the synthesized
// triggers (steps, images, waitFor) and the pull and step estimates kept in bench/image-pulls.json. Nothing is timed:
// a build cannot run here. A change that puts a big image on a critical path shows up as seconds.
// Run: npm run bench -- pipeline (or node scripts/run.mjs bench/pipeline).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { Catalog } from '../lib/catalog';
import { platformFromEnv } from '../lib/platform';
import { loadDeployBundle } from '../constructs/deploy-bucket';
import { addFleet } from '../constructs/fleet';
import { readSynthesizedApp } from '../constructs/reference-integrity';
import { findRepoRoot, pipelineSettingsFromEnv, withLightTokenTraces } from '../constructs/settings';
import { generateFleet } from './synth';

/** A synthesized build step, as the estimate reads it. */
export interface EstimateStep {
  readonly id: string;
  readonly name: string;
  readonly wait_for?: readonly string[];
}

/** The estimates of bench/image-pulls.json. */
export interface PullTable {
  readonly images: Readonly<Record<string, { readonly seconds: number; readonly compressedMB?: number }>>;
  readonly unknownImageSeconds: number;
  readonly steps: Readonly<Record<string, number>>;
  readonly defaultStepSeconds: number;
}

/** One step's estimated timeline. */
export interface StepTimeline {
  readonly id: string;
  readonly image: string;
  readonly start: number;
  /** When its image is on the worker (the first step needing an image starts its pull). */
  readonly ready: number;
  readonly end: number;
}

/** A build's estimate: total seconds, the steps on the critical path, and how much of it is image pulls. */
export interface BuildEstimate {
  readonly seconds: number;
  readonly pullSeconds: number;
  readonly path: readonly string[];
  readonly images: readonly string[];
  readonly steps: readonly StepTimeline[];
}

/**
 * Cloud Build's rule: a step starts when every step in its `waitFor` has finished (`-`: at once; no `waitFor`: after
 * every earlier step). Its image is pulled once per worker, when the first step that needs it starts; a step runs
 * when it may start and its image is there. Concurrent pulls are counted as if they did not share bandwidth, so a
 * build with parallel pulls is estimated low.
 */
export function estimateBuild(steps: readonly EstimateStep[], table: PullTable): BuildEstimate {
  const done = new Map<string, StepTimeline>();
  const pulled = new Map<string, number>();
  const order: StepTimeline[] = [];
  const pullOf = (image: string) => table.images[image]?.seconds ?? table.unknownImageSeconds;
  for (const [i, step] of steps.entries()) {
    const deps = step.wait_for === undefined ? steps.slice(0, i).map((s) => s.id) : step.wait_for.filter((d) => d !== '-');
    const start = Math.max(0, ...deps.map((d) => done.get(d)?.end ?? 0));
    const ready = pulled.get(step.name) ?? start + pullOf(step.name);
    if (!pulled.has(step.name)) pulled.set(step.name, ready);
    const end = Math.max(start, ready) + (table.steps[step.id] ?? table.defaultStepSeconds);
    const t: StepTimeline = { id: step.id, image: step.name, start, ready, end };
    done.set(step.id, t);
    order.push(t);
  }
  const last = order.reduce((a, b) => (b.end > a.end ? b : a), order[0]);
  // Walk back along whatever made each step late: its latest dependency, or its image pull.
  const path: string[] = [];
  let pullSeconds = 0;
  for (let cur: StepTimeline | undefined = last; cur;) {
    path.unshift(cur.id);
    const step = steps.find((s) => s.id === cur!.id)!;
    const i = steps.indexOf(step);
    const deps = step.wait_for === undefined ? steps.slice(0, i).map((s) => s.id) : step.wait_for.filter((d) => d !== '-');
    if (cur.ready > cur.start) pullSeconds += cur.ready - cur.start;
    cur = deps.map((d) => done.get(d)!).reduce<StepTimeline | undefined>((a, b) => (a === undefined || b.end > a.end ? b : a), undefined);
  }
  return { seconds: last.end, pullSeconds, path, images: [...pulled.keys()], steps: order };
}

/** The pull table kept in the repository. */
export function loadPullTable(root: string): PullTable {
  return JSON.parse(readFileSync(join(root, 'bench', 'image-pulls.json'), 'utf8')) as PullTable;
}

/** Synthesizes one generated service and returns its triggers' steps, by trigger name. */
export function synthesizedTriggers(root: string): Record<string, EstimateStep[]> {
  const dir = mkdtempSync(join(tmpdir(), 'c2c-pipeline-'));
  try {
    const platform = platformFromEnv({});
    const bundle = join(dir, 'deploy-bundle.cjs');
    writeFileSync(bundle, '// placeholder bundle for the estimate\n');
    withLightTokenTraces(() => {
      const app = new App({ outdir: join(dir, 'out'), stackTraces: false });
      addFleet(app, {
        platform,
        settings: pipelineSettingsFromEnv(platform.githubOwner, {}),
        services: new Catalog(generateFleet(1, platform.githubOwner)).services,
        bundle: loadDeployBundle(root, bundle),
      });
      app.synth();
    }, {});
    const out: Record<string, EstimateStep[]> = {};
    for (const { json } of readSynthesizedApp(join(dir, 'out'))) {
      const triggers = (json.resource?.google_cloudbuild_trigger ?? {}) as Record<
        string,
        { name: string; build: { step: EstimateStep[] } }
      >;
      for (const t of Object.values(triggers)) out[t.name] = t.build.step;
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the estimated critical paths and the pull table. */
export async function main(): Promise<void> {
  const root = findRepoRoot(__dirname);
  const table = loadPullTable(root);
  const triggers = synthesizedTriggers(root);
  process.stdout.write('pipeline estimate from the synthesized triggers and bench/image-pulls.json (estimates, not timings)\n');
  for (const [label, name] of [
    ['push (beyond build.sh)', 'svc-000-push'],
    ['production (after the approval)', 'svc-000-production'],
  ] as const) {
    const e = estimateBuild(triggers[name], table);
    process.stdout.write(
      `  ${label.padEnd(32)} ${String(e.seconds).padStart(4)} s, of which image pulls ${e.pullSeconds} s; ${e.images.length} image(s); critical path: ${e.path.join(' -> ')}\n`,
    );
  }
  process.stdout.write('  image pull estimates (bench/image-pulls.json):\n');
  for (const [image, x] of Object.entries(table.images)) {
    process.stdout.write(`    ${String(x.seconds).padStart(3)} s  ${String(x.compressedMB ?? '?').padStart(4)} MB  ${image}\n`);
  }
}

if (/[\\/]bench[\\/]pipeline\.(js|ts)$/.test(process.argv[1] ?? '')) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
