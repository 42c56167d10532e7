/** Not a way in: Host checks against DNS rebinding, auth on /__local too, and 413 (not a reset) for large bodies. */
import { request } from 'node:http';
import { list, start, stopAll } from './helpers';

afterEach(stopAll);

/** A raw request with any Host header (fetch does not let a caller set it). */
function raw(
  url: string,
  path: string,
  options: { method?: string; host?: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: number } = {},
): Promise<{ status: number; json: unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.host !== undefined) headers.Host = options.host;
    const req = request({ host: u.hostname, port: u.port, path, method: options.method ?? 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: unknown = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on('error', reject);
    if (options.chunks !== undefined) {
      // A body without Content-Length, written in 1 MiB chunks.
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      for (let i = 0; i < options.chunks; i++) req.write(chunk);
      req.end();
    } else req.end(options.body);
  });
}

describe('Host header (DNS rebinding)', () => {
  test('a Host that is not a loopback name gets 403 with a Marathon error body, on every path; nothing changes', async () => {
    const s = await start();
    for (const path of ['/ping', '/v2/apps', '/v2/info', '/__local/faults']) {
      const r = await raw(s.url, path, { host: 'evil.example:8080' });
      expect([path, r.status]).toEqual([path, 403]);
      expect(r.json).toEqual({ message: expect.stringContaining("Host 'evil.example:8080' is not allowed") });
    }
    const post = await raw(s.url, '/v2/apps', {
      method: 'POST',
      host: 'evil.example',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: '/pwned', cmd: 'touch /tmp/pwned' }),
    });
    expect(post.status).toBe(403);
    const fault = await raw(s.url, '/__local/faults', {
      method: 'POST',
      host: '127.0.0.1.evil.example',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'status' }),
    });
    expect(fault.status).toBe(403);
    expect(list((await s.req('GET', '/v2/apps')).body.apps)).toEqual([]);
    expect(list((await s.req('GET', '/__local/faults')).body.faults)).toEqual([]);
  });

  test('loopback names with any port, and --allowed-hosts names, are served', async () => {
    const s = await start({ allowedHosts: ['marathon.test', '[fd00::1]'] });
    for (const host of [
      '127.0.0.1',
      '127.0.0.1:1',
      'localhost',
      'LOCALHOST:8080',
      '[::1]',
      '[::1]:8080',
      'marathon.test:80',
      '[fd00::1]:1',
    ]) {
      expect([host, (await raw(s.url, '/v2/leader', { host })).status]).toEqual([host, 200]);
    }
    expect((await raw(s.url, '/v2/leader', { host: 'other.test' })).status).toBe(403);
  });
});

describe('/__local needs the same auth as the API', () => {
  test('basic auth', async () => {
    const s = await start({ credentials: 'ops:secret' });
    const auth = { Authorization: `Basic ${Buffer.from('ops:secret').toString('base64')}` };
    for (const path of ['/__local/faults', '/__local/state', '/__local/info', '/__local/tasks']) {
      expect([path, (await s.req('GET', path)).status]).toEqual([path, 401]);
      expect([path, (await s.req('GET', path, undefined, auth)).status]).toEqual([path, 200]);
    }
    expect((await s.req('POST', '/__local/faults', { kind: 'status' })).status).toBe(401);
    expect(list((await s.req('GET', '/__local/faults', undefined, auth)).body.faults)).toEqual([]);
  });

  test('token', async () => {
    const s = await start({ token: 'jwt-1' });
    expect((await s.req('DELETE', '/__local/faults')).status).toBe(401);
    expect((await s.req('DELETE', '/__local/faults', undefined, { Authorization: 'token=jwt-1' })).status).toBe(200);
  });
});

describe('injected faults are served only after auth', () => {
  test('an unauthenticated request gets 401, and does not use up the fault', async () => {
    const s = await start({ credentials: 'ops:secret' });
    const auth = { Authorization: `Basic ${Buffer.from('ops:secret').toString('base64')}` };
    expect((await s.req('POST', '/__local/faults', { kind: 'status', status: 503 }, auth)).status).toBe(201);
    expect((await s.req('GET', '/v2/apps')).status).toBe(401);
    expect((await s.req('GET', '/v2/apps', undefined, auth)).status).toBe(503);
    expect((await s.req('GET', '/v2/apps', undefined, auth)).status).toBe(200);
  });
});

describe('bodies over the limit (10 MiB) get 413 with a Marathon error body, not a reset', () => {
  test('declared by Content-Length', async () => {
    const s = await start();
    const body = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
    const r = await raw(s.url, '/v2/apps', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ message: expect.stringMatching(/^Request Entity Too Large/) });
    expect((await s.req('GET', '/ping')).status).toBe(200);
  });

  test('sent in chunks without a length', async () => {
    const s = await start();
    const r = await raw(s.url, '/v2/apps', { method: 'POST', headers: { 'Content-Type': 'application/json' }, chunks: 11 });
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ message: expect.stringMatching(/^Request Entity Too Large/) });
  });
});
