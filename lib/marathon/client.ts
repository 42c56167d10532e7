import { OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { abortableSleep, C2CError, interruption } from '../errors';
import { MarathonAppDefinition } from './app';

/**
 * THE one Marathon HTTP client: Node's `fetch`, a timeout on every request (`AbortSignal.timeout`), retries with
 * exponential backoff and jitter for idempotent calls only, typed errors, and credentials that never leave the
 * `Authorization` header (errors name the variable that held them, never the value).
 * @see reference/marathon-api/SEMANTICS.md §1-§4, §7-§12
 */

/** Where the credentials came from; errors name this, never the value. */
export type CredentialSource = 'MARATHON_TOKEN' | 'MARATHON_CREDENTIALS' | 'the URL' | 'none';

export interface MarathonAuth {
  /** Value of the `Authorization` header, or undefined for none. */
  readonly header?: string;
  readonly source: CredentialSource;
}

/** Reads `MARATHON_TOKEN` (`Authorization: token=...`, DC/OS) or else `MARATHON_CREDENTIALS` (`user:password`, Basic). */
export function authFromEnv(env: NodeJS.ProcessEnv): MarathonAuth {
  const token = env.MARATHON_TOKEN?.trim();
  if (token) {
    checkHeaderValue(token, 'MARATHON_TOKEN');
    return { header: `token=${token}`, source: 'MARATHON_TOKEN' };
  }
  const credentials = env.MARATHON_CREDENTIALS;
  if (credentials) {
    checkHeaderValue(credentials, 'MARATHON_CREDENTIALS');
    if (!credentials.includes(':')) {
      throw new C2CError('USAGE', "MARATHON_CREDENTIALS must be 'user:password'", {
        hint: 'set it as user:password (the value is never printed), or unset it',
      });
    }
    return { header: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`, source: 'MARATHON_CREDENTIALS' };
  }
  return { source: 'none' };
}

/**
 * Refuses a credential that is not printable ASCII (a newline, ESC, a non-ASCII character): it could split the header
 * or reach a terminal through an error. The message names the variable, never the value.
 */
function checkHeaderValue(value: string, source: CredentialSource): void {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new C2CError('USAGE', `${source} holds a character that is not printable ASCII (a newline or control character?)`, {
      hint: `set ${source} again from the secret's exact value (the value is never printed)`,
    });
  }
}

/** Largest answer read from Marathon (bytes); a bigger one is refused before it fills memory. */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface MarathonClientOptions {
  /** Base URL, may carry a path prefix (`https://master/service/marathon`). User info in it is used as Basic auth. */
  readonly baseUrl: string;
  /** Where the URL came from (`--marathon`, `MARATHON_URL`, ...): errors name it, never the value. @default 'the Marathon URL' */
  readonly urlSource?: string;
  /** @default - no authentication */
  readonly auth?: MarathonAuth;
  /** Per-request timeout. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Attempts for an idempotent call (1 = no retry). @default 6 */
  readonly attempts?: number;
  /** First backoff delay; doubles per attempt, with full jitter. @default 100 */
  readonly backoffMs?: number;
  /** @default 2000 */
  readonly maxBackoffMs?: number;
  /** Called before each retry (for progress output; never gets credentials). */
  readonly onRetry?: (info: RetryInfo) => void;
  /**
   * When the whole command must be over (epoch ms): no request, retry or backoff runs past it, and a request in flight
   * is cut at it. @default - none
   */
  readonly deadline?: number;
  /**
   * How long after `deadline` a request that changes Marathon (PUT, DELETE) may still be sent: time to send the
   * rollback of a deploy that failed at the deadline. Reads never get it. @default 0
   */
  readonly changeGraceMs?: number;
  /**
   * Aborts reads and retry pauses at once (an interrupt). A request that changes Marathon is let finish (it is bounded by
   * the request timeout and `deadline`), so the caller knows whether it arrived. @default - none
   */
  readonly signal?: AbortSignal;
  /** Largest answer read, in bytes: a longer body fails the request (MARATHON_BAD_RESPONSE). @default 32 MiB */
  readonly maxResponseBytes?: number;
}

export interface RetryInfo {
  readonly method: string;
  readonly path: string;
  readonly attempt: number;
  readonly reason: string;
  readonly delayMs: number;
}

