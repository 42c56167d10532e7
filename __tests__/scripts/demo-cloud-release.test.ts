// The main job's message when a build of the executor fails (no Docker): the service, the trigger, the step, why,
// and the step's last log lines; and what the later steps start from, read from what the builds did (an artifact's
// URI and SHA-256 from the push build's workspace, checked against the plan the production build applied).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appliedBuild, buildFailure, builtArtifact } from '../../scripts/demo/cloud-release';

it('names the service, trigger and failed step with its last log lines, not the steps it stopped', () => {
  const err = buildFailure('billing', 'billing-push', {
    ok: false,
    seconds: 12,
    failed: 'docker-build',
    steps: [
      { key: 'build', image: 'node:20', status: 'ok', seconds: 5 },
      {
        key: 'docker-build',
        image: 'docker',
        status: 'failed',
        seconds: 3,
        reason: 'exited 1',
        logTail: 'Step 3/9 : RUN npm ci\nnpm ERR! missing',
      },
      { key: 'push', image: 'docker', status: 'not run', reason: 'waits for docker-build (failed)' },
    ],
  });
  expect(err.message).toBe(
    'billing: trigger billing-push failed: step docker-build failed (exited 1)\n  | Step 3/9 : RUN npm ci\n  | npm ERR! missing',
  );
});

it('names a step that timed out', () => {
  const err = buildFailure('bulb-api', 'bulb-api-smoke-staging', {
    ok: false,
    seconds: 60,
    steps: [{ key: 'smoke-staging', image: 'node:20-slim', status: 'timeout', reason: 'timed out after 60s', logTail: 'waiting' }],
  });
  expect(err.message).toMatch(
    /^bulb-api: trigger bulb-api-smoke-staging failed: step smoke-staging timeout \(timed out after 60s\)\n {2}\| waiting$/,
  );
});

const SHA = 'a'.repeat(64);
const URI = `http://artifacts.marathon.internal:5001/artifacts/light-schedules/${'1'.repeat(40)}/${SHA}/app.tar.gz`;
const checkout = { repo: '/r', sha: '1'.repeat(40), commitTime: '2026-12-08T00:00:00Z' };

describe("an artifact service's build from the executor", () => {
  let ws: string;
  beforeEach(() => (ws = mkdtempSync(join(tmpdir(), 'c2c-artifact-ws-'))));
  afterEach(() => rmSync(ws, { recursive: true, force: true }));

  it('reads the URI and SHA-256 the push build wrote into its workspace', async () => {
    writeFileSync(join(ws, 'artifact.uri'), `${URI}\n`);
    writeFileSync(join(ws, 'artifact.sha256'), `${SHA}\n`);
    await expect(builtArtifact('light-schedules', ws)).resolves.toEqual({ uri: URI, sha256: SHA });
  });

  it('refuses a workspace without artifact.uri, and a checksum that is not 64 hex digits', async () => {
    writeFileSync(join(ws, 'artifact.sha256'), SHA);
    await expect(builtArtifact('light-schedules', ws)).rejects.toThrow(
      /^light-schedules: the push build left no artifact\.uri in its workspace/,
    );
    writeFileSync(join(ws, 'artifact.uri'), URI);
    writeFileSync(join(ws, 'artifact.sha256'), 'ABC');
    await expect(builtArtifact('light-schedules', ws)).rejects.toThrow(
      /^light-schedules: the push build's artifact\.sha256 \(ABC\) must be/,
    );
  });

  it('starts the later steps from the artifact staging ran when the applied plan names it, and fails otherwise', () => {
    const artifact = { uri: URI, sha256: SHA };
    expect(appliedBuild('light-schedules', { artifact }, { artifact }, checkout)).toEqual({
      name: 'light-schedules',
      ...checkout,
      image: URI,
      artifact,
    });
    expect(() => appliedBuild('light-schedules', { artifact: { uri: URI, sha256: 'b'.repeat(64) } }, { artifact }, checkout)).toThrow(
      `light-schedules: the applied plan names ${URI}, staging ran ${URI} (sha256 ${SHA})`,
    );
    expect(() => appliedBuild('light-schedules', { image: 'x' }, { artifact }, checkout)).toThrow(/the applied plan names no artifact/);
  });

  it("pins an image service's build to the digest its applied plan names", () => {
    const digest = `sha256:${SHA}`;
    const b = appliedBuild(
      'billing',
      { image: 'localhost:5000/billing:1111111', imageDigest: digest },
      { image: 'localhost:5000/billing:1111111' },
      checkout,
    );
    expect([b.image, b.pushed, b.artifact]).toEqual([
      `localhost:5000/billing:1111111@${digest}`,
      { tag: 'localhost:5000/billing:1111111', digest },
      undefined,
    ]);
    expect(() =>
      appliedBuild(
        'billing',
        { image: 'localhost:5000/billing:2222222', imageDigest: digest },
        { image: 'localhost:5000/billing:1111111' },
        checkout,
      ),
    ).toThrow(/applied plan names localhost:5000\/billing:2222222@sha256:a+, staging ran localhost:5000\/billing:1111111$/);
  });
});
