import { createServer, request } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of a real server (Marathon) that records `METHOD path?query` of
 * every request, so tests can assert on exactly what a client sent (e.g. that a refused apply changed nothing).
 */
export async function recordingProxy(
  target: string,
): Promise<{ url: string; seen: string[]; bodies: Map<number, string>; close(): Promise<void> }> {
  const seen: string[] = [];
  /** The body of each request that had one, by its index in `seen`. */
  const bodies = new Map<number, string>();
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const index = seen.push(`${req.method} ${req.url}`) - 1;
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
