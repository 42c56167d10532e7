// The executor against the Docker engine: synthesized triggers of the real app run in the stand-in images, and the
// failure paths (a failing step, a missing tool, a secret in a log, bad substitutions) behave as Cloud Build's do.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_IMAGES } from '../../../constructs/build-steps';
import { imageTable } from '../../../lib/cloudbuild/images';
import { runBuild, RunOptions, STEP_LABEL } from '../../../lib/cloudbuild/step-runner';
import { ensureStandInImage } from '../../../lib/cloudbuild/stand-in-images';
import { readTriggers, ReadTrigger } from '../../../lib/cloudbuild/triggers';
import { Build } from '../../../lib/cloudbuild/types';
import { removeContainersWithLabel } from '../../../lib/docker/containers';
import { startGoogleStandIn } from '../../../lib/cloudbuild/google-stand-in';
import { RELAY_LABEL, removeBuildNetwork, startRelays } from '../../../lib/cloudbuild/network';
import { googleRouting } from '../../../lib/cloudbuild/stand-in-routes';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

const root = join(__dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'c2c-runner-'));
const outdir = join(dir, 'cdktf.out');
const saved = { ...process.env };
let triggers: ReadTrigger[];
let n = 0;

function options(extra: Partial<RunOptions> = {}): RunOptions {
  const workspace = join(dir, `ws-${++n}`);
  mkdirSync(workspace, { recursive: true });
  return {
    workspace,
    context: { projectId: 'p', buildId: `test-${process.pid}-${n}`, location: 'europe-west1', commitSha: 'abcdef0123456789' },
    ...extra,
  };
}

beforeAll(async () => {
  writeFileSync(join(dir, 'bundle.cjs'), "console.log('deploy');\n");
  Object.assign(process.env, {
    CDKTF_OUTDIR: outdir,
    C2C_DEPLOY_BUNDLE: join(dir, 'bundle.cjs'),
    C2C_STATE_BUCKET: 't',
    C2C_CLOUDBUILD_CONNECTION: 'gh',
  });
  jest.isolateModules(() => require('../../../main'));
  process.env = saved;
  triggers = readTriggers(outdir);
  for (const row of imageTable()) if (row.standIn) await ensureStandInImage(row);
}, 240_000);
afterAll(async () => {
  await removeContainersWithLabel(STEP_LABEL);
  await removeContainersWithLabel(RELAY_LABEL);
  await removeBuildNetwork();
  rmSync(dir, { recursive: true, force: true });
});

const trigger = (name: string) => triggers.find((t) => t.name === name)!;

it("runs an image service's pull-request trigger (bash build.sh in node:20) on its checkout", async () => {
  const o = options();
  cpSync(join(root, 'templates/service-repo'), o.workspace, { recursive: true });
  const r = await runBuild(trigger('bulb-api-pr').build, o);
  expect(r.steps.map((s) => [s.key, s.status])).toEqual([['build', 'ok']]);
});

it("runs the artifact service's pull-request trigger (make), and fails it when the tests fail", async () => {
  const o = options();
  writeFileSync(join(o.workspace, 'Makefile'), 'all:\n\tnode -e "process.exit(Number(process.env.FAIL || 0))"\n\techo built > out.txt\n');
  const ok = await runBuild(trigger('light-schedules-pr').build, o);
  expect(ok.ok).toBe(true);
  writeFileSync(join(o.workspace, 'Makefile'), 'all:\n\t@echo "unit test broke: expected 3, got 4"; exit 1\n');
  const bad = await runBuild(trigger('light-schedules-pr').build, o);
  expect(bad.failed).toBe('build');
  expect(bad.steps[0].logTail).toContain('unit test broke: expected 3, got 4');
});

