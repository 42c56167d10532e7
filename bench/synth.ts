// Synthesis benchmark: a generated fleet of 30 and of 300 services, each size synthesized 3 times in a fresh node
// process running the built JS (dist/bench/synth.js in child mode). Prints the median wall time (spawn to exit) and
// the median peak RSS (process.resourceUsage().maxRSS, reported by the child). Targets: 30 services <= 1.0 s and
// 200 MB; 300 services <= 5 s. Run: npm run bench (or node scripts/run.mjs bench/synth).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { ServiceDefinition } from '../lib/catalog/types';
import { Catalog } from '../lib/catalog';
import { platformFromEnv } from '../lib/platform';
import { loadDeployBundle } from '../constructs/deploy-bucket';
import { addFleet } from '../constructs/fleet';
import { findRepoRoot, loadSeedFiles, pipelineSettingsFromEnv, withLightTokenTraces } from '../constructs/settings';

const CHILD_ENV = 'C2C_BENCH_FLEET';
const SIZES = [30, 300];
const RUNS = 3;
const TARGETS: Record<number, { seconds: number; mb?: number }> = { 30: { seconds: 1.0, mb: 200 }, 300: { seconds: 5 } };

/** A fleet of `n` services, varied the way the examples are (two ports, secrets, virtual hosts, monorepo paths). */
export function generateFleet(n: number, owner = 'acme-lighting'): ServiceDefinition[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `svc-${String(i).padStart(3, '0')}`;
    return {
      name,
      repo: `${owner}/${name}`,
      cpus: 0.25,
      mem: 256,
      instances: { staging: 1, production: 2 },
      ...(i % 3 === 0
        ? {
            ports: [
              { name: 'http', containerPort: 8080 },
              { name: 'admin', containerPort: 9090 },
            ],
            healthCheck: { path: '/health', portIndex: 1 },
          }
        : {}),
      ...(i % 3 === 1 ? { secrets: { DB_PASSWORD: `${name}/db-password` }, constraints: [['hostname', 'UNIQUE'] as const] } : {}),
      ...(i % 3 === 2 ? { virtualHost: `${name}.acme-lighting.example` } : {}),
      env: { LOG_LEVEL: 'info' },
      smokeTest: './e2e.sh',
      approvers: [`group:team-${i % 10}@acme-lighting.example`],
    };
  });
}

/**
 * Child mode: synthesize a fleet of `n` services into a temp dir and print {n, maxRssKb, cpuSeconds, outdir} as JSON.
 * The parent removes the folder after the clock stops: deleting the output is not part of synthesis.
 */
function child(n: number): void {
  const root = findRepoRoot(__dirname);
  const outdir = mkdtempSync(join(tmpdir(), 'c2c-bench-'));
  {
    const platform = platformFromEnv({});
    let bundlePath = join(root, 'dist', 'deploy-bundle.cjs');
    if (!existsSync(bundlePath)) {
      bundlePath = join(outdir, 'deploy-bundle.cjs');
      writeFileSync(bundlePath, '// placeholder bundle for the benchmark\n');
    }
    withLightTokenTraces(() => {
      const app = new App({ outdir: join(outdir, 'cdktf.out'), stackTraces: false });
      addFleet(app, {
        platform,
        settings: pipelineSettingsFromEnv(platform.githubOwner, {}),
        services: new Catalog(generateFleet(n, platform.githubOwner)).services,
        bundle: loadDeployBundle(root, bundlePath),
        seedFiles: loadSeedFiles(join(root, 'templates', 'service-repo')),
      });
      app.synth();
    });
  }
  const usage = process.resourceUsage();
  const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
  process.stdout.write(`${JSON.stringify({ n, maxRssKb: usage.maxRSS, cpuSeconds, outdir })}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs the benchmark and prints one line per fleet size. */
export async function main(): Promise<void> {
  const root = findRepoRoot(__dirname);
  const script = join(root, 'dist', 'bench', 'synth.js');
  if (!existsSync(script)) throw new Error(`${script} is missing; run 'npm run build' first`);
  process.stdout.write(
    `synth benchmark (median of ${RUNS} fresh processes on built JS, deep imports; load average ${loadavg()[0].toFixed(2)} on ${cpus().length} cores)\n`,
  );
  for (const n of SIZES) {
    const walls: number[] = [];
    const rss: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const started = process.hrtime.bigint();
      const res = spawnSync(process.execPath, [script], {
        env: { ...process.env, [CHILD_ENV]: String(n), CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: '1' },
        encoding: 'utf8',
      });
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (res.status !== 0) throw new Error(`synth of ${n} services failed (exit ${res.status}):\n${res.stderr}`);
      const report = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { maxRssKb: number; cpuSeconds: number; outdir?: string };
      if (report.outdir?.startsWith(join(tmpdir(), 'c2c-bench-'))) rmSync(report.outdir, { recursive: true, force: true });
      walls.push(wall);
      rss.push(report.maxRssKb / 1024);
      cpu.push(report.cpuSeconds);
    }
    const t = TARGETS[n];
    const wall = median(walls);
    const mb = median(rss);
    const verdict = t && wall <= t.seconds && (t.mb === undefined || mb <= t.mb) ? 'ok' : 'OVER TARGET';
    const target = t ? `target <= ${t.seconds} s${t.mb ? ` / ${t.mb} MB` : ''}` : '';
    process.stdout.write(
      `  ${String(n).padStart(3)} services: ${wall.toFixed(2)} s wall, ${mb.toFixed(0)} MB peak RSS, ${median(cpu).toFixed(2)} s CPU  (${target}: ${verdict})\n`,
    );
  }
}

if (process.env[CHILD_ENV]) {
  child(Number(process.env[CHILD_ENV]));
} else if (/[\\/]bench[\\/]synth\.(js|ts)$/.test(process.argv[1] ?? '')) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
