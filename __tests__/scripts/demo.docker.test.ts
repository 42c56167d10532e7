import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'c2c-demo-docker-test-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Summary {
  docker: { registry: string; registryPid: number; runLabel: string; baseImage: string };
  status: { service: string; environment: string; image: string | null; artifact: unknown; healthy: number }[];
  rollback: { failedImage: string; runningImage: string };
}

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

it('runs the main job with Docker: images pushed and pinned by digest, run as containers, nothing left', async () => {
  // Container starts are watched while the job runs: the engine keeps only its last 256 events, and a shared engine
  // (and this job's own image removals) can push them out before the job ends.
  const events = spawn(
    'docker',
    [
      'events',
      '--filter',
      'type=container',
      '--filter',
      'event=start',
      '--filter',
      'label=c2c.main-job.run',
      '--format',
      '{{index .Actor.Attributes "c2c.main-job.run"}}',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let startedRuns = '';
  events.stdout.on('data', (d: Buffer) => (startedRuns += d.toString()));
  const child = spawn('node', ['scripts/run.mjs', 'scripts/demo', '--docker', 'always', '--json', '--workdir', join(work, 'demo')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  events.kill();
  if (code !== 0) throw new Error(`npm start exited ${code}:\n${stderr}`);
  const summary = JSON.parse(stdout) as Summary;
  const { registry, registryPid, runLabel } = summary.docker;
  expect(registry).toMatch(/^127\.0\.0\.1:\d+$/);

  // Every image service runs its image by digest, as pushed to the job's registry.
  const images = summary.status.filter((s) => s.artifact === null);
  expect(images.length).toBeGreaterThanOrEqual(6);
  for (const s of images)
    expect(s.image).toMatch(new RegExp(`^${registry.replace(/\./g, '\\.')}/${s.service}:[0-9a-f]{7}@sha256:[0-9a-f]{64}$`));

  // Each production plan pins the digest the registry answered, and the app it holds runs exactly that reference.
  const plans = readdirSync(join(work, 'demo', 'plans')).filter((f) => f.endsWith('.json'));
  const imagePlans = plans
    .map(
      (f) =>
        JSON.parse(readFileSync(join(work, 'demo', 'plans', f), 'utf8')) as {
          image?: string;
          imageDigest?: string;
          app: { container?: { docker?: { image?: string } } };
        },
    )
    .filter((p) => p.image?.startsWith(registry));
  expect(imagePlans.length).toBeGreaterThanOrEqual(3);
  for (const p of imagePlans) {
    expect(p.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(p.app.container?.docker?.image).toBe(`${p.image}@${p.imageDigest}`);
  }

  // The broken release was a real image, and staging runs the previous one again.
  expect(summary.rollback.failedImage).toMatch(/@sha256:/);
  expect(summary.rollback.runningImage).not.toBe(summary.rollback.failedImage);

  // Containers of this run's images started (the engine's own event log), and none is left.
  const runId = runLabel.split('=')[1];
  expect(startedRuns.split('\n').filter((l) => l === runId).length).toBeGreaterThanOrEqual(10);
  expect(docker(['ps', '-aq', '--filter', `label=${runLabel}`])).toBe('');
  // The registry process is gone, and its tags were removed.
  expect(() => process.kill(registryPid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  expect(docker(['images', '-q', `${registry}/*`])).toBe('');
  // The images later builds superseded are gone: no untagged image of the main job's is left (the cache tags stay).
  expect(docker(['images', '-q', '--filter', 'dangling=true', '--filter', 'label=c2c.main-job.run'])).toBe('');
}, 600_000);
