import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMainJobProcess } from '../helpers/main-job';

const work = mkdtempSync(join(tmpdir(), 'c2c-demo-docker-test-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Summary {
  docker: { registry: string; registryPid: number; runLabel: string; baseImage: string };
  status: {
    service: string;
    environment: string;
    image: string | null;
    artifact: { uri: string; sha256: string | null } | null;
    healthy: number;
  }[];
  rollback: { failedImage: string; runningImage: string };
  cloudBuilds: {
    service: string;
    commit: string;
    author: string;
    approver: string;
    builds: { trigger: string; buildId: string; ok: boolean; steps: { id: string; status: string; seconds?: number }[] }[];
  }[];
}

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

it('runs the main job with Docker: the first release through the executor, images pinned by digest, run as containers, nothing left', async () => {
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
  const { code, stdout, stderr } = await runMainJobProcess(['--docker', 'always', '--json', '--workdir', join(work, 'demo')]);
  events.kill();
  if (code !== 0) throw new Error(`npm start exited ${code}:\n${stderr}`);
  const summary = JSON.parse(stdout) as Summary;
  const { registry, registryPid, runLabel } = summary.docker;
  expect(registry).toMatch(/^127\.0\.0\.1:\d+$/);

  // The first release came from the executor: each service's push trigger (image or artifact), the staging smoke
  // build its staged plan started, the production build its plan started, and the production smoke build, every step
  // ok; the production build was approved through the Cloud Build stand-in by a listed identity other than the
  // commit's signer.
  const imageServices = ['billing', 'bulb-api', 'storefront'];
  expect(summary.cloudBuilds.map((c) => c.service).sort()).toEqual([...imageServices, 'light-schedules'].sort());
  for (const c of summary.cloudBuilds) {
    const s = c.service;
    expect(c.builds.map((b) => b.trigger)).toEqual([`${s}-push`, `${s}-smoke-staging`, `${s}-production`, `${s}-smoke-production`]);
    for (const b of c.builds) {
      expect(b.ok).toBe(true);
      expect(b.steps.length).toBeGreaterThan(0);
      expect(b.steps.filter((x) => x.status !== 'ok')).toEqual([]);
    }
    expect(c.builds[0].steps.map((x) => x.id)).toEqual(
      expect.arrayContaining(
        imageServices.includes(s)
          ? ['build', 'registry-sidecar', 'docker-build', 'push', 'deploy-staging', 'plan-production']
          : ['build', 'upload-artifact', 'deploy-staging', 'plan-production'],
      ),
    );
    expect(c.approver).toMatch(/@acme-lighting\.example$/);
    expect(c.approver).not.toBe(c.author);
  }
  // The artifact service runs, in both clusters, what its push build uploaded: Marathon's app fetches the synthesized
  // artifact server's URL for that commit (its fetcher reached the server the job started), checksum pinned.
  const artifactCommit = summary.cloudBuilds.find((c) => c.service === 'light-schedules')!.commit;
  const uri = new RegExp(
    `^http://artifacts\\.marathon\\.internal:5001/artifacts/light-schedules/${artifactCommit}/([0-9a-f]{64})/app\\.tar\\.gz$`,
  );
  for (const environment of ['staging', 'production']) {
    const s = summary.status.find((x) => x.service === 'light-schedules' && x.environment === environment)!;
    expect([s.image, s.healthy > 0]).toEqual([null, true]);
    expect(s.artifact?.uri).toMatch(uri);
    expect(s.artifact?.sha256).toBe(uri.exec(s.artifact!.uri)![1]);
  }
  // The release the later steps did not touch runs what the executor's builds made: billing in production.
  const billing = summary.status.find((s) => s.service === 'billing' && s.environment === 'production')!;
  const billingCommit = summary.cloudBuilds.find((c) => c.service === 'billing')!.commit;
  expect(billing.image).toMatch(new RegExp(`^localhost:5000/billing:${billingCommit.slice(0, 7)}@sha256:[0-9a-f]{64}$`));

  // Every image service runs its image by digest: the executor's (its registry side-car) or, for the later releases,
  // the job's registry.
  const images = summary.status.filter((s) => s.artifact === null);
  expect(images.length).toBeGreaterThanOrEqual(6);
  const registries = `(${registry.replace(/\./g, '\\.')}|localhost:5000)`;
  // (The executor's staging deploy runs the pushed tag, as the push build names it; production pins the digest.)
  for (const s of images) {
    const digest =
      s.environment === 'staging' && s.image?.startsWith('localhost:5000/') ? '(@sha256:[0-9a-f]{64})?' : '@sha256:[0-9a-f]{64}';
    expect(s.image).toMatch(new RegExp(`^${registries}/${s.service}:[0-9a-f]{7}${digest}$`));
  }

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
    .filter((p) => p.image?.startsWith(registry) || p.image?.startsWith('localhost:5000/'));
  // The three the production builds of the image services applied (copied out of the deploy bucket), and the
  // hand-driven ones after them.
  expect(imagePlans.filter((p) => p.image?.startsWith('localhost:5000/')).length).toBe(3);
  expect(imagePlans.length).toBeGreaterThanOrEqual(4);
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
  // No build container or relay of this run's executor is left, and the tags its builds made are gone.
  const prefix = runId.slice(0, 8);
  expect(docker(['ps', '-aq', '--filter', `name=c2c-step-${prefix}`])).toBe('');
  expect(docker(['ps', '-aq', '--filter', `name=c2c-relay-${prefix}`])).toBe('');
  for (const c of summary.cloudBuilds) expect(docker(['images', '-q', `localhost:5000/${c.service}:${c.commit.slice(0, 7)}`])).toBe('');
  // The registry process is gone, and its tags were removed.
  expect(() => process.kill(registryPid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  expect(docker(['images', '-q', `${registry}/*`])).toBe('');
  // The images later builds superseded are gone: no untagged image of the main job's is left (the cache tags stay).
  expect(docker(['images', '-q', '--filter', 'dangling=true', '--filter', 'label=c2c.main-job.run'])).toBe('');
}, 600_000);
