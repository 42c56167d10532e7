/**
 * Loopback stand-ins for the Google APIs a build's steps call, on 127.0.0.1 (a free port), one server:
 * - the metadata server's token (`GET /computeMetadata/v1/instance/service-accounts/default/token`, only with
 *   `Metadata-Flavor: Google`, as the real one);
 * - Cloud Storage objects (JSON API: media download by name and generation, media upload with `ifGenerationMatch=0`,
 *   412 when the object exists, list by prefix in one page), kept as files under a directory;
 * - Cloud Build's `builds.get` and `builds.approve` for builds registered with {@link GoogleStandIn.addBuild}: the
 *   approver is the identity the bearer token belongs to (tokens are handed out per listed identity), never a field of
 *   the request.
 * Secret Manager is not served: Cloud Build resolves `availableSecrets` itself before the steps run (secrets.ts).
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CloudBuildBuild } from '../gate/cloudbuild';

/** The running stand-in. */
export interface GoogleStandIn {
  /** Base URL of all three APIs (`http://127.0.0.1:PORT`). */
  readonly url: string;
  /** The token the metadata server hands to steps (the build's own service account). */
  readonly buildToken: string;
  /** Registers a build that waits for approval; returns it. */
  addBuild(build: { project: string; location: string; id: string; substitutions?: Record<string, string> }): CloudBuildBuild;
  /** A bearer token for a person, to approve with. */
  tokenFor(email: string): string;
  /** Names of the objects in a bucket (latest generations), in name order. */
  objects(bucket: string): string[];
  /** The latest generation of an object. */
  generation(bucket: string, name: string): string | undefined;
  /** The current record of a build. */
  build(id: string): CloudBuildBuild | undefined;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The stand-in's objects: files under `dir` (`<bucket>/<object>#<generation>`), the latest generation of each. */
interface ObjectStore {
  readonly dir: string;
  readonly latest: Map<string, number>;
  readonly next: () => number;
}

function objectFile(store: ObjectStore, bucket: string, name: string, gen: number): string {
  return join(store.dir, encodeURIComponent(bucket), `${encodeURIComponent(name)}#${gen}`);
}

/** Cloud Storage's objects.get (media), objects.list and the media upload; false when `req` is none of them. */
async function storage(req: IncomingMessage, res: ServerResponse, url: URL, store: ObjectStore): Promise<boolean> {
  const { latest } = store;
  let m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
  if (m && req.method === 'GET') {
    const [bucket, name] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
    const gen = Number(url.searchParams.get('generation') ?? latest.get(`${bucket}/${name}`) ?? 0);
    const bytes = await readFile(objectFile(store, bucket, name, gen)).catch(() => undefined);
    if (!bytes) send(res, 404, { error: { code: 404, message: 'No such object' } });
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
    return true;
  }
  m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  if (m && req.method === 'GET') {
    // objects.list: the latest generation of each object under `prefix`, in name order, in one page.
    const [bucket, prefix] = [decodeURIComponent(m[1]), url.searchParams.get('prefix') ?? ''];
    const items = [...latest]
      .filter(([key]) => key.startsWith(`${bucket}/${prefix}`))
      .map(([key, gen]) => ({ bucket, name: key.slice(bucket.length + 1), generation: String(gen) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    send(res, 200, { kind: 'storage#objects', ...(items.length > 0 ? { items } : {}) });
    return true;
  }
  m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  if (!m || req.method !== 'POST') return false;
  const [bucket, name] = [decodeURIComponent(m[1]), url.searchParams.get('name') ?? ''];
  const data = await body(req);
  if (url.searchParams.get('ifGenerationMatch') === '0' && latest.has(`${bucket}/${name}`)) {
    send(res, 412, { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } });
    return true;
  }
  const gen = store.next();
  await mkdir(join(store.dir, encodeURIComponent(bucket)), { recursive: true });
  await writeFile(objectFile(store, bucket, name, gen), data);
  latest.set(`${bucket}/${name}`, gen);
  send(res, 200, { bucket, name, generation: String(gen), size: String(data.length) });
  return true;
}

/** Starts the stand-in; objects are files under `dir` (`<bucket>/<object>#<generation>`). */
export async function startGoogleStandIn(dir: string): Promise<GoogleStandIn> {
  await mkdir(dir, { recursive: true });
  const buildToken = `standin-build-${randomBytes(12).toString('hex')}`;
  const people = new Map<string, string>();
  const builds = new Map<string, { project: string; location: string; record: CloudBuildBuild }>();
  const latest = new Map<string, number>();
  let generation = 1_700_000_000_000_000;
  const store: ObjectStore = { dir, latest, next: () => ++generation };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') return send(res, 403, { error: 'Missing Metadata-Flavor:Google header' });
      return send(res, 200, { access_token: buildToken, expires_in: 3599, token_type: 'Bearer' });
    }
    const caller = token === buildToken ? 'build' : [...people].find(([, t]) => t === token)?.[0];
    if (!caller) return send(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.' } });
    if (await storage(req, res, url, store)) return;
    const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/builds\/([^/:]+)(:approve)?$/.exec(url.pathname);
    const b = m ? builds.get(m[3]) : undefined;
    if (!m || !b || b.project !== m[1] || b.location !== m[2]) return send(res, 404, { error: { code: 404, message: 'not found' } });
    if (!m[4] && req.method === 'GET') return send(res, 200, b.record);
    if (m[4] && req.method === 'POST') return approve(req, res, b, caller);
    send(res, 405, { error: { code: 405, message: 'method not allowed' } });
  };

  const approve = async (req: IncomingMessage, res: ServerResponse, b: { record: CloudBuildBuild }, caller: string) => {
    if (caller === 'build') return send(res, 403, { error: { code: 403, message: 'the build cannot approve itself' } });
    if (b.record.approval?.state !== 'PENDING') return send(res, 400, { error: { code: 400, message: 'build is not pending approval' } });
    const req_ = JSON.parse((await body(req)).toString() || '{}') as {
      approvalResult?: { decision?: 'APPROVED' | 'REJECTED'; comment?: string };
    };
    const decision = req_.approvalResult?.decision;
    if (decision !== 'APPROVED' && decision !== 'REJECTED')
      return send(res, 400, { error: { code: 400, message: 'approvalResult.decision must be APPROVED or REJECTED' } });
    b.record = {
      ...b.record,
      approval: {
        state: decision,
        result: {
          approverAccount: caller,
          approvalTime: new Date().toISOString(),
          decision,
          ...(req_.approvalResult?.comment ? { comment: req_.approvalResult.comment } : {}),
        },
      },
    };
    send(res, 200, { done: true, response: b.record });
  };

  const server = createServer(
    (req, res) => void handle(req, res).catch((e: Error) => send(res, 500, { error: { code: 500, message: e.message } })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    buildToken,
    addBuild(build) {
      const record: CloudBuildBuild = { id: build.id, substitutions: build.substitutions ?? {}, approval: { state: 'PENDING' } };
      builds.set(build.id, { project: build.project, location: build.location, record });
      return record;
    },
    tokenFor(email) {
      if (!people.has(email)) people.set(email, `standin-user-${randomBytes(12).toString('hex')}`);
      return people.get(email)!;
    },
    build: (id) => builds.get(id)?.record,
    generation: (bucket, name) => (latest.has(`${bucket}/${name}`) ? String(latest.get(`${bucket}/${name}`)) : undefined),
    objects: (bucket) =>
      [...latest.keys()]
        .filter((k) => k.startsWith(`${bucket}/`))
        .map((k) => k.slice(bucket.length + 1))
        .sort(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
