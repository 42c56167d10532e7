/** `GET /v2/deployments` and `DELETE /v2/deployments/{id}` (rollback, or 202 with `force`) (§9, §11). */
import { Resource, RouteContext, NOT_ALLOWED } from './types';

const ONE = /^\/v2\/deployments\/([^/]+)$/;

/** The deployments resource. */
export function deploymentsResource(ctx: RouteContext): Resource {
  const m = ctx.marathon;
  return {
    owns: (path) => path === '/v2/deployments' || ONE.test(path),
    async handle({ method, path, force }) {
      const one = ONE.exec(path);
      if (one) return method === 'DELETE' ? m.cancelDeployment(decodeURIComponent(one[1]), force) : NOT_ALLOWED;
      if (method !== 'GET') return NOT_ALLOWED;
      return { status: 200, body: [...m.store.deployments.values()].map((d) => m.deploymentJson(d)) };
    },
  };
}
