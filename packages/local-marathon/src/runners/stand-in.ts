/**
 * The fallback for a Docker image that nothing else can run: a small Node process that answers 200 `ok` on every
 * assigned port, so health checks pass. It ignores the app's `cmd` and `args`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Launcher } from './types';

const STAND_IN = `'use strict';
const http = require('node:http');
const ports = (process.env.LOCAL_MARATHON_PORTS || '').split(',').filter(Boolean).map(Number);
for (const port of ports) {
  http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); })
    .listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;

/** The stand-in runner kind; writes its script into `workDir` once. */
export function standInLauncher(workDir: string): Launcher {
  const script = join(workDir, 'stand-in.js');
  writeFileSync(script, STAND_IN);
  return {
    kind: 'stand-in',
    async command({ spec }) {
      return { file: process.execPath, argv: [script], env: { LOCAL_MARATHON_PORTS: spec.ports.join(',') } };
    },
  };
}