/** An app as GET returns it, with `null`s (old Marathon) removed and the counters read. */
export interface MarathonAppInfo {
  readonly id: string;
  readonly instances: number;
  /** The definition's version; null only for a body without one (e.g. a POST echo). */
  readonly version: string | null;
  readonly lastConfigChangeAt: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string | null;
  readonly hasHealthChecks: boolean;
  readonly tasksStaged: number;
  readonly tasksRunning: number;
  readonly tasksHealthy: number;
  readonly tasksUnhealthy: number;
  /** Ids of the deployments that currently touch this app. */
  readonly deployments: readonly string[];
  readonly tasks: readonly MarathonTask[];
  readonly lastTaskFailure?: {
    readonly message?: string;
    readonly state?: string;
    readonly version?: string;
    readonly timestamp?: string;
    readonly taskId?: string;
  };
  /** The whole JSON object as received (nulls removed), for diffing. Never PUT it back (§7). */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface MarathonTask {
  readonly id: string;
  readonly appId: string;
  readonly state: string;
  readonly version: string | null;
  readonly host: string | null;
  readonly ports: readonly number[];
  readonly startedAt: string | null;
  /** `alive` of each health check result; empty when the app has none (or none ran yet). */
  readonly healthy: readonly boolean[];
}

export interface MarathonDeployment {
  readonly id: string;
  readonly version: string;
  readonly affectedApps: readonly string[];
  readonly currentStep: number;
  readonly totalSteps: number;
  readonly currentActions: readonly { readonly action: string; readonly app?: string }[];
}

/** One app waiting in Marathon's launch queue (`GET /v2/queue`). @see reference/marathon-api/raml/v2/types/queue.raml */
export interface QueuedApp {
  readonly appId: string;
  /** Instances left to launch. */
  readonly count: number;
  /** Seconds until the next launch attempt; with `overdue` false the app is backed off after failures. */
  readonly delaySeconds: number;
  readonly overdue: boolean;
  /** Why the last offers were declined (`processedOffersSummary.rejectSummaryLastOffers`), most declined first. */
  readonly declinedBecause: readonly { readonly reason: string; readonly declined: number }[];
}

/** A D-result: the deployment a change started (§3). */
export interface DeploymentRef {
  readonly deploymentId: string;
  /** The plan's version; equals the app's new version only if the app really changed (§7). */
  readonly version: string;
}

export interface MarathonInfo {
  readonly name: string;
  readonly version: string;
  readonly elected: boolean;
  readonly leader: string | null;
  readonly frameworkId: string | null;
  readonly features: readonly string[];
}

/** One field error of a 422 (`details[]`), with the path in Marathon's `/a/b(0)/c` notation. @see SEMANTICS.md §4 */
export interface FieldError {
  readonly path: string;
  readonly errors: readonly string[];
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface RequestSpec {
  readonly method: Method;
  readonly path: string;
  readonly query?: Record<string, string | boolean | undefined>;
  readonly body?: unknown;
  readonly idempotent: boolean;
  /** Statuses that are not errors for this call. */
  readonly ok?: readonly number[];
  /** The answer may be plain text (`/ping`); otherwise a 2xx body must be JSON. */
  readonly text?: boolean;
}

interface HttpResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers: HttpAnswer['headers'];
}

const RETRY_STATUS = (s: number) => s >= 500 && s <= 599;

export class MarathonClient {
  /** Base URL without user info and without a trailing slash; safe to print. */
  readonly baseUrl: string;
  readonly auth: MarathonAuth;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onRetry?: (info: RetryInfo) => void;
  /** See MarathonClientOptions.deadline. */
  readonly deadline?: number;
  /** See MarathonClientOptions.signal. */
  readonly signal?: AbortSignal;
  private readonly changeGraceMs: number;
  private readonly maxResponseBytes: number;
  private inFlight = 0;
  private busySince = 0;
  private busy = 0;

  /** Requests sent so far (including retries). */
  requestCount = 0;

  /** Wall time during which at least one request to Marathon was in flight, ms (for overhead measurements). */
  get busyMs(): number {
    return this.busy + (this.inFlight > 0 ? Date.now() - this.busySince : 0);
  }

