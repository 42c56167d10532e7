/**
 * The Mesos fetcher: `fetch` (and the old `uris`) downloaded into the task's sandbox before the task starts, against a
 * real loopback HTTP server. Tasks report what they see by writing files into a directory of the test's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMarathonOptions } from '../src';
import { list, Loose, start, stopAll, str, TestServer, until } from './helpers';

/** A loopback file server over `root` that counts requests per path; a few paths behave badly on purpose. */
interface FileServer {
  url: string;
  hits: Map<string, number>;
  /** The `Host` header of every request, in order. */
  hosts: string[];
  server: Server;
  /** Responses held open by `/stall/...`, ended at close. */
  stalled: ServerResponse[];
}

let root: string;
let out: string;
let files: FileServer;

async function fileServer(dir: string): Promise<FileServer> {
  const hits = new Map<string, number>();
  const hosts: string[] = [];
  const stalled: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    hosts.push(req.headers.host ?? '');
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith('/redirect/')) {
      res.writeHead(302, { location: `/${path.slice('/redirect/'.length)}` }).end();
    } else if (path.startsWith('/stall/')) {
      // Headers and a first chunk, then nothing.
      res.writeHead(200, { 'content-length': '1000000' });
      res.write('x');
      stalled.push(res);
    } else if (existsSync(join(dir, path)) && statSync(join(dir, path)).isFile()) {
      res.writeHead(200).end(readFileSync(join(dir, path)));
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, hosts, server, stalled };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fetcher-files-'));
  // An "artifact": app/hello.txt and an executable app/run.sh, packed in every format the fetcher extracts.
  const src = join(root, 'src');
  mkdirSync(join(src, 'app'), { recursive: true });
  writeFileSync(join(src, 'app/hello.txt'), 'hello from the artifact\n');
  writeFileSync(join(src, 'app/run.sh'), '#!/bin/sh\necho "ran in $(pwd)"\n', { mode: 0o755 });
  execFileSync('tar', ['-C', src, '-czf', join(root, 'app.tar.gz'), 'app']);
  execFileSync('tar', ['-C', src, '-czf', join(root, 'app.tgz'), 'app']);
  execFileSync('tar', ['-C', src, '-cJf', join(root, 'app.tar.xz'), 'app']);
  execFileSync('tar', ['-C', src, '-cjf', join(root, 'app.tar.bz2'), 'app']);
  execFileSync('zip', ['-q', '-r', join(root, 'app.zip'), 'app'], { cwd: src });
  execFileSync('sh', ['-c', `gzip -c "${join(src, 'app/hello.txt')}" > "${join(root, 'hello.txt.gz')}"`]);
  writeFileSync(join(root, 'tool'), '#!/bin/sh\necho tool\n');
  writeFileSync(join(root, 'setup.py'), 'print("setup")\n');
  execFileSync('cp', [join(root, 'app.zip'), join(root, 'archive.zip')]);
  execFileSync('cp', [join(src, 'app/hello.txt'), join(root, 'README.md')]);
  files = await fileServer(root);
});

