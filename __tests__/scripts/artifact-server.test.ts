// The artifact server (scripts/artifact-server.js) against the Google stand-in (metadata token, Cloud Storage media
// download) on 127.0.0.1: it serves objects under artifacts/, refuses traversal and everything else, passes 404,
// streams without buffering, and the local Mesos-style fetcher downloads artifacts through it, with the SHA-256 check
// of the rendered command refusing other bytes at the same URI.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { artifactObjectName, artifactUri, ServiceDefinition } from '../../lib/catalog';
import { startGoogleStandIn, GoogleStandIn } from '../../lib/cloudbuild/google-stand-in';
import { renderMarathonApp } from '../../lib/marathon/render';
import { ARTIFACT_SERVER_PROGRAM, artifactServerDefinition } from '../../constructs/artifact-server';
import { createArtifactServer, objectNameOf, settingsFromEnv } from '../../scripts/artifact-server';
import { localTasks, start, stopAll, until } from '../../packages/local-marathon/test/helpers';

const BUCKET = 'acme-c2c-registry';
let dir: string;
let google: GoogleStandIn;
let server: Server;
let url: string;
const lines: string[] = [];

async function listen(s: Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function close(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
}

/** Stores an object in the stand-in's bucket, as `deploy object put` does. */
async function put(name: string, bytes: Buffer | string): Promise<void> {
  const r = await fetch(`${google.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${google.buildToken}` },
    body: bytes,
  });
  expect(r.status).toBe(200);
}

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(base: string, path: string, method = 'GET'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.path = path;
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'artifact-server-'));
  google = await startGoogleStandIn(join(dir, 'gcs'));
  server = createArtifactServer({
    bucket: BUCKET,
    prefix: 'artifacts/',
    storageUrl: google.url,
    metadataUrl: google.url,
    log: (l) => lines.push(l),
  });
  url = await listen(server);
});

afterAll(async () => {
  await stopAll();
  await close(server);
  await google.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the artifact server', () => {
  it('serves an object under artifacts/ with a token from the metadata server, and says it is healthy', async () => {
    await put('artifacts/lamp/abc/0123/app.tar.gz', 'the bytes of the tarball');
    const r = await rawGet(url, '/artifacts/lamp/abc/0123/app.tar.gz');
    expect([r.status, r.body.toString()]).toEqual([200, 'the bytes of the tarball']);
    expect((await rawGet(url, '/health')).status).toBe(200);
  });

  it('passes 404 for an object that does not exist', async () => {
    const r = await rawGet(url, '/artifacts/lamp/abc/0123/missing.tar.gz');
    expect(r.status).toBe(404);
  });

  it('refuses traversal, encoded slashes, empty segments and anything outside artifacts/, even when the object exists', async () => {
    await put('registry/docker/registry/v2/secret', 'not an artifact');
    const refused = await Promise.all(
      [
        '/artifacts/../registry/docker/registry/v2/secret',
        '/artifacts/%2e%2e/registry/docker/registry/v2/secret',
        '/artifacts/..%2Fregistry/docker/registry/v2/secret',
        '/artifacts/lamp/%2F/x',
        '/artifacts//registry/docker/registry/v2/secret',
        '//artifacts/lamp/abc/0123/app.tar.gz',
        '/artifacts/lamp/.\\x',
        '/artifacts/lamp/%00',
        '/registry/docker/registry/v2/secret',
        '/artifacts/',
        '/',
      ].map((p) => rawGet(url, p).then((r) => [p, r.status, r.body.toString().includes('not an artifact')] as const)),
    );
    for (const [p, status, leaked] of refused) {
      expect([p, status >= 400 && status < 500, leaked]).toEqual([p, true, false]);
    }
    expect(objectNameOf('/registry/x', 'artifacts/')).toMatchObject({ status: 403 });
    expect(objectNameOf('/artifacts/%2e%2e/x', 'artifacts/')).toMatchObject({ status: 400 });
  });

  it('answers only GET', async () => {
    expect((await rawGet(url, '/artifacts/lamp/abc/0123/app.tar.gz', 'PUT')).status).toBe(405);
    expect((await rawGet(url, '/artifacts/lamp/abc/0123/app.tar.gz', 'DELETE')).status).toBe(405);
  });

  it('reads its settings from the environment and names a wrong one', () => {
    expect(settingsFromEnv({ C2C_ARTIFACT_BUCKET: BUCKET, PORT0: '31000' })).toMatchObject({
      bucket: BUCKET,
      port: 31000,
      prefix: 'artifacts/',
    });
    expect(() => settingsFromEnv({})).toThrow(/C2C_ARTIFACT_BUCKET/);
    expect(() => settingsFromEnv({ C2C_ARTIFACT_BUCKET: BUCKET, C2C_ARTIFACT_PORT: 'x' })).toThrow(/C2C_ARTIFACT_PORT/);
  });
});