  constructor(options: MarathonClientOptions) {
    // User info is cut off before anything parses the URL, so that no message can ever carry a password.
    const { rest, userInfo } = splitUserInfo(options.baseUrl);
    const source = options.urlSource ?? 'the Marathon URL';
    let url: URL | undefined;
    try {
      url = new URL(rest);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw new C2CError('USAGE', `${source} is not an http(s) URL${userInfo === undefined ? '' : ' (its user info is not shown)'}`, {
        hint: 'give http(s)://host:port[/prefix]; put credentials in MARATHON_CREDENTIALS (user:password) rather than in the URL',
      });
    }
    let auth: MarathonAuth = options.auth ?? { source: 'none' };
    if (userInfo !== undefined && auth.source === 'none') {
      auth = { header: `Basic ${Buffer.from(userInfo, 'utf8').toString('base64')}`, source: 'the URL' };
    }
    url.search = '';
    url.hash = '';
    this.baseUrl = url.toString().replace(/\/+$/, '');
    this.auth = auth;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.attempts = Math.max(1, options.attempts ?? 6);
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 2_000;
    this.onRetry = options.onRetry;
    this.deadline = options.deadline;
    this.changeGraceMs = options.changeGraceMs ?? 0;
    this.signal = options.signal;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** The app, or null when Marathon says it does not exist (404). */
  async getApp(id: string): Promise<MarathonAppInfo | null> {
    const res = await this.request({ method: 'GET', path: `/v2/apps${appPath(id)}`, idempotent: true, ok: [404] });
    if (res.status === 404) return null;
    const where = `GET /v2/apps${appPath(id)}`;
    const app = parseAppInfo(field(res.body, 'app', 'object', where), where);
    // An answer about another app (a proxy, a path rewrite) must never be taken for the live state of this one.
    if (normalizeAppId(app.id) !== normalizeAppId(id))
      throw unexpected(where, `the answer is about app ${JSON.stringify(app.id)}, not ${normalizeAppId(id)}`);
    return app;
  }

  /**
   * Replaces the whole definition (`partialUpdate=false`, so removed fields go away, §7) or creates the app.
   * Idempotent, so it is retried; a re-sent identical definition is a no-op for Marathon.
   */
  async putApp(id: string, app: MarathonAppDefinition, options: { force?: boolean } = {}): Promise<DeploymentRef> {
    const res = await this.request({
      method: 'PUT',
      path: `/v2/apps${appPath(id)}`,
      query: { partialUpdate: 'false', force: options.force ? 'true' : undefined },
      body: app,
      idempotent: true,
    });
    return parseDeploymentRef(res, 'PUT app');
  }

  /** Restores a stored version (`PUT {"version": ts}`, §11 C); Marathon creates a new version with that content. */
  async rollbackToVersion(id: string, version: string, options: { force?: boolean } = {}): Promise<DeploymentRef> {
    const res = await this.request({
      method: 'PUT',
      path: `/v2/apps${appPath(id)}`,
      query: { force: options.force ? 'true' : undefined },
      body: { version },
      idempotent: true,
    });
    return parseDeploymentRef(res, 'PUT app version');
  }

  /**
   * Creates an app (`POST /v2/apps`); Marathon answers 409 when the id exists, so two callers cannot both create it.
   * Never retried once it may have arrived.
   */
  async createApp(app: MarathonAppDefinition): Promise<DeploymentRef> {
    const res = await this.request({ method: 'POST', path: '/v2/apps', body: app, idempotent: false });
    const b = record(res.body ?? {});
    const deploymentId =
      (Array.isArray(b.deployments) ? str(record(b.deployments[0] ?? {}).id) : undefined) ?? res.headers.get('marathon-deployment-id');
    if (!deploymentId) {
      throw new C2CError('MARATHON_BAD_RESPONSE', "Marathon's answer to POST /v2/apps has no deployment id", {
        hint: 'is the URL really Marathon (and its path prefix right)?',
      });
    }
    return { deploymentId, version: str(b.version) ?? '' };
  }

  /**
   * Scales an app (`PUT /v2/apps/{id}` with only `instances`, a partial update: Marathon keeps the definition and makes a
   * scale deployment, §7). Idempotent.
   */
  async scaleApp(id: string, instances: number, options: { force?: boolean } = {}): Promise<DeploymentRef> {
    const res = await this.request({
      method: 'PUT',
      path: `/v2/apps${appPath(id)}`,
      query: { force: options.force ? 'true' : undefined },
      body: { instances },
      idempotent: true,
    });
    return parseDeploymentRef(res, 'PUT app instances');
  }

  /**
   * Kills the given tasks and, with `scale`, lowers their apps' instance counts by as many (`POST /v2/tasks/delete`,
   * as marathon-lb's `zdd.py` kills drained tasks). Never retried once it may have arrived.
   */
  async killTasks(ids: readonly string[], options: { scale?: boolean } = {}): Promise<void> {
    await this.request({
      method: 'POST',
      path: '/v2/tasks/delete',
      query: { scale: options.scale ? 'true' : undefined },
      body: { ids },
      idempotent: false,
    });
  }

  /** Deletes an app and its tasks (`DELETE /v2/apps/{id}`); an app that does not exist is not an error (null). */
  async deleteApp(id: string, options: { force?: boolean } = {}): Promise<DeploymentRef | null> {
    const res = await this.request({
      method: 'DELETE',
      path: `/v2/apps${appPath(id)}`,
      query: { force: options.force ? 'true' : undefined },
      idempotent: false,
      ok: [404],
    });
    if (res.status === 404) return null;
    return parseDeploymentRef(res, 'DELETE app');
  }

  /** Stored versions, newest first (Marathon does not guarantee any order, §8). Not a deployment history. */
  async listVersions(id: string): Promise<string[]> {
    const res = await this.request({ method: 'GET', path: `/v2/apps${appPath(id)}/versions`, idempotent: true });
    const versions = (field(res.body, 'versions', 'array', 'GET versions') as unknown[]).filter((v): v is string => typeof v === 'string');
    return versions.sort((a, b) => Date.parse(b) - Date.parse(a) || (a < b ? 1 : a > b ? -1 : 0));
  }

  /** One stored version's definition (the bare App JSON, nulls removed). */
  async getVersion(id: string, version: string): Promise<Record<string, unknown>> {
    const res = await this.request({
      method: 'GET',
      path: `/v2/apps${appPath(id)}/versions/${encodeURIComponent(version).replace(/%3A/gi, ':')}`,
      idempotent: true,
    });
    return record(stripNulls(res.body));
  }

  async listDeployments(): Promise<MarathonDeployment[]> {
    const res = await this.request({ method: 'GET', path: '/v2/deployments', idempotent: true });
    if (!Array.isArray(res.body)) throw unexpected('GET /v2/deployments', 'the answer is not a list of deployments');
    return res.body.map((d) => parseDeployment(d, 'GET /v2/deployments'));
  }

  /**
   * Cancels a deployment. Without `force` Marathon starts a rollback deployment (returned); with `force` it just stops
   * (202, no body: returns null). Not idempotent, never retried after the request may have arrived. @see §11 A/B
   */
  async deleteDeployment(id: string, options: { force?: boolean } = {}): Promise<DeploymentRef | null> {
    const res = await this.request({
      method: 'DELETE',
      path: `/v2/deployments/${encodeURIComponent(id)}`,
      query: { force: options.force ? 'true' : undefined },
      idempotent: false,
    });
    if (res.status === 202 || res.body === undefined) return null;
    return parseDeploymentRef(res, 'DELETE deployment');
  }

  /** The launch queue: apps with instances still to launch, their backoff delay and why offers were declined. */
  async getQueue(): Promise<QueuedApp[]> {
    const res = await this.request({ method: 'GET', path: '/v2/queue', idempotent: true, ok: [404] });
    if (res.status === 404) return [];
    const items = field(res.body ?? { queue: [] }, 'queue', 'array', 'GET /v2/queue') as unknown[];
    return items.flatMap((item) => {
      const q = record(stripNulls(item));
      const app = record(q.app);
      const appId = str(app.id);
      if (!appId) return [];
      const delay = record(q.delay);
      const summary = record(q.processedOffersSummary);
      const declinedBecause = arrayOf(summary.rejectSummaryLastOffers ?? [])
        .map((d) => ({ reason: str(record(d).reason) ?? '', declined: num(record(d).declined) ?? 0 }))
        .filter((d) => d.reason !== '' && d.declined > 0)
        .sort((a, b) => b.declined - a.declined);
      return [
        {
          appId,
          count: num(q.count) ?? 0,
          delaySeconds: num(delay.timeLeftSeconds) ?? 0,
          overdue: delay.overdue === true,
          declinedBecause,
        },
      ];
    });
  }

  async getAppTasks(id: string): Promise<MarathonTask[]> {
    const res = await this.request({ method: 'GET', path: `/v2/apps${appPath(id)}/tasks`, idempotent: true });
    return (field(res.body, 'tasks', 'array', 'GET tasks') as unknown[]).map(parseTask);
  }

  /**
   * Apps, optionally those whose id starts with `idPrefix` (Marathon's `id` filter is a substring match, §3, so the
   * prefix is checked here too) or that match a label selector (`c2c.environment==staging`).
   */
  async listApps(filter: { idPrefix?: string; label?: string; embedTasks?: boolean } = {}): Promise<MarathonAppInfo[]> {
    const res = await this.request({
      method: 'GET',
      path: '/v2/apps',
      query: { id: filter.idPrefix, label: filter.label, embed: filter.embedTasks ? 'apps.tasks' : undefined },
      idempotent: true,
    });
    const apps = (field(res.body, 'apps', 'array', 'GET /v2/apps') as unknown[]).map((a) => parseAppInfo(a, 'GET /v2/apps'));
    return filter.idPrefix ? apps.filter((a) => a.id.startsWith(filter.idPrefix as string)) : apps;
  }

  async info(): Promise<MarathonInfo> {
    const res = await this.request({ method: 'GET', path: '/v2/info', idempotent: true });
    const b = record(res.body);
    const config = record(b.marathon_config ?? {});
    return {
      name: str(b.name) ?? 'marathon',
      version: str(b.version) ?? 'unknown',
      elected: b.elected === true,
      leader: str(b.leader) ?? null,
      frameworkId: str(b.frameworkId) ?? null,
      features: arrayOf(config.features ?? []).filter((f): f is string => typeof f === 'string'),
    };
  }

  /**
   * Marathon's event stream (`GET /v2/events`, Server-Sent Events) filtered to `types`: calls `onEvent` with each event's
   * type and parsed data until `signal` aborts or the stream ends. Resolves, never rejects: a stream that is refused,
   * redirected (never followed), cut or too long between events only ends. Events are hints (a waiter polls sooner);
   * nothing is decided on them. Not counted in `busyMs` or `requestCount`: the stream stays open while the caller waits.
   */
  events(types: readonly string[], onEvent: (type: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
    const params = new URLSearchParams();
    for (const t of types) params.append('event_type', t);
    const target = new URL(`${this.baseUrl}/v2/events?${params}`);
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (this.auth.header) headers.Authorization = this.auth.header;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const send = requestFor(target);
      const req = send(target, { method: 'GET', headers, signal, agent: false }, (res) => {
        res.on('error', () => resolve());
        res.on('close', () => resolve());
        if (res.statusCode !== 200) {
          res.destroy();
          return;
        }
        const frames = new SseFrames(onEvent);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (!frames.push(chunk)) res.destroy();
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
  }

  /** True when `/ping` answers 2xx. */
  async ping(): Promise<boolean> {
    const res = await this.request({ method: 'GET', path: '/ping', idempotent: true, ok: [204], text: true });
    return res.status >= 200 && res.status < 300;
  }

  private url(spec: RequestSpec): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) params.append(k, String(v));
    const qs = params.toString();
    return `${this.baseUrl}${spec.path}${qs ? `?${qs}` : ''}`;
  }

  private async request(spec: RequestSpec): Promise<HttpResult> {
    const url = this.url(spec);
    const where = `${spec.method} ${spec.path}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.auth.header) headers.Authorization = this.auth.header;
    if (spec.body !== undefined) headers['Content-Type'] = 'application/json';
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);

    // Reads stop at an interrupt; a change is let finish so that the caller knows whether it arrived.
    const interruptible = spec.method === 'GET' ? this.signal : undefined;
    const until = this.deadline === undefined ? undefined : this.deadline + (spec.method === 'GET' ? 0 : this.changeGraceMs);
    for (let attempt = 1; ; attempt += 1) {
      if (interruptible?.aborted) throw interruption(interruptible, `interrupted during ${where}`);
      const left = until === undefined ? Infinity : until - Date.now();
      if (left <= 0) throw this.deadlineError(where, attempt);
      let failure: { reason: string; retryable: boolean; status?: number; body?: unknown };
      try {
        const { res, text } = await this.send(url, { method: spec.method, headers, body }, Math.min(this.timeoutMs, left), interruptible);
        const parsed = parseBody(text);
        if ((res.status >= 200 && res.status < 300) || spec.ok?.includes(res.status)) {
          if (typeof parsed === 'string' && !spec.text && res.status !== 404) throw unexpected(where, 'the body is not JSON');
          return { status: res.status, body: parsed, headers: res.headers };
        }
        if (!RETRY_STATUS(res.status) || !spec.idempotent) {
          throw this.httpError(res.status, parsed, where);
        }
        failure = { reason: `${res.status} ${messageOf(parsed) ?? ''}`.trim(), retryable: true, status: res.status, body: parsed };
      } catch (err) {
        if (err instanceof C2CError) throw err;
        if (interruptible?.aborted) throw interruption(interruptible, `interrupted during ${where}`);
        if (until !== undefined && Date.now() >= until) throw this.deadlineError(where, attempt);
        const net = networkFailure(err);
        // A refused connection never reached Marathon, so even a non-idempotent call may be sent again.
        failure = { reason: net.reason, retryable: spec.idempotent || net.notSent };
      }
      if (!failure.retryable || attempt >= this.attempts) {
        if (failure.status !== undefined) throw this.httpError(failure.status, failure.body, where, attempt);
        throw new C2CError(
          'MARATHON_UNREACHABLE',
          `Marathon at ${this.baseUrl} did not answer ${where}: ${failure.reason}` + (attempt > 1 ? ` (after ${attempt} attempts)` : ''),
          {
            hint:
              spec.idempotent || attempt > 1
                ? 'check the URL (--marathon, MARATHON_URL) and that Marathon is up (GET /ping)'
                : `the request may or may not have reached Marathon; check 'deploy status' before trying again`,
          },
        );
      }
      const cap = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempt - 1));
      const delayMs = Math.min(Math.round(cap / 2 + Math.random() * (cap / 2)), Math.max(0, (until ?? Infinity) - Date.now()));
      this.onRetry?.({ method: spec.method, path: spec.path, attempt, reason: failure.reason, delayMs });
      await abortableSleep(delayMs, interruptible);
    }
  }

  /** The error for a request that the command's deadline cut (or left no time for). */
  private deadlineError(where: string, attempt: number): C2CError {
    return new C2CError(
      'DEADLINE',
      `Marathon at ${this.baseUrl} did not answer ${where} before the deadline` +
        (attempt > 1 ? ` (after ${attempt - 1} attempt${attempt > 2 ? 's' : ''})` : ''),
      { hint: 'check that Marathon is up (GET /ping), or raise --timeout' },
    );
  }

  /** One HTTP exchange with a timeout covering headers and body (and an optional interrupt); counts busy time. */
  private async send(
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
    timeoutMs: number,
    interrupt?: AbortSignal,
  ): Promise<{ res: HttpAnswer; text: string }> {
    if (this.inFlight === 0) this.busySince = Date.now();
    this.inFlight += 1;
    this.requestCount += 1;
    try {
      const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
      const signal = interrupt ? AbortSignal.any([timeout, interrupt]) : timeout;
      const where = `${init.method} ${new URL(url).pathname}`;
      const { res, text } = await exchange(url, init, signal, this.maxResponseBytes, where);
      // Never follow a redirect: a 3xx could send the credentials and the app to another origin.
      if (res.status >= 300 && res.status < 400) {
        throw new C2CError(
          'MARATHON_BAD_RESPONSE',
          `Marathon at ${this.baseUrl} answered ${init.method} with a redirect (${res.status}); redirects are never followed`,
          {
            hint: 'give the URL Marathon answers at directly (--marathon, MARATHON_URL), including https:// and any path prefix',
          },
        );
      }
      return { res, text };
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.busy += Date.now() - this.busySince;
    }
  }

  private httpError(status: number, body: unknown, where: string, attempts = 1): C2CError {
    const message = messageOf(body);
    const suffix = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    if (status === 401 || status === 403) {
      if (status === 403 && message && /max number .* running deployments/i.test(message)) {
        return new C2CError('MARATHON_BUSY', `Marathon refused ${where}: ${message}`, {
          hint: 'too many deployments are running on this Marathon; wait for some to finish and try again',
        });
      }
      const used = this.auth.source === 'none' ? 'no credentials' : `the credentials from ${this.auth.source}`;
      return new C2CError(
        'MARATHON_AUTH',
        `${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'} from Marathon for ${where} using ${used}`,
        {
          hint:
            this.auth.source === 'none'
              ? 'set MARATHON_CREDENTIALS (user:password) or MARATHON_TOKEN (DC/OS token)'
              : `check ${this.auth.source}${status === 403 ? ' (this identity may not change this app)' : ''}`,
        },
      );
    }
    if (status === 404) {
      return new C2CError('MARATHON_NOT_FOUND', `Marathon: ${message ?? `404 for ${where}`}`, {
        hint: `check the id, and that the base URL ${this.baseUrl} includes any path prefix (e.g. /service/marathon)`,
        details: { status },
      });
    }
    if (status === 409) {
      const deploymentIds = arrayOf(record(body ?? {}).deployments ?? [])
        .map((d) => str(record(d).id))
        .filter((d): d is string => d !== undefined);
      const held = deploymentIds.length > 0 ? `locked by deployment ${deploymentIds.join(', ')}` : (message ?? 'conflict');
      return new C2CError('MARATHON_LOCKED', `${where}: ${held}`, {
        hint: "wait for it ('deploy status'), or pass --force to cancel it",
        details: { deploymentIds, message },
      });
    }
    if (status === 400 || status === 422) {
      const fieldErrors = parseFieldErrors(record(body ?? {}).details);
      const lines = fieldErrors.map((f) => `  ${f.path}: ${f.errors.join('; ')}`);
      const detailString = str(record(body ?? {}).details);
      return new C2CError(
        'MARATHON_REJECTED',
        `Marathon rejected ${where} (${status} ${message ?? 'invalid'})` +
          (lines.length > 0 ? `:\n${lines.join('\n')}` : detailString ? `: ${detailString}` : ''),
        {
          hint: 'fix the service definition (services/<name>.ts) and run `deploy render` to see what is sent',
          details: { status, fieldErrors },
        },
      );
    }
    return new C2CError('MARATHON_ERROR', `Marathon answered ${status} to ${where}${message ? `: ${message}` : ''}${suffix}`, {
      hint: status >= 500 ? 'Marathon is failing; check its leader and logs, then try again' : undefined,
      details: { status },
    });
  }
}

/**
 * Splits `scheme://user:pass@rest` into the URL without user info and `user:pass` (percent-decoded where it decodes),
 * without parsing: everything between `://` and the last `@` is user info, whatever characters it holds.
 */
export function splitUserInfo(raw: string): { rest: string; userInfo?: string } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(raw.trim());
  if (!m) return { rest: raw.includes('@') ? '' : raw };
  const at = m[2].lastIndexOf('@');
  if (at < 0) return { rest: raw.trim() };
  const info = m[2].slice(0, at);
  const decode = (x: string) => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  };
  const colon = info.indexOf(':');
  const userInfo = colon < 0 ? `${decode(info)}:` : `${decode(info.slice(0, colon))}:${decode(info.slice(colon + 1))}`;
  return { rest: m[1] + m[2].slice(at + 1), userInfo };
}

