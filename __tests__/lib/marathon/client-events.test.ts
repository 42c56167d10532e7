// MarathonClient.events: Marathon's event stream (GET /v2/events, Server-Sent Events, SEMANTICS.md §14), which a wait on
// a deployment uses to poll at once when the deployment ends. Against a real loopback server.
import { MarathonClient } from '../../../lib/marathon/client';
import { startServer } from './http-server';

it('reads events split across writes, several data lines, CRLF; skips comments and data that is not JSON', async () => {
  const server = await startServer((req, res) => {
    if (req.path !== '/v2/events') return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('event: deployment_success\ndata: {"id":');
    res.write('"d1"}\n\n: a comment\n\n');
    res.write('event: deployment_failed\r\ndata: not json\r\n\r\n');
    res.write('event: deployment_failed\ndata: {"id":"d2",\ndata: "reason":"x"}\n\n');
  });
  const client = new MarathonClient({ baseUrl: server.url, auth: { source: 'MARATHON_TOKEN', header: 'token=t' } });
  const seen: [string, unknown][] = [];
  const stop = new AbortController();
  let twoSeen: () => void = () => undefined;
  const two = new Promise<void>((resolve) => (twoSeen = resolve));
  const ended = client.events(
    ['deployment_success', 'deployment_failed'],
    (type, data) => {
      seen.push([type, data]);
      if (seen.length === 2) twoSeen();
    },
    stop.signal,
  );
  await two;
  stop.abort();
  await ended;
  await server.close();
  expect(seen).toEqual([
    ['deployment_success', { id: 'd1' }],
    ['deployment_failed', { id: 'd2', reason: 'x' }],
  ]);
  const [req] = server.received;
  expect(req.headers.accept).toBe('text/event-stream');
  expect(req.headers.authorization).toBe('token=t');
  expect(req.query.event_type).toBe('deployment_failed');
});

it('ends without an event when Marathon refuses the stream', async () => {
  const server = await startServer((_req, res) => void res.writeHead(403, { 'Content-Type': 'application/json' }).end('{"message":"no"}'));
  const seen: unknown[] = [];
  const client = new MarathonClient({ baseUrl: server.url, auth: { source: 'none' } });
  await client.events(['deployment_success'], (_t, d) => seen.push(d), new AbortController().signal);
  await server.close();
  expect(seen).toEqual([]);
  expect(server.received.map((r) => r.path)).toEqual(['/v2/events']);
});