describe('streaming', () => {
  /**
   * A Cloud Storage stand-in that sends the first half of a large object and the rest only once the client of the
   * artifact server has received bytes: a server that buffered the object would never pass any on, and the test
   * would time out. 401/403 for names containing `denied`.
   */
  async function gatedStorage(half: Buffer): Promise<{ url: string; server: Server; release: () => void }> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const s = createServer((req, res) => {
      if (req.url?.startsWith('/computeMetadata/')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
      } else if (req.url?.includes('denied')) {
        res.writeHead(403).end();
      } else {
        res.writeHead(200, { 'content-length': String(half.length * 2) });
        res.write(half);
        void released.then(() => res.end(half));
      }
    });
    return { url: await listen(s), server: s, release };
  }

  it('passes the first bytes of a large object on before Cloud Storage has sent the rest', async () => {
    const half = Buffer.alloc(1024 * 1024, 7);
    const g = await gatedStorage(half);
    const s = createArtifactServer({ bucket: BUCKET, prefix: 'artifacts/', storageUrl: g.url, metadataUrl: g.url, log: () => undefined });
    const base = await listen(s);
    try {
      const hash = createHash('sha256');
      let received = 0;
      const status = await new Promise<number>((resolve, reject) => {
        request(`${base}/artifacts/big/c/s/app.tar.gz`, (res) => {
          res.on('data', (c: Buffer) => {
            hash.update(c);
            if (received === 0) g.release();
            received += c.length;
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
      expect([status, received]).toEqual([200, half.length * 2]);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(half).update(half).digest('hex'));
      // Cloud Storage refusing the machine's account: a 502 that names the missing role, never the token.
      const denied = await rawGet(base, '/artifacts/denied/c/s/app.tar.gz');
      expect([denied.status, denied.body.toString()]).toEqual([
        502,
        `Cloud Storage answered 403; this machine's account needs roles/storage.objectViewer on gs://${BUCKET}\n`,
      ]);
    } finally {
      await close(s);
      await close(g.server);
    }
  });
});

describe('the program as the app runs it', () => {
  it("the app's cmd (node -e with the program's text) serves objects with the app's env", async () => {
    const def = artifactServerDefinition(BUCKET, 5001, 1, readFileSync(ARTIFACT_SERVER_PROGRAM, 'utf8'));
    const app = renderMarathonApp(def, 'staging', { image: 'node:20-slim' });
    const env = Object.fromEntries(Object.entries(app.env ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const child = spawn('sh', ['-c', app.cmd!], {
      env: {
        PATH: process.env.PATH,
        ...env,
        C2C_ARTIFACT_PORT: '0',
        C2C_ARTIFACT_LISTEN: '127.0.0.1',
        C2C_STORAGE_URL: google.url,
        C2C_METADATA_URL: google.url,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /on 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(`http://127.0.0.1:${m[1]}`);
        });
        child.on('exit', (code) => reject(new Error(`the artifact server exited ${code}`)));
      });
      const r = await rawGet(base, '/artifacts/lamp/abc/0123/app.tar.gz');
      expect([r.status, r.body.toString()]).toEqual([200, 'the bytes of the tarball']);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('the local Mesos fetcher through the artifact server', () => {
  const out = () => join(dir, 'task-out');
  const service: ServiceDefinition = {
    name: 'lamp',
    repo: 'acme-lighting/lamp',
    cpus: 0.1,
    mem: 32,
    instances: 1,
    healthCheck: false,
    package: { kind: 'artifact', cmd: `cat app/hello.txt > "$OUT"; sleep 30`, cache: false },
    build: 'make',
    env: {},
    smokeTest: 'true',
    approvers: [],
  };

  function tarball(text: string): Buffer {
    const src = join(dir, `src-${createHash('sha256').update(text).digest('hex').slice(0, 8)}`);
    execFileSync('mkdir', ['-p', join(src, 'app')]);
    execFileSync('sh', ['-c', `printf %s "$1" > "$2"`, 'sh', text, join(src, 'app/hello.txt')]);
    execFileSync('tar', ['-C', src, '-czf', join(src, 'app.tar.gz'), 'app']);
    return readFileSync(join(src, 'app.tar.gz'));
  }

  it('fetches the artifact, checks its SHA-256, unpacks it and starts it; other bytes at the same URI stop the task', async () => {
    const good = tarball('hello from the artifact server');
    const sha256 = createHash('sha256').update(good).digest('hex');
    const name = artifactObjectName(service, 'abc1234', sha256);
    await put(name, good);
    const uri = artifactUri(url, service, 'abc1234', sha256);
    expect(uri).toBe(`${url}/${name}`);
    const app = renderMarathonApp({ ...service, env: { OUT: out() } }, 'staging', { artifact: { uri, sha256 } });

    const s = await start();
    expect((await s.req('POST', '/v2/apps', app)).status).toBe(201);
    await until(async () => existsSync(out()) && readFileSync(out(), 'utf8') === 'hello from the artifact server', 'the task to start');
    expect(lines).toContain(`GET /${name} 200`);
    const [task] = (await localTasks(s)).values();
    const tasksDir = dirname(String(task.sandbox));
    expect((await s.req('DELETE', `/v2/apps${app.id}`)).status).toBe(200);
    rmSync(out());

    // The object is replaced by other bytes (a new generation at the same name): the fetch succeeds, the check refuses.
    await put(name, tarball('other bytes'));
    expect((await s.req('PUT', `/v2/apps${app.id}`, app)).status).toBeLessThan(300);
    const failure = await until(async () => (await s.req('GET', `/v2/apps${app.id}`)).body.app?.lastTaskFailure, 'a task failure');
    expect([failure.state, existsSync(out())]).toEqual(['TASK_FAILED', false]);
    expect(lines.filter((l) => l === `GET /${name} 200`)).toHaveLength(2);
    // Its sandbox's stderr holds the one line the check writes, and nothing of the artifact ran.
    expect(readFileSync(join(tasksDir, String(failure.taskId), 'stderr'), 'utf8')).toContain(
      `c2c: app.tar.gz does not have the SHA-256 the plan pinned (${sha256}); not starting`,
    );
  });
});
