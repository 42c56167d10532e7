/**
 * The HTTP surface: routing of Marathon's REST paths, body and media-type handling (400/415/406), auth (Jetty basic
 * or DC/OS token), the leader header, fault injection and the `/__local` admin paths. SEMANTICS.md §1-§4, §13, §14.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { FAULT_KINDS, faultJson } from './faults';
import { HttpError, Json, JsonObject, appNotFound, isObject } from './json';
import { Marathon, Reply } from './marathon';
import { Task } from './scheduler';
import { canonicalId } from './app-definition';

/** What the handler needs besides the state machine. */
export interface HttpContext {
  marathon: Marathon;
  /** `user:pass` for basic auth. */
  credentials?: string;
  /** DC/OS token for `Authorization: token=<token>`. */
  token?: string;
  /** The bound port (known after listen). */
  port: () => number;
  /** `/v2/info` body. */
  info: () => Promise<JsonObject>;
  log: (line: string) => void;
}

const MAX_BODY = 10 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, { message: 'Request Entity Too Large' }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isJsonType(ct: string | undefined): boolean {
  return !!ct && /^application\/json\s*(;|$)/i.test(ct.trim());
}

/** §1/§4: 415 without a JSON content type, 400 for an empty or unparsable body. */
async function jsonBody(req: IncomingMessage): Promise<Json> {
  if (!isJsonType(req.headers['content-type'])) throw new HttpError(415, { message: 'Unsupported Media Type' });
  const raw = await readBody(req);
  if (!raw.trim()) {
    throw new HttpError(400, { message: 'Please specify data in JSON format', details: 'No content to map due to end-of-input' });
  }
  try {
    return JSON.parse(raw) as Json;
  } catch (e) {
    throw new HttpError(400, { message: 'Invalid JSON', details: e instanceof Error ? e.message : String(e) });
  }
}

function flag(url: URL, name: string, def: boolean): boolean {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return def;
  return v.toLowerCase() === 'true';
}

/** §3: embed values with optional `app.`/`apps.`/`group.apps.` prefixes. */
function embeds(url: URL): Set<string> {
  const out = new Set<string>();
  for (const raw of url.searchParams.getAll('embed')) {
    const v = raw.replace(/^(group\.apps\.|apps\.|app\.)/, '');
    if (v === 'failures') ['tasks', 'lastTaskFailure', 'deployments'].forEach((x) => out.add(x));
    else out.add(v);
  }
  return out;
}

/** Marathon's label selector: `k`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, comma-separated (all must hold). */
function labelMatches(selector: string, labels: JsonObject): boolean {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms.every((raw) => {
    const term = raw.trim();
    if (!term) return true;
    let m = /^(.+?)\s*(==|!=)\s*(.*)$/.exec(term);
    if (m) return m[2] === '==' ? labels[m[1]] === m[3] : labels[m[1]] !== m[3];
    m = /^(.+?)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (m) {
      const values = m[3].split(',').map((s) => s.trim());
      const has = typeof labels[m[1]] === 'string' && values.includes(labels[m[1]] as string);
      return m[2] === 'in' ? has : !has;
    }
    return term in labels;
  });
}

