// Every artifact app the renderer produces checks the SHA-256 its plan pinned before anything of the artifact runs:
// for each kind of package (a tarball and cmd, args, a single executable, no extraction, a zip, a single .gz file, a
// file that is no archive, a destPath), the file is put in a sandbox as the fetcher leaves it (the renderer tells the
// fetcher not to extract), and the rendered command runs under sh with sha256sum, tar, unzip and gunzip as on an agent.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ArtifactPackage, ServiceDefinition } from '../../../lib/catalog/types';
import { renderMarathonApp } from '../../../lib/marathon/render';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'c2c-artifact-variants-'));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'app'), { recursive: true });
  writeFileSync(join(src, 'app/start.sh'), '#!/bin/sh\necho started > marker\n', { mode: 0o755 });
  execFileSync('tar', ['-C', src, '-czf', join(dir, 'app.tar.gz'), 'app']);
  execFileSync('tar', ['-C', src, '-cJf', join(dir, 'app.tar.xz'), 'app']);
  execFileSync('zip', ['-q', '-r', join(dir, 'app.zip'), 'app'], { cwd: src });
  writeFileSync(join(dir, 'start.sh.gz'), gzipSync(readFileSync(join(src, 'app/start.sh'))));
  writeFileSync(join(dir, 'tool'), '#!/bin/sh\necho started > marker\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const variants: [string, string, ArtifactPackage][] = [
  ['a tarball started by cmd', 'app.tar.gz', { kind: 'artifact', cmd: 'sh app/start.sh' }],
  ['a tarball started by args', 'app.tar.gz', { kind: 'artifact', args: ['sh', 'app/start.sh'] }],
  ['an .xz tarball', 'app.tar.xz', { kind: 'artifact', cmd: 'sh app/start.sh' }],
  ['a zip', 'app.zip', { kind: 'artifact', cmd: 'sh app/start.sh', file: 'dist/app.zip' }],
  ['a single .gz file', 'start.sh.gz', { kind: 'artifact', cmd: 'sh start.sh', file: 'dist/start.sh.gz' }],
  ['a single executable', 'tool', { kind: 'artifact', cmd: './tool', executable: true, extract: false, file: 'tool' }],
  ['no extraction', 'app.tar.gz', { kind: 'artifact', cmd: 'tar -xzf app.tar.gz && sh app/start.sh', extract: false }],
  ['a file that is no archive', 'tool', { kind: 'artifact', cmd: 'sh tool', file: 'tool' }],
  ['a destPath', 'app.tar.gz', { kind: 'artifact', cmd: 'sh app/start.sh', destPath: 'pkg/app.tar.gz' }],
];

const service = (pkg: ArtifactPackage): ServiceDefinition => ({
  name: 'lamp',
  repo: 'acme-lighting/lamp',
  cpus: 0.1,
  mem: 32,
  instances: 1,
  build: 'make',
  package: pkg,
  smokeTest: 'true',
  approvers: [],
});

/** Puts `bytes` where the fetcher leaves the app's one fetch (destPath, else the URI's last segment), runs its cmd. */
function runTask(app: ReturnType<typeof renderMarathonApp>, bytes: Buffer) {
  const sandbox = mkdtempSync(join(dir, 'sandbox-'));
  const fetch = app.fetch![0];
  const file = join(sandbox, fetch.destPath ?? fetch.uri.split('/').pop()!);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  if (fetch.executable) chmodSync(file, 0o755);
  const run = spawnSync('sh', ['-c', app.cmd!], { cwd: sandbox, encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr.trim(), started: existsSync(join(sandbox, 'marker')) };
}

describe.each(variants)('%s', (_what, name, pkg) => {
  const bytes = () => readFileSync(join(dir, name));

  it('the fetcher is told not to extract, and the command starts with the check', () => {
    const sha256 = createHash('sha256').update(bytes()).digest('hex');
    const app = renderMarathonApp(service(pkg), 'staging', {
      artifact: { uri: `http://artifacts.test:5001/artifacts/lamp/c/${sha256}/${name}`, sha256 },
    });
    expect(app.fetch).toHaveLength(1);
    expect(app.fetch![0].extract).toBe(false);
    expect(app.cmd).toMatch(new RegExp(`^echo '${sha256}  [^']+' \\| sha256sum -c --status - \\|\\| \\{`));
  });

  it('its own bytes start; other bytes at the same URI stop it with exit 1 before anything of it runs', () => {
    const sha256 = createHash('sha256').update(bytes()).digest('hex');
    const app = renderMarathonApp(service(pkg), 'staging', {
      artifact: { uri: `http://artifacts.test:5001/artifacts/lamp/c/${sha256}/${name}`, sha256 },
    });
    expect(runTask(app, bytes())).toEqual({ status: 0, stderr: '', started: true });
    const other = runTask(app, Buffer.concat([bytes(), Buffer.from('x')]));
    expect([other.status, other.started]).toEqual([1, false]);
    expect(other.stderr).toMatch(new RegExp(`^c2c: \\S+ does not have the SHA-256 the plan pinned \\(${sha256}\\); not starting$`));
  });
});
