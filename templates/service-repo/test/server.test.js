'use strict';
// Unit tests, run by build.sh with `node --test` (no dependencies, no network beyond a loopback port 0).
const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const { createHandler, ports } = require('../server');

function call(handler, url, method = 'GET') {
  return new Promise((resolve) => {
    const res = {
      status: 0,
      headers: {},
      body: '',
      writeHead(status, headers) {
        this.status = status;
        this.headers = headers;
      },
      end(body) {
        this.body = body ?? '';
        resolve(this);
      },
    };
    handler({ url, method }, res);
  });
}

test('/health answers 200 ok', async () => {
  const res = await call(createHandler({ broken: () => false }), '/health');
  assert.strictEqual(res.status, 200);
  assert.deepStrictEqual(JSON.parse(res.body), { status: 'ok' });
});

test('/health answers 500 when the release is broken', async () => {
  const res = await call(createHandler({ broken: () => true }), '/health');
  assert.strictEqual(res.status, 500);
});

test('/ names the service; unknown paths are 404; POST is 405', async () => {
  const handler = createHandler({ broken: () => false, name: 'demo' });
  assert.strictEqual(JSON.parse((await call(handler, '/')).body).service, 'demo');
  assert.strictEqual((await call(handler, '/nope')).status, 404);
  assert.strictEqual((await call(handler, '/', 'POST')).status, 405);
});

test('ports: $PORT0, else $PORT, else 8080, plus $PORT1', () => {
  assert.deepStrictEqual(ports({}), [8080]);
  assert.deepStrictEqual(ports({ PORT: '3000' }), [3000]);
  assert.deepStrictEqual(ports({ PORT0: '31000', PORT1: '31001', PORT: '3000' }), [31000, 31001]);
});

test('ports: in a bridge container, the container ports Marathon maps $PORT0 and $PORT1 onto', () => {
  const env = { PORT0: '31000', PORT1: '31001', PORT_8080: '31000', PORT_9090: '31001' };
  assert.deepStrictEqual(ports({ ...env, LISTEN_ON_CONTAINER_PORTS: '1' }), [8080, 9090]);
  assert.deepStrictEqual(ports(env), [31000, 31001]);
  assert.deepStrictEqual(ports({ PORT0: '31000', LISTEN_ON_CONTAINER_PORTS: '1' }), [31000]);
});

test('serves /health over HTTP on port 0', async () => {
  const server = http.createServer(createHandler({ broken: () => false }));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address();
    const status = await new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/health' }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on('error', reject);
    });
    assert.strictEqual(status, 200);
  } finally {
    server.close();
  }
});
