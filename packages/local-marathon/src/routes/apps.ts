/**
 * `/v2/apps` (list with filters and embeds, create, bulk update) and `/v2/apps/{id}[/...]` (app, versions, tasks,
 * restart, task kills, update, delete) (§3, §7, §8, §11). The id pattern is `.+`, so keyword suffixes are matched
 * first, as JAX-RS does.
 */
import { canonicalId } from '../app-definition';
import { HttpError, JsonObject, appNotFound, isObject } from '../json';
import { Marathon, Reply } from '../marathon';
import { flag, isJsonType, jsonBody } from '../request';
import { Task } from '../scheduler';
import { killReply } from './tasks';
import { Resource, RouteContext, RouteRequest, NOT_ALLOWED } from './types';

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
export function labelMatches(selector: string, labels: JsonObject): boolean {
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

/** `GET /v2/apps` with `id`, `cmd` and `label` filters and `embed`s. */
function listApps(m: Marathon, url: URL): Reply {
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

/** `/v2/apps` itself. */
async function appsCollection(m: Marathon, { req, url, method, path, force, clientIp }: RouteRequest): Promise<Reply> {
  if (method === 'GET') return listApps(m, url);
  if (method === 'POST') return m.create(await jsonBody(req), force, path, clientIp);
  if (method === 'PUT') return m.updateMany(await jsonBody(req), { partial: flag(url, 'partialUpdate', true), force });
  if (method === 'PATCH') return m.updateMany(await jsonBody(req), { partial: true, force });
  return NOT_ALLOWED;
}

function appOr404(m: Marathon, rawId: string) {
  const id = canonicalId(rawId);
  const app = m.store.apps.get(id);
  if (!app) throw appNotFound(id);
  return app;
}

function appTasksOr404(m: Marathon, appId: string): Task[] {
  if (!m.store.apps.has(appId)) throw appNotFound(appId);
  return m.scheduler.appTasks(appId);
}

/** GETs under `/v2/apps/`: one version, the version list, the tasks, a group's apps (`/*`), or the app. */
function getUnderApp(m: Marathon, rest: string): Reply {
  let mm: RegExpExecArray | null;
  if ((mm = /^(.+)\/versions\/([^/]+)$/.exec(rest))) {
    const app = appOr404(m, mm[1]);
    const ts = decodeURIComponent(mm[2]);
    const wanted = Date.parse(ts);
    if (Number.isNaN(wanted) || !/^\d{4}-\d\d-\d\dT/.test(ts)) {
      throw new HttpError(422, { message: `Invalid timestamp provided '${ts}'. Expecting ISO-8601 datetime string.` });
    }
    const v = app.versions.find((x) => Date.parse(x.version) === wanted);
    if (!v) throw new HttpError(404, { message: `App '${app.id}' does not exist in version ${ts}` });
    return { status: 200, body: m.versionJson(v) };
  }
  if ((mm = /^(.+)\/versions$/.exec(rest))) {
    return {
      status: 200,
      body: {
        versions: appOr404(m, mm[1])
          .versions.map((v) => v.version)
          .reverse(),
      },
    };
  }
  if ((mm = /^(.+)\/tasks$/.exec(rest))) {
    return { status: 200, body: { tasks: appTasksOr404(m, canonicalId(mm[1])).map((t) => m.taskJson(t)) } };
  }
  if ((mm = /^(.*)\/\*$/.exec(rest))) {
    const group = canonicalId(mm[1]);
    const prefix = group === '/' ? '/' : `${group}/`;
    const apps = [...m.store.apps.values()].filter((a) => a.id.startsWith(prefix));
    return { status: 200, body: { '*': apps.map((a) => m.appJson(a, 'single')) } };
  }
  return { status: 200, body: { app: m.appJson(appOr404(m, rest), 'single') } };
}

/** DELETEs under `/v2/apps/`: one task, the app's tasks (optionally on one host), or the app (force defaults to true). */
function deleteUnderApp(m: Marathon, url: URL, rest: string, force: boolean): Reply {
  const scale = flag(url, 'scale', false);
  let mm: RegExpExecArray | null;
  if ((mm = /^(.+)\/tasks\/([^/]+)$/.exec(rest))) {
    const taskId = decodeURIComponent(mm[2]);
    const task = appTasksOr404(m, canonicalId(mm[1])).find((t) => t.id === taskId || t.instanceId === taskId);
    if (!task) throw new HttpError(404, { message: `Task '${taskId}' does not exist` });
    return killReply(m, [task], scale, force, true);
  }
  if ((mm = /^(.+)\/tasks$/.exec(rest))) {
    const host = url.searchParams.get('host');
    const local = !host || host === '*' || host === '127.0.0.1' || host === 'localhost';
    const tasks = appTasksOr404(m, canonicalId(mm[1])).filter((t) => !t.killing && local);
    return killReply(m, tasks, scale, force, false);
  }
  return m.remove(rest, flag(url, 'force', true));
}

/** `/v2/apps/{id}[/...]`. */
async function underApp(m: Marathon, { req, url, method, path, force, clientIp }: RouteRequest): Promise<Reply> {
  const rest = path.slice('/v2/apps'.length);
  if (method === 'GET') return getUnderApp(m, rest);
  if (method === 'DELETE') return deleteUnderApp(m, url, rest, force);
  if (method === 'POST') {
    const restart = /^(.+)\/restart$/.exec(rest);
    if (!restart) return NOT_ALLOWED;
    const ct = req.headers['content-type'];
    if (ct && !isJsonType(ct)) throw new HttpError(415, { message: 'Unsupported Media Type' });
    return m.restart(restart[1], force);
  }
  if (method === 'PUT') {
    return m.update(rest, await jsonBody(req), { partial: flag(url, 'partialUpdate', true), force }, path, clientIp);
  }
  if (method === 'PATCH') return m.update(rest, await jsonBody(req), { partial: true, force, patch: true }, path, clientIp);
  return NOT_ALLOWED;
}

/** The apps resource. */
export function appsResource(ctx: RouteContext): Resource {
  const m = ctx.marathon;
  return {
    owns: (path) => path === '/v2/apps' || path.startsWith('/v2/apps/'),
    handle: (r) => (r.path === '/v2/apps' ? appsCollection(m, r) : underApp(m, r)),
  };
}
