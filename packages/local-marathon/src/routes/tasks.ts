/** `GET /v2/tasks` (with `status` filters) and `POST /v2/tasks/delete` (§12), plus the kill reply shared with apps. */
import { HttpError, isObject } from '../json';
import { Marathon, Reply } from '../marathon';
import { flag, jsonBody } from '../request';
import { Task } from '../scheduler';
import { Resource, RouteContext, NOT_ALLOWED } from './types';

/** Kills tasks and answers as Marathon does: a D-result with `scale`, else the killed task(s). */
export function killReply(m: Marathon, tasks: Task[], scale: boolean, force: boolean, single: boolean): Reply {
  const { result, killed } = m.killTasks(tasks, scale, force);
  if (result) return { status: 200, body: result, headers: { 'Marathon-Deployment-Id': result.deploymentId } };
  if (single) return { status: 200, body: { task: m.taskJson(killed[0]) } };
  return { status: 200, body: { tasks: killed.map((t) => m.taskJson(t)) } };
}

/** The tasks resource. */
export function tasksResource(ctx: RouteContext): Resource {
  const m = ctx.marathon;
  return {
    owns: (path) => path === '/v2/tasks' || path === '/v2/tasks/delete',
    async handle({ req, url, method, path, force }) {
      if (path === '/v2/tasks') {
        if (method !== 'GET') return NOT_ALLOWED;
        const statuses = url.searchParams.getAll('status').map((s) => `TASK_${s.toUpperCase()}`);
        const tasks = m.scheduler.allTasks().filter((t) => !statuses.length || statuses.includes(t.state));
        return { status: 200, body: { tasks: tasks.map((t) => m.taskJson(t)) } };
      }
      if (method !== 'POST') return NOT_ALLOWED;
      const body = await jsonBody(req);
      if (!isObject(body) || !Array.isArray(body.ids) || !body.ids.every((x) => typeof x === 'string')) {
        throw new HttpError(422, { message: 'Invalid JSON', details: [{ path: '/ids', errors: ['error.expected.jsarray'] }] });
      }
      const ids = new Set(body.ids as string[]);
      const tasks = m.scheduler.allTasks().filter((t) => ids.has(t.id) || ids.has(t.instanceId));
      return killReply(m, tasks, flag(url, 'scale', false), force, false);
    },
  };
}
