import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A chat webhook on 127.0.0.1 that keeps the text of every message posted to it: the reviewers' chat for `npm start`,
 * where no Slack is. It never keeps the process alive on its own.
 */
export async function startChatStandIn(): Promise<{ url: string; messages: string[]; close(): Promise<void> }> {
  const messages: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        messages.push(String((JSON.parse(body) as { text?: unknown }).text ?? ''));
        res.writeHead(200).end('ok');
      } catch {
        res.writeHead(400).end('not JSON');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/reviewers`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
