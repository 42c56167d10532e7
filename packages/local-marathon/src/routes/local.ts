/**
 * `/__local/*`: what real Marathon does not have, so it never appears in Marathon's responses. How this server runs
 * (`/__local/info`), how each task runs (`/__local/tasks`: runner kind, pid, sandbox), fault injection
 * (`/__local/faults`) and a state dump (`/__local/state`).
 */
import { FAULT_KINDS, faultJson } from '../faults';
import { JsonObject } from '../json';
import { Reply } from '../marathon';
import { Task } from '../scheduler';
import { jsonBody } from '../request';
import { Resource, RouteContext, RouteRequest, NOT_ALLOWED } from './types';

/**
 * How a task runs: its runner kind (`pending` until started), the pid of its process group leader, its sandbox, and
 * for a `docker` task its container name.
 */
function localTask(t: Task): JsonObject {
  return {
    id: t.id,
    appId: t.appId,
    state: t.state,
    runner: t.runner ?? 'pending',
    pid: t.proc?.pid ?? null,
    sandbox: t.proc?.sandbox ?? null,
    container: t.proc?.container ?? null,
  };
}

/** The `/__local` resources. */
export function localResource(ctx: RouteContext): Resource {
  const m = ctx.marathon;

  const faults = async ({ req, method }: RouteRequest): Promise<Reply> => {
    if (method === 'GET') return { status: 200, body: { faults: m.faults.list().map(faultJson) } };
    if (method === 'DELETE') {
      m.faults.clear();
      return { status: 200, body: { faults: [] } };
    }
    if (method !== 'POST') return NOT_ALLOWED;
    const fault = m.faults.add(await jsonBody(req));
    if (fault.kind === 'crash') {
      for (const t of m.scheduler.appTasks(fault.appId as string)) m.scheduler.kill(t, 'crash');
      fault.remaining = 0;
    }
    return { status: 201, body: faultJson(fault) };
  };

  const state = (): Reply => ({
    status: 200,
    body: {
      apps: [...m.store.apps.values()].map((a) => ({
        id: a.id,
        current: m.versionJson(a.current),
        versions: a.versions.map((v) => v.version),
      })),
      deployments: [...m.store.deployments.values()].map((d) => ({ ...m.deploymentJson(d), hung: d.hung })),
      tasks: m.scheduler.allTasks().map((t) => ({ ...m.taskJson(t), local: localTask(t) })),
      faults: m.faults.list().map(faultJson),
      faultKinds: [...FAULT_KINDS],
    },
  });

  return {
    owns: (path) => path === '/__local' || path.startsWith('/__local/'),
    async handle(r): Promise<Reply> {
      if (r.path === '/__local/faults') return faults(r);
      if (r.path === '/__local/state') return r.method === 'GET' ? state() : NOT_ALLOWED;
      if (r.path === '/__local/info') return r.method === 'GET' ? { status: 200, body: await ctx.localInfo() } : NOT_ALLOWED;
      if (r.path === '/__local/tasks') {
        return r.method === 'GET' ? { status: 200, body: { tasks: m.scheduler.allTasks().map(localTask) } } : NOT_ALLOWED;
      }
      return {
        status: 404,
        body: { message: `Unknown admin path ${r.path}: use /__local/info, /__local/tasks, /__local/faults or /__local/state` },
      };
    },
  };
}
