// Answers the client does not take on trust (issue 20 item 11, issue 24 item 3): a redirect is never followed, a body
// over the cap is not read to the end, and an answer about another app is never taken for the app asked for. Each
// against a real loopback server; the second server shows that nothing was sent where the redirect pointed.
import { authFromEnv, MarathonClient } from '../../../lib/marathon/client';
import { caught } from '../../helpers/errors';
import { sendJson, startRecordingServer } from '../../helpers/http';

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function server(handler: Parameters<typeof startRecordingServer>[0]) {
  const s = await startRecordingServer(handler);
  servers.push(s);
  return s;
}
const client = (url: string, extra: { maxResponseBytes?: number } = {}) =>
  new MarathonClient({ baseUrl: url, attempts: 1, auth: { header: 'token=secret-1', source: 'MARATHON_TOKEN' }, ...extra });

it('a cross-origin redirect is refused: the app and the credentials never reach the other origin', async () => {
  const elsewhere = await server((_req, res) => sendJson(res, 200, { deploymentId: 'd', version: 'v' }));
  const marathon = await server((req, res) => {
    res.writeHead(307, { location: `${elsewhere.url}${req.url}` }).end();
  });
  const err = await caught(client(marathon.url).putApp('/production/web', { id: '/production/web', cmd: 'x' } as never));
  expect([err.code, err.message]).toEqual([
    'MARATHON_BAD_RESPONSE',
    `Marathon at ${marathon.url} answered PUT with a redirect (307); redirects are never followed`,
  ]);
  expect(marathon.received.map((r) => r.method)).toEqual(['PUT']);
  expect(elsewhere.received).toEqual([]);
});

it('an answer over the cap is refused, whether declared by Content-Length or streamed', async () => {
  const big = JSON.stringify({ app: { id: '/production/web', cmd: 'x'.repeat(5000) } });
  const declared = await server((_req, res) => sendJson(res, 200, JSON.parse(big)));
  const streamed = await server((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    for (let i = 0; i < big.length; i += 500) res.write(big.slice(i, i + 500));
    res.end();
  });
  for (const s of [declared, streamed]) {
    const err = await caught(client(s.url, { maxResponseBytes: 1000 }).getApp('/production/web'));
    expect([err.code, err.message]).toEqual([
      'MARATHON_BAD_RESPONSE',
      "Marathon's answer to GET /v2/apps/production/web is over 1000 bytes; it was not read",
    ]);
  }
  expect((await client(declared.url).getApp('/production/web'))?.id).toBe('/production/web');
});

it('an answer about another app is not taken for the app asked for', async () => {
  const s = await server((_req, res) => sendJson(res, 200, { app: { id: '/production/other', instances: 1, version: 'v1' } }));
  const err = await caught(client(s.url).getApp('/production/web'));
  expect(err.code).toBe('MARATHON_BAD_RESPONSE');
  expect(err.message).toMatch(/the answer is about app "\/production\/other", not \/production\/web/);
});

it('a token or credentials that are not printable ASCII are refused, naming the variable, never the value', () => {
  for (const env of [{ MARATHON_TOKEN: 'tok-secret\r\nX-Evil: 1' }, { MARATHON_CREDENTIALS: 'ops:pa\u001bss' }]) {
    let message = '';
    try {
      authFromEnv(env);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^MARATHON_(TOKEN|CREDENTIALS) holds a character that is not printable ASCII/);
    expect(message).not.toMatch(/secret|pa.ss/);
  }
});