it('shares /workspace and /builder/home (HOME) between steps, stops the dependants of a failing step and the steps after it, and shows its log', async () => {
  const build: Build = {
    steps: [
      {
        id: 'write',
        name: STEP_IMAGES.deploy,
        entrypoint: 'bash',
        args: ['-c', 'echo shared > /workspace/f; echo home > $$HOME/h'],
        waitFor: ['-'],
      },
      {
        id: 'fail',
        name: STEP_IMAGES.deploy,
        entrypoint: 'bash',
        args: ['-c', 'cat /workspace/f $$HOME/h; echo "it broke here"; exit 3'],
        waitFor: ['write'],
      },
      { id: 'after-fail', name: STEP_IMAGES.deploy, entrypoint: 'bash', args: ['-c', 'touch /workspace/ran'], waitFor: ['fail'] },
      { id: 'last', name: STEP_IMAGES.deploy, entrypoint: 'true' },
    ],
  };
  const r = await runBuild(build, options());
  expect(r.steps.map((s) => [s.key, s.status])).toEqual([
    ['write', 'ok'],
    ['fail', 'failed'],
    ['after-fail', 'not run'],
    ['last', 'not run'],
  ]);
  expect(r.failed).toBe('fail');
  expect(r.steps[1].logTail).toBe('shared\nhome\nit broke here');
  expect(r.steps[1].reason).toBe('exited 3');
});

it('fails a step whose image lacks the tool it calls (git in the slim Node image), as in Cloud Build', async () => {
  const build: Build = {
    steps: [{ id: 'author', name: STEP_IMAGES.deploy, entrypoint: 'bash', args: ['-c', 'set -e; git log -1 --format=%ae'] }],
  };
  const r = await runBuild(build, options());
  expect(r.steps[0].status).toBe('failed');
  expect(r.steps[0].logTail).toMatch(/git: command not found/);
});

it("never shows a secret's value: passed through the environment, redacted from the log", async () => {
  const value = `s3cr3t-${process.pid}-value`;
  const build: Build = {
    availableSecrets: { secretManager: [{ env: 'TOKEN', versionName: 'projects/p/secrets/tok/versions/latest' }] },
    steps: [
      { id: 'leak', name: STEP_IMAGES.deploy, entrypoint: 'bash', args: ['-c', 'echo "token is $$TOKEN"; exit 1'], secretEnv: ['TOKEN'] },
    ],
  };
  const r = await runBuild(build, options({ secrets: new Map([['TOKEN', value]]) }));
  expect(r.steps[0].logTail).toBe('token is [secret TOKEN]');
  expect(JSON.stringify(r)).not.toContain(value);
});

it('kills a step past its timeout', async () => {
  const build: Build = { steps: [{ id: 'slow', name: STEP_IMAGES.deploy, entrypoint: 'sleep', args: ['60'], timeout: '2s' }] };
  const r = await runBuild(build, options());
  expect(r.steps[0].status).toBe('timeout');
});

