import { createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';

/** A request that went through the proxy. */
export interface Proxied {
  readonly method: string;
  readonly url: string;
}

/**
 * A recording HTTP proxy on 127.0.0.1 in front of a real server: tests assert on exactly what a client sent (for
 * example, that a refused production apply sent no request that changes Marathon).
 */
export async function startRecordingProxy(target: string): Promise<{ url: string; seen: Proxied[]; mutations(): Proxied[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const seen: Proxied[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '' });
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    mutations: () => seen.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method)),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