function jettyUnauthorized(path: string): string {
  const safe = path.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n<title>Error 401 Unauthorized</title>\n</head>\n<body><h2>HTTP ERROR 401</h2>\n<p>Problem accessing ${safe}. Reason:\n<pre>    Unauthorized</pre></p>\n</body>\n</html>\n`;
}

/** Builds the request handler. */
export function createHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  const m = ctx.marathon;
  const leader = () => `http://127.0.0.1:${ctx.port()}`;

  const send = (res: ServerResponse, reply: Reply): void => {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = { 'X-Marathon-Leader': leader(), ...reply.headers };
    if (headers.Location && String(headers.Location).startsWith('/')) headers.Location = `${leader()}${headers.Location}`;
    if (reply.body === undefined && reply.raw === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const text = reply.raw ?? JSON.stringify(reply.body);
    headers['Content-Type'] = 'application/json; charset=utf-8';
    headers['Content-Length'] = Buffer.byteLength(text);
    res.writeHead(reply.status, headers);
    res.end(text);
  };

  const authorized = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    const auth = req.headers.authorization ?? '';
    if (ctx.credentials) {
      const expected = `Basic ${Buffer.from(ctx.credentials).toString('base64')}`;
      if (auth !== expected) {
        const body = jettyUnauthorized(path);
        res.writeHead(401, {
          'WWW-Authenticate': 'Basic realm="Mesosphere"',
          'Content-Type': 'text/html;charset=iso-8859-1',
          'Content-Length': Buffer.byteLength(body),
          'Cache-Control': 'must-revalidate,no-cache,no-store',
        });
        res.end(body);
        return false;
      }
    }
    if (ctx.token && auth !== `token=${ctx.token}`) {
      // The body is Admin Router's business, not Marathon's (§2); clients should only look at the status.
      const body = '<html><head><title>401 Authorization Required</title></head><body><h1>401 Authorization Required</h1></body></html>\n';
      res.writeHead(401, { 'WWW-Authenticate': 'acsjwt', 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return false;
    }
    return true;
  };

  const admin = async (req: IncomingMessage, path: string): Promise<Reply> => {
    if (path === '/__local/faults') {
      if (req.method === 'GET') return { status: 200, body: { faults: m.faults.list().map(faultJson) } };
      if (req.method === 'DELETE') {
        m.faults.clear();
        return { status: 200, body: { faults: [] } };
      }
      if (req.method === 'POST') {
        const fault = m.faults.add(await jsonBody(req));
        if (fault.kind === 'crash') {
          for (const t of m.scheduler.appTasks(fault.appId as string)) m.scheduler.kill(t, 'crash');
          fault.remaining = 0;
        }
        return { status: 201, body: faultJson(fault) };
      }
      return { status: 405, body: { message: 'HTTP 405 Method Not Allowed' } };
    }
    if (path === '/__local/state' && req.method === 'GET') {
      return {
        status: 200,
        body: {
          apps: [...m.store.apps.values()].map((a) => ({
            id: a.id,
            current: m.versionJson(a.current),
            versions: a.versions.map((v) => v.version),
          })),
          deployments: [...m.store.deployments.values()].map((d) => ({ ...m.deploymentJson(d), hung: d.hung })),
          tasks: m.scheduler.allTasks().map((t) => m.taskJson(t)),
          faults: m.faults.list().map(faultJson),
          faultKinds: [...FAULT_KINDS],
        },
      };
    }
    return { status: 404, body: { message: `Unknown admin path ${path}: use /__local/faults or /__local/state` } };
  };

  const appTasksOr404 = (appId: string): Task[] => {
    if (!m.store.apps.has(appId)) throw appNotFound(appId);
    return m.scheduler.appTasks(appId);
  };

  const killReply = (tasks: Task[], scale: boolean, force: boolean, single: boolean): Reply => {
    const { result, killed } = m.killTasks(tasks, scale, force);
    if (result) return { status: 200, body: result, headers: { 'Marathon-Deployment-Id': result.deploymentId } };
    if (single) return { status: 200, body: { task: m.taskJson(killed[0]) } };
    return { status: 200, body: { tasks: killed.map((t) => m.taskJson(t)) } };
  };

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<Reply | undefined> => {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const clientIp = req.socket.remoteAddress ?? '127.0.0.1';
    const notAllowed: Reply = { status: 405, body: { message: 'HTTP 405 Method Not Allowed' } };
    const force = flag(url, 'force', false);

    if (path === '/ping') {
      if (method !== 'GET') return notAllowed;
      return ping(req, res, leader());
    }
    if (path.startsWith('/v2/') && path !== '/v2/events' && !acceptsJson(req.headers.accept, path === '/v2/tasks')) {
      return { status: 406, body: { message: 'Not Acceptable' } };
    }
    if (path === '/v2/info') return method === 'GET' ? { status: 200, body: await ctx.info() } : notAllowed;
    if (path === '/v2/leader') return method === 'GET' ? { status: 200, body: { leader: `127.0.0.1:${ctx.port()}` } } : notAllowed;
    if (path === '/v2/queue') return method === 'GET' ? { status: 200, body: { queue: [] } } : notAllowed;
    if (path === '/v2/events') {
      if (method !== 'GET') return notAllowed;
      res.setHeader('X-Marathon-Leader', leader());
      m.events.attach(res, url.searchParams.getAll('event_type'), clientIp);
      return undefined;
    }
    if (path === '/v2/deployments') {
      if (method !== 'GET') return notAllowed;
      return { status: 200, body: [...m.store.deployments.values()].map((d) => m.deploymentJson(d)) };
    }
    const depMatch = /^\/v2\/deployments\/([^/]+)$/.exec(path);
    if (depMatch) return method === 'DELETE' ? m.cancelDeployment(decodeURIComponent(depMatch[1]), force) : notAllowed;
    if (path === '/v2/tasks') {
      if (method !== 'GET') return notAllowed;
      const statuses = url.searchParams.getAll('status').map((s) => `TASK_${s.toUpperCase()}`);
      const tasks = m.scheduler.allTasks().filter((t) => !statuses.length || statuses.includes(t.state));
      return { status: 200, body: { tasks: tasks.map((t) => m.taskJson(t)) } };
    }
    if (path === '/v2/tasks/delete') {
      if (method !== 'POST') return notAllowed;
      const body = await jsonBody(req);
      if (!isObject(body) || !Array.isArray(body.ids) || !body.ids.every((x) => typeof x === 'string')) {
        throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: '/ids', errors: ['error.expected.jsarray'] }] });
      }
      const ids = new Set(body.ids as string[]);
      const tasks = m.scheduler.allTasks().filter((t) => ids.has(t.id) || ids.has(t.instanceId));
      return killReply(tasks, flag(url, 'scale', false), force, false);
    }
    if (path === '/v2/apps') {
      const partial = flag(url, 'partialUpdate', true);
      if (method === 'GET') {
        const e = embeds(url);
        const idFilter = url.searchParams.get('id')?.toLowerCase();
        const cmdFilter = url.searchParams.get('cmd')?.toLowerCase();
        const label = url.searchParams.get('label');
        const apps = [...m.store.apps.values()].filter((a) => {
          if (idFilter && !a.id.toLowerCase().includes(idFilter)) return false;
          if (
            cmdFilter &&
            !String(a.current.def.cmd ?? '')
              .toLowerCase()
              .includes(cmdFilter)
          )
            return false;
          if (label && !labelMatches(label, isObject(a.current.def.labels) ? a.current.def.labels : {})) return false;
          return true;
        });
        const opts = { tasks: e.has('tasks'), lastTaskFailure: e.has('lastTaskFailure'), readiness: e.has('readiness') };
        if (!opts.tasks && !opts.lastTaskFailure && !opts.readiness) return { status: 200, raw: m.appListRaw(apps, url.search) };
        return { status: 200, body: { apps: apps.map((a) => m.appJson(a, 'list', opts)) } };
      }
      if (method === 'POST') return m.create(await jsonBody(req), force, path, clientIp);
      if (method === 'PUT') return m.updateMany(await jsonBody(req), { partial, force });
      if (method === 'PATCH') return m.updateMany(await jsonBody(req), { partial: true, force });
      return notAllowed;
    }
    if (path.startsWith('/v2/apps/')) return appRoute(req, url, method, path.slice('/v2/apps'.length), force, clientIp);
    return { status: 500, body: { message: 'URI not found' } };
  };

  /** `/v2/apps/{id}[/...]`: the id pattern is `.+`, so keyword suffixes are matched first, as JAX-RS does. */
  const appRoute = async (
    req: IncomingMessage,
    url: URL,
    method: string,
    rest: string,
    force: boolean,
    clientIp: string,
  ): Promise<Reply> => {
    const uri = `/v2/apps${rest}`;
    let mm: RegExpExecArray | null;
    if (method === 'GET') {
      if ((mm = /^(.+)\/versions\/([^/]+)$/.exec(rest))) {
        const id = canonicalId(mm[1]);
        const app = m.store.apps.get(id);
        if (!app) throw appNotFound(id);
        const ts = decodeURIComponent(mm[2]);
        const wanted = Date.parse(ts);
        if (Number.isNaN(wanted) || !/^\d{4}-\d\d-\d\dT/.test(ts)) {
          throw new HttpError(422, { message: `Invalid timestamp provided '${ts}'. Expecting ISO-8601 datetime string.` });
        }
        const v = app.versions.find((x) => Date.parse(x.version) === wanted);
        if (!v) throw new HttpError(404, { message: `App '${id}' does not exist in version ${ts}` });
        return { status: 200, body: m.versionJson(v) };
      }
      if ((mm = /^(.+)\/versions$/.exec(rest))) {
        const id = canonicalId(mm[1]);
        const app = m.store.apps.get(id);
        if (!app) throw appNotFound(id);
        return { status: 200, body: { versions: app.versions.map((v) => v.version).reverse() } };
      }
      if ((mm = /^(.+)\/tasks$/.exec(rest))) {
        const id = canonicalId(mm[1]);
        return { status: 200, body: { tasks: appTasksOr404(id).map((t) => m.taskJson(t)) } };
      }
      if ((mm = /^(.*)\/\*$/.exec(rest))) {
        const group = canonicalId(mm[1]);
        const prefix = group === '/' ? '/' : `${group}/`;
        const apps = [...m.store.apps.values()].filter((a) => a.id.startsWith(prefix));
        return { status: 200, body: { '*': apps.map((a) => m.appJson(a, 'single')) } };
      }
      const id = canonicalId(rest);
      const app = m.store.apps.get(id);
      if (!app) throw appNotFound(id);
      return { status: 200, body: { app: m.appJson(app, 'single') } };
    }
    if (method === 'POST') {
      if ((mm = /^(.+)\/restart$/.exec(rest))) {
        const ct = req.headers['content-type'];
        if (ct && !isJsonType(ct)) throw new HttpError(415, { message: 'Unsupported Media Type' });
        return m.restart(mm[1], force);
      }
      return { status: 405, body: { message: 'HTTP 405 Method Not Allowed' } };
    }
    if (method === 'DELETE') {
      const scale = flag(url, 'scale', false);
      if ((mm = /^(.+)\/tasks\/([^/]+)$/.exec(rest))) {
        const id = canonicalId(mm[1]);
        const taskId = decodeURIComponent(mm[2]);
        const task = appTasksOr404(id).find((t) => t.id === taskId || t.instanceId === taskId);
        if (!task) throw new HttpError(404, { message: `Task '${taskId}' does not exist` });
        return killReply([task], scale, force, true);
      }
      if ((mm = /^(.+)\/tasks$/.exec(rest))) {
        const id = canonicalId(mm[1]);
        const host = url.searchParams.get('host');
        const tasks = appTasksOr404(id).filter(
          (t) => !t.killing && (!host || host === '*' || host === '127.0.0.1' || host === 'localhost'),
        );
        return killReply(tasks, scale, force, false);
      }
      return m.remove(rest, flag(url, 'force', true));
    }
    if (method === 'PUT') return m.update(rest, await jsonBody(req), { partial: flag(url, 'partialUpdate', true), force }, uri, clientIp);
    if (method === 'PATCH') return m.update(rest, await jsonBody(req), { partial: true, force, patch: true }, uri, clientIp);
    return { status: 405, body: { message: 'HTTP 405 Method Not Allowed' } };
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    void (async () => {
      try {
        if (path.startsWith('/__local/')) {
          send(res, await admin(req, path));
          return;
        }
        const delay = m.faults.take('delay');
        if (delay) await new Promise((r) => setTimeout(r, delay.ms));
        if (m.faults.take('reset')) {
          req.socket.destroy();
          return;
        }
        const status = m.faults.take('status');
        if (status) {
          send(res, { status: status.status as number, body: { message: `Injected fault: HTTP ${status.status} (see /__local/faults)` } });
          return;
        }
        if (!authorized(req, res, path)) return;
        const reply = await route(req, res, url);
        if (reply) send(res, reply);
      } catch (e) {
        if (e instanceof HttpError) send(res, { status: e.status, body: e.body });
        else {
          ctx.log(`500 on ${req.method} ${path}: ${e instanceof Error ? e.stack : String(e)}`);
          send(res, { status: 500, body: { message: e instanceof Error ? e.message : String(e) } });
        }
      }
    })();
  };
}