it('the CLI names the failing step, shows its last log lines and exits 1', () => {
  const src = join(dir, 'failing-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'Makefile'), 'all:\n\t@echo "unit test broke"; exit 1\n');
  const r = spawnSync('node', ['scripts/run.mjs', 'scripts/pipeline', 'run', 'light-schedules-pr', '--outdir', outdir, '--source', src], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status).toBe(1);
  expect(r.stdout).toMatch(/^build +failed \d+\.\ds {2}\(exited 2\)$/m);
  expect(r.stderr).toContain('pipeline: light-schedules-pr: step build failed (exited 2); its last log lines:');
  expect(r.stderr).toContain('  | unit test broke');
});

it('the CLI refuses bad substitutions in Cloud Build words, and lists Terraform steps as not runnable', () => {
  const cli = (...args: string[]) =>
    spawnSync('node', ['scripts/run.mjs', 'scripts/pipeline', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const bad = cli('run', 'bulb-api-pr', '--outdir', outdir, '--substitution', '_NOT_USED=x', '--source', 'templates/service-repo');
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('invalid build: key "_NOT_USED" in the substitution data is not matched in the template');
  const dry = cli('run', 'platform-push', '--outdir', outdir, '--dry-run');
  expect(dry.status).toBe(0);
  expect(dry.stdout).toMatch(/apply-staging-side .*not runnable here: terraform init needs the provider registry/);
});

it("runs steps on the cloudbuild network: names the synth wrote reach servers here, Google's names reach the stand-in over TLS, this machine's loopback does not", async () => {
  const marathon = createServer((req, res) => res.end(JSON.stringify({ name: 'local marathon', path: req.url })));
  await new Promise<void>((r) => marathon.listen(0, '127.0.0.1', r));
  const port = (marathon.address() as AddressInfo).port;
  const google = await startGoogleStandIn(join(dir, 'google'));
  try {
    const upload = await fetch(`${google.url}/upload/storage/v1/b/bkt/o?uploadType=media&name=hello.txt&ifGenerationMatch=0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${google.buildToken}` },
      body: 'stored object',
    });
    expect(upload.status).toBe(200);
    const routing = await googleRouting(google, dir);
    const script = [
      "const get=(u,h)=>fetch(u,{headers:h}).then(async(r)=>r.status+' '+(await r.text()));",
      '(async()=>{',
      "console.log('marathon', await get('http://marathon.staging.internal:8080/v2/info'));",
      "const t=await fetch('http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token',{headers:{'Metadata-Flavor':'Google'}}).then((r)=>r.json());",
      "console.log('storage', await get('https://storage.googleapis.com/storage/v1/b/bkt/o/hello.txt?alt=media',{authorization:'Bearer '+t.access_token}));",
      "console.log('loopback', await get('http://127.0.0.1:'+process.env.PORT+'/').catch((e)=>'unreachable '+e.cause.code));",
      'process.exit(1)})()',
    ].join('');
    const build: Build = {
      steps: [{ id: 'reach', name: STEP_IMAGES.deploy, entrypoint: 'node', args: ['-e', script], env: [`PORT=${port}`] }],
    };
    const r = await runBuild(
      build,
      options({
        routes: [...routing.routes, { names: ['marathon.staging.internal'], port: 8080, target: { host: '127.0.0.1', port } }],
        mounts: routing.mounts,
        standInEnv: routing.env,
      }),
    );
    expect(r.steps[0].logTail).toBe(
      'marathon 200 {"name":"local marathon","path":"/v2/info"}\nstorage 200 stored object\nloopback unreachable ECONNREFUSED',
    );
    const net = spawnSync('docker', ['network', 'inspect', '--format', '{{.Driver}}', 'cloudbuild'], { encoding: 'utf8' });
    expect(net.stdout.trim()).toBe('bridge');
  } finally {
    marathon.close();
    await google.close();
  }
});

it("resolves the build's names to its own relays when another build's relays on the cloudbuild network answer the same name", async () => {
  const answering = async (body: string) => {
    const s = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return s;
  };
  const ours = await answering('ours');
  const theirs = await answering('theirs');
  // Another executor's build on this machine, with a relay for the same name and port (a second test run, the demo).
  const { image } = await ensureStandInImage(imageTable().find((r) => r.image === 'node:20-slim')!);
  const foreign = await startRelays({
    network: 'cloudbuild',
    buildId: `foreign-${process.pid}`,
    image,
    routes: [
      { names: ['marathon.staging.internal'], port: 8080, target: { host: '127.0.0.1', port: (theirs.address() as AddressInfo).port } },
    ],
  });
  try {
    const script = [
      "(async()=>{const seen=new Set();for(let i=0;i<8;i++)seen.add(await fetch('http://marathon.staging.internal:8080/').then((r)=>r.text()));",
      "console.log([...seen].sort().join(','));process.exit(1)})()",
    ].join('');
    const build: Build = { steps: [{ id: 'reach', name: STEP_IMAGES.deploy, entrypoint: 'node', args: ['-e', script] }] };
    const r = await runBuild(
      build,
      options({
        routes: [
          { names: ['marathon.staging.internal'], port: 8080, target: { host: '127.0.0.1', port: (ours.address() as AddressInfo).port } },
        ],
      }),
    );
    expect(r.steps[0].logTail).toBe('ours');
  } finally {
    await foreign.close();
    ours.close();
    theirs.close();
  }
});