afterAll(async () => {
  for (const r of files.stalled) r.destroy();
  files.server.closeAllConnections();
  await new Promise((resolve) => files.server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

let s: TestServer;
let n = 0;
beforeEach(() => {
  out = mkdtempSync(join(tmpdir(), 'fetcher-out-'));
  files.hits.clear();
  files.hosts.length = 0;
});
afterEach(async () => {
  await stopAll();
  rmSync(out, { recursive: true, force: true });
});

/**
 * Starts a server and submits an app; its `cmd` runs with `$R` set to a directory of its own under `out`, where
 * `REPORT` writes what the task sees.
 */
async function run(app: Record<string, unknown>, options: LocalMarathonOptions = {}): Promise<string> {
  s = await start(options);
  const id = `/fetch-${++n}`;
  const cmd = `R="${out}/$MESOS_TASK_ID" && mkdir -p "$R" && ${app.cmd as string}`;
  const r = await s.req('POST', '/v2/apps', { id, instances: 1, cpus: 0.1, mem: 16, ...app, cmd });
  expect(r.status).toBe(201);
  return id;
}

/** What the task sees: MESOS_SANDBOX, its working directory and the sandbox's files (without stdout/stderr). */
const REPORT =
  'echo "$MESOS_SANDBOX" > "$R/sandbox" && pwd > "$R/pwd" && ' +
  'find . -path ./stdout -prune -o -path ./stderr -prune -o -print | sort > "$R/files" && touch "$R/done" && sleep 30';

/** The report directories of the tasks that have written theirs. */
function reports(): string[] {
  return readdir(out)
    .map((d) => join(out, d))
    .filter((d) => existsSync(join(d, 'done')));
}

/** Waits for the first task to write its report; returns the report's directory. */
async function report(): Promise<string> {
  return until(async () => reports()[0], 'the task to report its sandbox');
}

function readdir(dir: string): string[] {
  return execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function filesIn(dir: string): string[] {
  return readFileSync(join(dir, 'files'), 'utf8').split('\n').filter(Boolean);
}

/** The sandbox directory the task reported. */
function sandboxOf(dir: string): string {
  return readFileSync(join(dir, 'sandbox'), 'utf8').trim();
}

async function lastFailure(id: string): Promise<Loose> {
  return until(async () => (await s.req('GET', `/v2/apps${id}`)).body.app.lastTaskFailure, 'a lastTaskFailure');
}

describe('the Mesos fetcher', () => {
  test('an http:// .tar.gz is downloaded and extracted into the sandbox before cmd runs there, with MESOS_SANDBOX set', async () => {
    await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/app.tar.gz` }] });
    const dir = await report();
    const sandbox = sandboxOf(dir);
    // The working directory of cmd is the sandbox, and MESOS_SANDBOX names it.
    expect(readFileSync(join(dir, 'pwd'), 'utf8').trim()).toBe(sandbox);
    expect(filesIn(dir)).toEqual(['.', './app', './app.tar.gz', './app/hello.txt', './app/run.sh']);
    expect(readFileSync(join(sandbox, 'app/hello.txt'), 'utf8')).toBe('hello from the artifact\n');
    expect(statSync(join(sandbox, 'app/run.sh')).mode & 0o111).not.toBe(0);
    // The fetcher's log is in the sandbox's stderr, as on a Mesos agent.
    expect(readFileSync(join(sandbox, 'stderr'), 'utf8')).toContain(`Fetching URI '${files.url}/app.tar.gz'`);
  });

  test.each(['app.tgz', 'app.tar.xz', 'app.tar.bz2', 'app.zip'])('%s is extracted', async (name) => {
    await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/${name}`, extract: true }] });
    const dir = await report();
    expect(filesIn(dir)).toEqual(['.', './app', `./${name}`, './app/hello.txt', './app/run.sh']);
  });

  test('a .gz that is not a tarball is gunzipped next to it', async () => {
    await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/hello.txt.gz` }] });
    const dir = await report();
    expect(filesIn(dir)).toEqual(['.', './hello.txt', './hello.txt.gz']);
    expect(readFileSync(join(sandboxOf(dir), 'hello.txt'), 'utf8')).toBe('hello from the artifact\n');
  });

  test('extract: false leaves the archive packed', async () => {
    await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/app.tar.gz`, extract: false }] });
    expect(filesIn(await report())).toEqual(['.', './app.tar.gz']);
  });

  test('executable: true sets mode 0755 on the file (and, as in Mesos, an executable is not extracted)', async () => {
    await run({
      cmd: `./tool > "$R/tool.out" && ${REPORT}`,
      fetch: [
        { uri: `${files.url}/tool`, executable: true },
        { uri: `${files.url}/app.tgz`, executable: true },
      ],
    });
    const dir = await report();
    const sandbox = sandboxOf(dir);
    expect(statSync(join(sandbox, 'tool')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(dir, 'tool.out'), 'utf8')).toBe('tool\n');
    expect(filesIn(dir)).toEqual(['.', './app.tgz', './tool']);
  });

  test('destPath names the file, in a subdirectory it creates; an archive is still extracted into the sandbox root', async () => {
    await run({
      cmd: REPORT,
      fetch: [
        { uri: `${files.url}/tool`, destPath: 'bin/renamed' },
        { uri: `${files.url}/app.zip`, destPath: 'pkg.zip' },
      ],
    });
    expect(filesIn(await report())).toEqual(['.', './app', './app/hello.txt', './app/run.sh', './bin', './bin/renamed', './pkg.zip']);
  });

  test('a destPath outside the sandbox fails the task', async () => {
    const id = await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/tool`, destPath: '../escaped' }] });
    expect(str((await lastFailure(id)).message)).toContain("destPath '../escaped' is not a file inside the sandbox");
  });

  test('redirects are followed', async () => {
    await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/redirect/tool`, extract: false }] });
    expect(filesIn(await report())).toEqual(['.', './tool']);
    expect(files.hits.get('/tool')).toBe(1);
  });

  test("fetcherConnectTo connects a URI's HOST:PORT elsewhere (redirects too); Host, the log and the app keep the URI", async () => {
    const port = Number(new URL(files.url).port);
    const fetch = [
      { uri: 'http://artifacts.fetch.test:5001/app.tar.gz', extract: true, executable: false, cache: false },
      { uri: 'http://artifacts.fetch.test:5001/redirect/tool', extract: false, executable: false, cache: false },
    ];
    const table = [{ host: 'ARTIFACTS.fetch.test', port: 5001, to: { host: '127.0.0.1', port } }];
    const id = await run({ cmd: REPORT, fetch }, { fetcherConnectTo: table });
    const dir = await report();
    expect(filesIn(dir)).toEqual(['.', './app', './app.tar.gz', './app/hello.txt', './app/run.sh', './tool']);
    // The server saw the URI's host and port, as it would behind the cluster's DNS; the app is as submitted.
    expect(files.hosts).toEqual(['artifacts.fetch.test:5001', 'artifacts.fetch.test:5001', 'artifacts.fetch.test:5001']);
    expect((await s.req('GET', `/v2/apps${id}`)).body.app.fetch).toEqual(fetch);
    const log = readFileSync(join(sandboxOf(dir), 'stderr'), 'utf8');
    expect(log).toContain("Fetching URI 'http://artifacts.fetch.test:5001/app.tar.gz'");
    expect(log).toContain(`Connecting to 'artifacts.fetch.test:5001' at 127.0.0.1:${port} (the fetcher's connection table)`);
  });

  test('file:// URIs and absolute paths are copied', async () => {
    await run({ cmd: REPORT, fetch: [{ uri: `file://${join(root, 'tool')}` }, { uri: join(root, 'setup.py') }] });
    expect(filesIn(await report())).toEqual(['.', './setup.py', './tool']);
  });

  test('the old uris field is fetched like fetch entries (extract defaults to true)', async () => {
    await run({ cmd: REPORT, uris: [`${files.url}/app.tgz`] });
    expect(filesIn(await report())).toEqual(['.', './app', './app.tgz', './app/hello.txt', './app/run.sh']);
  });

  test('cache: true downloads once for all the tasks of the server, concurrent ones included', async () => {
    await run({ cmd: REPORT, instances: 3, fetch: [{ uri: `${files.url}/app.tar.gz`, cache: true }] });
    await until(async () => reports().length === 3, 'three tasks to report');
    for (const d of reports()) expect(filesIn(d)).toEqual(['.', './app', './app/hello.txt', './app/run.sh']);
    expect(files.hits.get('/app.tar.gz')).toBe(1);
  });

  test('without cache every task downloads', async () => {
    await run({ cmd: REPORT, instances: 2, fetch: [{ uri: `${files.url}/app.tar.gz` }] });
    await until(async () => reports().length === 2, 'two tasks to report');
    expect(files.hits.get('/app.tar.gz')).toBe(2);
  });

  test.each([
    ['an HTTP 404', '/missing.tgz', 'Error downloading resource, received HTTP return code 404'],
    ['a missing file', '/nonexistent/dir/file.tgz', 'No such file or directory'],
    ['a relative path', 'relative/file.tgz', 'A relative path was passed for the resource but the Mesos framework home was not specified'],
    ['another scheme', 'hdfs://namenode/file.tgz', 'the local Marathon fetches only http://, https://, file:// URIs and absolute paths'],
  ])('%s fails the task with Mesos message in lastTaskFailure; the command never runs', async (_what, uri, detail) => {
    const id = await run({ cmd: REPORT, fetch: [{ uri: uri.startsWith('/missing') ? `${files.url}${uri}` : uri }] });
    const failure = await lastFailure(id);
    expect(failure.state).toBe('TASK_FAILED');
    expect(str(failure.message)).toMatch(
      /^Failed to launch container: Failed to fetch all URIs for container '[0-9a-f-]{36}' with exit status: 256 \(Failed to fetch '/,
    );
    expect(str(failure.message)).toContain(detail);
    expect(readdir(out)).toEqual([]);
  });

  test('a malformed URI fails the task before anything is fetched', async () => {
    const id = await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/tool` }, { uri: 'http://host-without-path' }] });
    expect(str((await lastFailure(id)).message)).toBe(
      'Failed to launch container: Could not fetch: Malformed URI (missing path): http://host-without-path',
    );
    expect(files.hits.get('/tool')).toBeUndefined();
  });

  test('a download that stalls fails after the stall timeout', async () => {
    const id = await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/stall/big.tgz` }] }, { fetcherStallTimeoutSeconds: 0.3 });
    expect(str((await lastFailure(id)).message)).toContain('Operation too slow. Less than 1 bytes/sec transferred the last 0.3 seconds');
  });

  test('a missing unpacking program fails the task and names it', async () => {
    // A PATH with tar and gzip but no unzip.
    const bin = join(out, 'bin');
    mkdirSync(bin);
    for (const p of ['tar', 'gzip']) symlinkSync(execFileSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).trim(), join(bin, p));
    const id = await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/app.zip` }] }, { hostEnv: { PATH: bin } });
    expect(str((await lastFailure(id)).message)).toContain(
      "'unzip' is not installed (not found on PATH); the local Marathon unpacks archives with the system's tar, gzip, bzip2, xz and unzip",
    );
  });

  test('a task killed while fetching is killed, not failed', async () => {
    const id = await run({ cmd: REPORT, fetch: [{ uri: `${files.url}/stall/big.tgz` }] });
    await until(async () => files.hits.get('/stall/big.tgz') === 1, 'the download to start');
    const tasks = list((await s.req('GET', `/v2/apps${id}/tasks`)).body.tasks);
    expect(tasks.map((t) => str(t.state))).toEqual(['TASK_STAGING']);
    expect((await s.req('DELETE', `/v2/apps${id}/tasks/${str(tasks[0].id)}?scale=true&force=true`)).status).toBe(200);
    await until(async () => list((await s.req('GET', `/v2/apps${id}/tasks`)).body.tasks).length === 0, 'the task to go');
    expect((await s.req('GET', `/v2/apps${id}`)).body.app.lastTaskFailure).toBeUndefined();
  });

  test("Marathon's raml example app.json: its fetch list (setup.py, archive.zip as newname.zip, cached) is fetched", async () => {
    const example = JSON.parse(readFileSync(join(__dirname, '../../../reference/marathon-api/raml/v2/examples/app.json'), 'utf8')) as {
      fetch: { uri: string }[];
    };
    // The example's host, foo.com, is served from loopback: nothing leaves the machine.
    const fetch = example.fetch.map((f) => ({ ...f, uri: f.uri.replace('https://foo.com', files.url) }));
    await run({ cmd: REPORT, fetch });
    // As in Mesos, an archive extracted from the cache is not also copied into the sandbox: no newname.zip.
    expect(filesIn(await report())).toEqual(['.', './app', './app/hello.txt', './app/run.sh', './setup.py']);
    expect(files.hits.get('/archive.zip')).toBe(1);
    const app = (await s.req('GET', '/v2/apps/fetch-' + n)).body.app;
    expect(app.fetch).toEqual([
      { uri: `${files.url}/setup.py`, extract: true, executable: false, cache: false },
      { uri: `${files.url}/archive.zip`, extract: true, executable: false, cache: true, destPath: 'newname.zip' },
    ]);
  });
});
