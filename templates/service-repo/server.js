'use strict';
// A tiny HTTP service with no dependencies: the starting point commit-to-cloud seeds a new repository with.
// GET /health answers 200 {"status":"ok"} (500 when broken, see below); GET / answers a greeting.
// Marathon gives the ports as $PORT0, $PORT1... (in a bridge container, see ports()); locally $PORT or 8080. A second
// port ($PORT1) serves the same routes (e.g. an admin port that carries the health check).
// A broken release for demos: env BROKEN=1, or a file named BROKEN next to this one, makes /health answer 500.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

/** True when this release is marked broken. */
function isBroken(env = process.env, dir = __dirname) {
  return env.BROKEN === '1' || fs.existsSync(path.join(dir, 'BROKEN'));
}

/** The request handler, separate from the server so tests can call it without a network. */
function createHandler(options = {}) {
  const broken = options.broken ?? (() => isBroken());
  const name = options.name ?? process.env.SERVICE_NAME ?? 'service';
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'method not allowed' });
    if (url.pathname === '/health') return broken() ? send(500, { status: 'broken' }) : send(200, { status: 'ok' });
    if (url.pathname === '/') return send(200, { service: name, env: process.env.DEPLOY_ENV ?? 'local' });
    return send(404, { error: 'not found' });
  };
}

/**
 * The ports to listen on: $PORT0 (else $PORT, else 8080), plus $PORT1 when set. In a Docker container on a bridge
 * network (the Dockerfile sets LISTEN_ON_CONTAINER_PORTS=1) those are host ports that Docker maps onto the container
 * ports, which Marathon names as $PORT_<containerPort>=<host port>: listen on the container port then.
 */
function ports(env = process.env) {
  const host = [env.PORT0 ?? env.PORT ?? '8080', ...(env.PORT1 ? [env.PORT1] : [])];
  return host.map((p) => {
    const mapped = env.LISTEN_ON_CONTAINER_PORTS === '1' ? Object.keys(env).find((k) => /^PORT_\d+$/.test(k) && env[k] === p) : undefined;
    return Number(mapped ? mapped.slice('PORT_'.length) : p);
  });
}

if (require.main === module) {
  const handler = createHandler();
  for (const port of ports()) {
    http.createServer(handler).listen(port, () => console.log(`listening on :${port}`));
  }
  process.on('SIGTERM', () => process.exit(0));
}

module.exports = { createHandler, isBroken, ports };