/** §1: the JSON resources answer 406 to an Accept header that excludes JSON (`/v2/tasks` also serves text/plain). */
function acceptsJson(accept: string | undefined, textOk: boolean): boolean {
  if (!accept) return true;
  return accept.split(',').some((t) => {
    const type = t.split(';')[0].trim().toLowerCase();
    return (
      type === '*/*' || type === 'application/json' || type === 'application/*' || (textOk && (type === 'text/plain' || type === 'text/*'))
    );
  });
}

/** `/ping` content negotiation (§13): text `pong`, JSON `"pong"`, or 204 when neither is acceptable. */
function ping(req: IncomingMessage, res: ServerResponse, leader: string): undefined {
  const accept = req.headers.accept;
  const types = accept ? accept.split(',').map((t) => t.split(';')[0].trim().toLowerCase()) : ['*/*'];
  const answer = (status: number, type?: string, body?: string): undefined => {
    const headers: Record<string, string | number> = { 'X-Marathon-Leader': leader };
    if (type && body !== undefined) {
      headers['Content-Type'] = type;
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    res.writeHead(status, headers);
    res.end(body);
    return undefined;
  };
  for (const t of types) {
    if (t === '*/*' || t === 'text/*' || t === 'text/plain') return answer(200, 'text/plain', 'pong');
    if (t === 'application/json' || t === 'application/*') return answer(200, 'application/json', '"pong"');
  }
  answer(204);
  return undefined;
}