/** The base URL with any user info removed: safe to print, whatever the input. */
export function redactUrl(raw: string): string {
  return splitUserInfo(raw).rest;
}

/** Reads a body up to `max` bytes; a longer one (by Content-Length or as it streams) is cut and refused. */
/** The most an event stream may hold back between two events (Marathon's deployment events are a few kB). */
const MAX_EVENT_CHARS = 1 << 20;

/** Server-Sent Events framing: `event:` and `data:` lines, an empty line ends an event; data that is not JSON is skipped. */
class SseFrames {
  private buffer = '';
  private type = 'message';
  private data: string[] = [];

  constructor(private readonly onEvent: (type: string, data: unknown) => void) {}

  /** Takes a chunk of the stream; false when the stream holds back more than {@link MAX_EVENT_CHARS}. */
  push(chunk: string): boolean {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      this.line(this.buffer.slice(0, nl).replace(/\r$/, ''));
      this.buffer = this.buffer.slice(nl + 1);
    }
    return this.buffer.length + this.data.reduce((n, d) => n + d.length, 0) <= MAX_EVENT_CHARS;
  }

  private line(line: string): void {
    if (line === '') {
      const text = this.data.join('\n');
      const type = this.type;
      this.type = 'message';
      this.data = [];
      if (text === '') return;
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        return;
      }
      this.onEvent(type, data);
    } else if (line.startsWith('event:')) this.type = line.slice(6).trim();
    else if (line.startsWith('data:')) this.data.push(line.slice(5).replace(/^ /, ''));
  }
}

