/**
 * The HTTP surface: auth (Jetty basic or DC/OS token), the leader header, fault injection, media types (406), error
 * bodies, and dispatch to one route module per resource (./routes). SEMANTICS.md §1-§4, §13, §14.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, JsonObject } from './json';
import { Marathon, Reply } from './marathon';
import { acceptsJson, flag } from './request';
import { appsResource } from './routes/apps';
import { deploymentsResource } from './routes/deployments';
import { eventsResource } from './routes/events';
import { infoResource } from './routes/info';
import { localResource } from './routes/local';
import { tasksResource } from './routes/tasks';
import { Resource, RouteContext, RouteRequest } from './routes/types';

/** What the handler needs besides the state machine. */
export interface HttpContext {
  marathon: Marathon;
  /** `user:pass` for basic auth. */
  credentials?: string;
  /** DC/OS token for `Authorization: token=<token>`. */
  token?: string;
  /** `Host` names accepted besides the loopback ones. */
  allowedHosts: readonly string[];
  /** The bound port (known after listen). */
  port: () => number;
  /** `/v2/info` body. */
  info: () => Promise<JsonObject>;
  /** `/__local/info` body. */
  localInfo: () => Promise<JsonObject>;
  log: (line: string) => void;
}

function jettyUnauthorized(path: string): string {
  const safe = path.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n<title>Error 401 Unauthorized</title>\n</head>\n<body><h2>HTTP ERROR 401</h2>\n<p>Problem accessing ${safe}. Reason:\n<pre>    Unauthorized</pre></p>\n</body>\n</html>\n`;
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** The host name of a `Host` header, lower-cased, without its port (`[::1]:8080` -> `[::1]`). */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** Writes a reply with the leader header; a relative `Location` becomes absolute. */
function send(res: ServerResponse, leader: string, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { 'X-Marathon-Leader': leader, ...reply.headers };
  if (headers.Location && String(headers.Location).startsWith('/')) headers.Location = `${leader}${headers.Location}`;
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
}

/** Checks basic auth or the DC/OS token; on failure answers 401 the way Jetty / Admin Router do and returns false. */
function authorized(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, path: string): boolean {
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
}

/** Builds the request handler. */
export function createHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  const m = ctx.marathon;
  const leader = () => `http://127.0.0.1:${ctx.port()}`;
  const routeContext: RouteContext = {
    marathon: m,
    leader,
    hostPort: () => `127.0.0.1:${ctx.port()}`,
    info: ctx.info,
    localInfo: ctx.localInfo,
  };
  const local = localResource(routeContext);
  const resources: Resource[] = [
    infoResource(routeContext),
    eventsResource(routeContext),
    deploymentsResource(routeContext),
    tasksResource(routeContext),
    appsResource(routeContext),
  ];

  /**
   * Marathon's API: auth first (an unauthenticated client learns nothing, not even that faults are set), then injected
   * faults, then the resource that owns the path.
   */
  const api = async (r: RouteRequest): Promise<Reply | undefined> => {
    if (!authorized(ctx, r.req, r.res, r.url.pathname)) return undefined;
    const delay = m.faults.take('delay');
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay.ms));
    if (m.faults.take('reset')) {
      r.req.socket.destroy();
      return undefined;
    }
    const status = m.faults.take('status');
    if (status)
      return { status: status.status as number, body: { message: `Injected fault: HTTP ${status.status} (see /__local/faults)` } };
    if (r.path.startsWith('/v2/') && r.path !== '/v2/events' && !acceptsJson(r.req.headers.accept, r.path === '/v2/tasks')) {
      return { status: 406, body: { message: 'Not Acceptable' } };
    }
    const resource = resources.find((x) => x.owns(r.path));
    return resource ? resource.handle(r) : { status: 500, body: { message: 'URI not found' } };
  };

  const allowed = new Set([...LOOPBACK_HOSTS, ...ctx.allowedHosts.map((h) => hostName(h))]);

  return (req, res) => {
    // Against DNS rebinding: a page on evil.example that resolves to 127.0.0.1 sends `Host: evil.example`.
    const host = req.headers.host;
    if (!host || !allowed.has(hostName(host))) {
      const message = `Host '${host ?? ''}' is not allowed: use 127.0.0.1, localhost or [::1], or start the server with --allowed-hosts`;
      send(res, leader(), { status: 403, body: { message }, headers: { Connection: 'close' } });
      req.resume();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const r: RouteRequest = {
      req,
      res,
      url,
      method: req.method ?? 'GET',
      path: url.pathname.replace(/\/+$/, '') || '/',
      clientIp: req.socket.remoteAddress ?? '127.0.0.1',
      force: flag(url, 'force', false),
    };
    void (async () => {
      try {
        if (url.pathname.startsWith('/__local/')) {
          // Fault injection can kill tasks: it needs the same credentials as the API.
          if (!authorized(ctx, req, res, url.pathname)) return;
          const reply = await local.handle(r);
          if (reply) send(res, leader(), reply);
          return;
        }
        const reply = await api(r);
        if (reply) send(res, leader(), reply);
      } catch (e) {
        if (e instanceof HttpError) {
          // A 413 is sent before the body has been read: the connection closes after it.
          send(res, leader(), { status: e.status, body: e.body, headers: e.status === 413 ? { Connection: 'close' } : undefined });
        } else {
          ctx.log(`500 on ${req.method} ${url.pathname}: ${e instanceof Error ? e.stack : String(e)}`);
          send(res, leader(), { status: 500, body: { message: e instanceof Error ? e.message : String(e) } });
        }
      }
    })();
  };
}
