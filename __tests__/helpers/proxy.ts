import { createServer, request } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of a real server (Marathon) that records `METHOD path?query` of
 * every request, so tests can assert on exactly what a client sent (e.g. that a refused apply changed nothing); `refuse`
 * makes it fail chosen requests the way a proxy in front of Marathon may (a 403 for a path it blocks).
 */
export async function recordingProxy(
  target: string,
  options: {
    /** Answer a request with this status (and a Marathon-like message) instead of passing it on, when it returns one. */
    refuse?: (method: string, url: string, seen: readonly string[]) => number | undefined;
  } = {},
): Promise<{ url: string; seen: string[]; bodies: Map<number, string>; close(): Promise<void> }> {
  const seen: string[] = [];
  /** The body of each request that had one, by its index in `seen`. */
  const bodies = new Map<number, string>();
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const index = seen.push(`${req.method} ${req.url}`) - 1;
    const refused = options.refuse?.(req.method ?? '', req.url ?? '', seen);
    if (refused !== undefined) {
      req.resume();
      res.writeHead(refused, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `refused by the test proxy (${refused})` }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (chunks.length > 0) bodies.set(index, Buffer.concat(chunks).toString('utf8'));
    });
    const upstream = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