/**
 * node:http's or node:https's `request` for a URL's protocol; node:https (and TLS with it) is loaded only for an https://
 * Marathon: loading it takes 20 ms and more of every command's start, and an http:// or loopback URL never needs it.
 */
function requestFor(url: URL): typeof httpRequest {
  return url.protocol === 'https:' ? (require('node:https') as typeof import('node:https')).request : httpRequest;
}

/** The status and headers of an answer (header names in any case). */
interface HttpAnswer {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
}

/**
 * One HTTP exchange over node:http(s), not fetch: fetch's first use loads undici and compiles its WebAssembly parser,
 * the largest part of a short command's time (deploy status, a no-op apply). A body over `max` bytes is not read. The
 * promise rejects with the signal's reason once the signal aborts (headers or body), as fetch does; a redirect is
 * returned, never followed, and its body is not read. A change (not GET) goes over a connection of its own, so it is
 * never sent on a kept-alive connection the server is closing (a change is not sent again after a failure).
 */
function exchange(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  signal: AbortSignal,
  max: number,
  where: string,
): Promise<{ res: HttpAnswer; text: string }> {
  const tooBig = () =>
    new C2CError('MARATHON_BAD_RESPONSE', `Marathon's answer to ${where} is over ${max} bytes; it was not read`, {
      hint: 'is the URL really Marathon? If it is, ask for less (an app id rather than all apps)',
    });
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => reject(signal.aborted ? signal.reason : err);
    const target = new URL(url);
    const headers: OutgoingHttpHeaders = { ...init.headers };
    if (init.body !== undefined) headers['Content-Length'] = Buffer.byteLength(init.body);
    const send = requestFor(target);
    const req = send(target, { method: init.method, headers, signal, agent: init.method === 'GET' ? undefined : false }, (res) => {
      const status = res.statusCode ?? 0;
      const answer: HttpAnswer = { status, headers: { get: (name) => headerValue(res.headers[name.toLowerCase()]) } };
      if ((status >= 300 && status < 400) || Number(res.headers['content-length'] ?? NaN) > max) {
        res.destroy();
        if (status >= 300 && status < 400) resolve({ res: answer, text: '' });
        else reject(tooBig());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) {
          res.destroy();
          reject(tooBig());
        } else chunks.push(chunk);
      });
      res.on('end', () => resolve({ res: answer, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the whole answer arrived'));
      });
    });
    req.on('error', fail);
    req.end(init.body);
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `staging/web/` and `/staging/web` are the same app id. */
function normalizeAppId(id: string): string {
  return `/${id.replace(/^\/+|\/+$/g, '')}`;
}

