// Part of the marathon-lb stand-in (not product): see README.md in this folder.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * An image store for the local Marathon (`reg:5000/<name>:<tag>` runs `<store>/<name>/<tag>/run`): tags `v1`, `v2` and
 * `v3` answer their tag, `bad` is healthy (`/health`) but answers 500 to everything else. Each stops gracefully on SIGTERM
 * (finishes its requests), as a service behind marathon-lb should.
 */
export function rolloutImageStore(name: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'c2c-rollout-images-'));
  const server = (answer: string) =>
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(
      `const s = require('http').createServer((q, r) => { if (q.url === '/health') return r.end('ok'); ${answer} });` +
        `s.listen(Number(process.env.PORT0), '127.0.0.1'); process.on('SIGTERM', () => s.close(() => process.exit(0)));`,
    )}\n`;
  for (const [tag, answer] of [
    ['v1', "r.end('v1');"],
    ['v2', "r.end('v2');"],
    ['v3', "r.end('v3');"],
    ['bad', "r.statusCode = 500; r.end('bad');"],
  ]) {
    mkdirSync(join(dir, name, tag), { recursive: true });
    writeFileSync(join(dir, name, tag, 'run'), server(answer));
    chmodSync(join(dir, name, tag, 'run'), 0o755);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
