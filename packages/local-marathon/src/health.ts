/**
 * One execution of a health check against a local task (§12): HTTP(S) GET passing on 200-399 within the timeout,
 * a TCP connect, or a shell command in the task's environment passing on exit code 0.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { JsonObject, isObject } from './json';
import { killGroup } from './task-runner';

/** The outcome of one check. */
export interface CheckOutcome {
  ok: boolean;
  /** Why it failed, for `lastFailureCause`. */
  cause?: string;
}

/**
 * Runs `hc` once against a task listening on `ports` with environment `env`. A COMMAND check of a task in a Docker
 * `container` runs inside it (`docker exec <container> /bin/sh -c <command>`), as Mesos runs it in the task's container.
 */
export function runHealthCheck(hc: JsonObject, ports: number[], env: Record<string, string>, container?: string): Promise<CheckOutcome> {
  const timeoutMs = Math.max(1, Number(hc.timeoutSeconds ?? 20) * 1000);
  const protocol = String(hc.protocol ?? 'HTTP');
  if (protocol === 'COMMAND') {
    const value = isObject(hc.command) ? String(hc.command.value ?? '') : '';
    const argv = container ? ['docker', 'exec', container, '/bin/sh', '-c', value] : ['/bin/sh', '-c', value];
    return commandCheck(argv, env, timeoutMs);
  }
  const port = typeof hc.port === 'number' ? hc.port : ports[typeof hc.portIndex === 'number' ? hc.portIndex : 0];
  if (!port) return Promise.resolve({ ok: false, cause: 'The task has no port for this health check' });
  if (protocol.endsWith('TCP')) return tcpCheck(port, timeoutMs);
  return httpCheck(protocol.endsWith('HTTPS'), port, String(hc.path ?? '/'), timeoutMs);
}

function httpCheck(tls: boolean, port: number, path: string, timeoutMs: number): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: CheckOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(o);
    };
    const options = { host: '127.0.0.1', port, path, method: 'GET', agent: false as const, headers: { 'user-agent': 'marathon' } };
    const req = tls
      ? httpsRequest({ ...options, rejectUnauthorized: false }, (res) => onResponse(res.statusCode ?? 0))
      : httpRequest(options, (res) => onResponse(res.statusCode ?? 0));
    function onResponse(status: number) {
      finish(status >= 200 && status < 400 ? { ok: true } : { ok: false, cause: `HTTP ${status} from ${path}` });
    }
    const timer = setTimeout(() => finish({ ok: false, cause: `No response within ${timeoutMs / 1000} s` }), timeoutMs);
    req.on('error', (e) => finish({ ok: false, cause: e.message }));
    req.end();
  });
}

function tcpCheck(port: number, timeoutMs: number): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, cause: `No connection within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, cause: e.message });
    });
  });
}

function commandCheck(argv: string[], env: Record<string, string>, timeoutMs: number): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env, detached: true, stdio: 'ignore' });
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, cause: e.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup(child.pid, 'SIGKILL');
      resolve(
        code === 0 ? { ok: true } : { ok: false, cause: signal ? `Command timed out (${signal})` : `Command exited with status ${code}` },
      );
    });
  });
}