/** `/staging/web` -> `/staging/web`; `staging/web` -> `/staging/web`. Slashes are not encoded (§5). */
function appPath(id: string): string {
  const clean = id.startsWith('/') ? id : `/${id}`;
  return clean
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function messageOf(body: unknown): string | undefined {
  if (body && typeof body === 'object' && !Array.isArray(body)) return str((body as Record<string, unknown>).message);
  if (typeof body === 'string' && body.length > 0 && !body.trimStart().startsWith('<')) return body.slice(0, 200);
  return undefined;
}

function networkFailure(err: unknown): { reason: string; notSent: boolean } {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return { reason: 'timed out', notSent: false };
  const code = e?.code ?? e?.cause?.code;
  if (code === 'ECONNREFUSED') return { reason: 'connection refused', notSent: true };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { reason: `host not found (${code})`, notSent: true };
  if (code) return { reason: `connection failed (${code})`, notSent: false };
  return { reason: e?.cause?.message ?? e?.message ?? String(err), notSent: false };
}

function parseFieldErrors(details: unknown): FieldError[] {
  if (!Array.isArray(details)) return [];
  return details.map((d) => {
    const r = record(d);
    return {
      path: str(r.path) ?? '/',
      errors: arrayOf(r.errors ?? []).map((e) => (typeof e === 'string' ? e : JSON.stringify(e))),
    };
  });
}

function parseDeploymentRef(res: HttpResult, what: string): DeploymentRef {
  const b = record(res.body ?? {});
  const deploymentId = str(b.deploymentId) ?? res.headers.get('marathon-deployment-id') ?? undefined;
  const version = str(b.version);
  if (!deploymentId || !version) {
    throw new C2CError('MARATHON_BAD_RESPONSE', `Marathon's answer to ${what} has no deploymentId/version`, {
      hint: 'is the URL really Marathon (and its path prefix right)?',
    });
  }
  return { deploymentId, version };
}

/** Removes `null` values recursively: old Marathon writes null where new Marathon omits the key (§6). */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty, not `out[k] =`: a key `__proto__` stays a key and never becomes the prototype.
    for (const [k, v] of Object.entries(value))
      if (v !== null && v !== undefined)
        Object.defineProperty(out, k, { value: stripNulls(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/** Reads one app of a GET answer; tolerates absent keys and `null`s. */
export function parseAppInfo(value: unknown, where = 'app'): MarathonAppInfo {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw unexpected(where, 'an app is not an object');
  const raw = record(stripNulls(value));
  const id = str(raw.id);
  if (!id) throw unexpected(where, 'an app has no id');
  checkShape(raw, APP_INFO_SHAPE, `${where} (${id})`);
  const versionInfo = record(raw.versionInfo ?? {});
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(raw.labels ?? {}))) if (typeof v === 'string') labels[k] = v;
  const container = record(raw.container ?? {});
  const docker = record(container.docker ?? {});
  const failure = raw.lastTaskFailure === undefined ? undefined : record(raw.lastTaskFailure);
  return {
    id,
    instances: num(raw.instances) ?? 1,
    version: str(raw.version) ?? null,
    lastConfigChangeAt: str(versionInfo.lastConfigChangeAt) ?? null,
    labels,
    image: str(docker.image) ?? null,
    hasHealthChecks: arrayOf(raw.healthChecks ?? []).length > 0,
    tasksStaged: num(raw.tasksStaged) ?? 0,
    tasksRunning: num(raw.tasksRunning) ?? 0,
    tasksHealthy: num(raw.tasksHealthy) ?? 0,
    tasksUnhealthy: num(raw.tasksUnhealthy) ?? 0,
    deployments: arrayOf(raw.deployments ?? [])
      .map((d) => str(record(d).id))
      .filter((d): d is string => d !== undefined),
    tasks: arrayOf(raw.tasks ?? []).map(parseTask),
    ...(failure
      ? {
          lastTaskFailure: {
            message: str(failure.message),
            state: str(failure.state),
            version: str(failure.version),
            timestamp: str(failure.timestamp),
            taskId: str(failure.taskId),
          },
        }
      : {}),
    raw,
  };
}

function parseTask(value: unknown): MarathonTask {
  const t = record(stripNulls(value));
  return {
    id: str(t.id) ?? '',
    appId: str(t.appId) ?? '',
    state: str(t.state) ?? 'TASK_RUNNING',
    version: str(t.version) ?? null,
    host: str(t.host) ?? null,
    ports: arrayOf(t.ports ?? []).filter((p): p is number => typeof p === 'number'),
    startedAt: str(t.startedAt) ?? null,
    healthy: arrayOf(t.healthCheckResults ?? []).map((r) => record(r).alive === true),
  };
}

function parseDeployment(value: unknown, where = 'deployment'): MarathonDeployment {
  const d = record(stripNulls(value));
  if (!str(d.id)) throw unexpected(where, 'a deployment has no id');
  checkShape(d, DEPLOYMENT_SHAPE, `${where} (${str(d.id)})`);
  return {
    id: str(d.id) ?? '',
    version: str(d.version) ?? '',
    affectedApps: arrayOf(d.affectedApps ?? []).filter((a): a is string => typeof a === 'string'),
    currentStep: num(d.currentStep) ?? 0,
    totalSteps: num(d.totalSteps) ?? arrayOf(d.steps ?? []).length,
    currentActions: arrayOf(d.currentActions ?? []).map((a) => {
      const r = record(a);
      return { action: str(r.action) ?? '', ...(str(r.app) ? { app: str(r.app) } : {}) };
    }),
  };
}

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array';

/**
 * The types of the AppInfo fields the deploy library reads, as Marathon's RAML declares them
 * (reference/marathon-api/raml/v2/types/app.raml, AppInfo): a body whose fields have other types is not Marathon's.
 */
const APP_INFO_SHAPE: Readonly<Record<string, Kind>> = {
  id: 'string',
  instances: 'number',
  version: 'string',
  labels: 'object',
  env: 'object',
  container: 'object',
  healthChecks: 'array',
  versionInfo: 'object',
  tasksStaged: 'number',
  tasksRunning: 'number',
  tasksHealthy: 'number',
  tasksUnhealthy: 'number',
  deployments: 'array',
  tasks: 'array',
  lastTaskFailure: 'object',
};

const DEPLOYMENT_SHAPE: Readonly<Record<string, Kind>> = {
  id: 'string',
  version: 'string',
  affectedApps: 'array',
  currentStep: 'number',
  totalSteps: 'number',
  currentActions: 'array',
  steps: 'array',
};

function kindOf(value: unknown): Kind | 'null' | 'other' {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'object' ? t : 'other';
}

function checkShape(value: Record<string, unknown>, shape: Readonly<Record<string, Kind>>, where: string): void {
  for (const [key, kind] of Object.entries(shape)) {
    if (value[key] !== undefined && kindOf(value[key]) !== kind) throw unexpected(where, `'${key}' is ${kindOf(value[key])}, not ${kind}`);
  }
}

/** `body[key]`, which must be of `kind`; anything else is not an answer Marathon gives. */
function field(body: unknown, key: string, kind: Kind, where: string): unknown {
  if (kindOf(body) !== 'object') throw unexpected(where, `the body is ${kindOf(body)}, not an object with '${key}'`);
  const value = (body as Record<string, unknown>)[key];
  if (kindOf(value) !== kind) throw unexpected(where, `'${key}' is ${value === undefined ? 'missing' : kindOf(value)}, not ${kind}`);
  return value;
}

/** MARATHON_BAD_RESPONSE: the answer is not what Marathon sends (a proxy's page, a broken or foreign server). */
function unexpected(where: string, what: string): C2CError {
  return new C2CError('MARATHON_BAD_RESPONSE', `Marathon answered something unexpected to ${where}: ${what}`, {
    hint: 'is the URL really Marathon (and its path prefix right)? nothing was concluded from this answer',
  });
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
