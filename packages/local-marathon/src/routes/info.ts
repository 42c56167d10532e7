/** `/ping` (content negotiation, §13), `/v2/info`, `/v2/leader` and `/v2/queue`. */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Resource, RouteContext, NOT_ALLOWED } from './types';

const PATHS = ['/ping', '/v2/info', '/v2/leader', '/v2/queue'];

/** `/ping`: text `pong`, JSON `"pong"`, or 204 when neither is acceptable. */
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
  return answer(204);
}

/** The server-information resources. */
export function infoResource(ctx: RouteContext): Resource {
  return {
    owns: (path) => PATHS.includes(path),
    async handle({ req, res, method, path }) {
      if (method !== 'GET') return NOT_ALLOWED;
      if (path === '/ping') return ping(req, res, ctx.leader());
      if (path === '/v2/info') return { status: 200, body: await ctx.info() };
      if (path === '/v2/leader') return { status: 200, body: { leader: ctx.hostPort() } };
      return { status: 200, body: { queue: [] } };
    },
  };
}
