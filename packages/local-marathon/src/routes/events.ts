/** `GET /v2/events`: the Server-Sent Events stream (§14), filtered by `event_type`. */
import { Resource, RouteContext, NOT_ALLOWED } from './types';

/** The event stream resource. */
export function eventsResource(ctx: RouteContext): Resource {
  return {
    owns: (path) => path === '/v2/events',
    async handle({ res, url, method, clientIp }) {
      if (method !== 'GET') return NOT_ALLOWED;
      res.setHeader('X-Marathon-Leader', ctx.leader());
      ctx.marathon.events.attach(res, url.searchParams.getAll('event_type'), clientIp);
      return undefined;
    },
  };
}
