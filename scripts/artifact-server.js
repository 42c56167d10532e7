'use strict';
/**
 * The artifact server: what the Mesos fetcher on the cluster's agents downloads artifact services' tarballs from.
 * The artifact bucket is private and the fetcher sends no credentials (libcurl), so this program, run as a Marathon app
 * on the cluster with the machines' own service account (which has `roles/storage.objectViewer` on the bucket), reads
 * objects with a token from the metadata server and serves them over HTTP inside the cluster:
 *
 *   GET /<object name>   -> the object's bytes, streamed (Cloud Storage JSON API, media download); 404 when absent
 *   GET /health          -> 200 once a token can be had from the metadata server, else 503
 *
 * Only names under the artifact prefix (`artifacts/`) are served; no listing, no other method, no `.`/`..`/empty
 * segments, no encoded slash or backslash, no control characters. The bytes' integrity does not rest on this server
 * or on plain HTTP: every artifact app checks the SHA-256 its plan pinned before its command starts.
 *
 * Node built-ins only, one file: the Marathon app's `cmd` runs it with `node -e` (constructs/artifact-server.ts).
 * Settings (environment): C2C_ARTIFACT_BUCKET (required), C2C_ARTIFACT_PREFIX (default `artifacts/`), C2C_ARTIFACT_PORT,
 * else PORT0 or PORT (default 8080), C2C_ARTIFACT_LISTEN (address, default 0.0.0.0), C2C_STORAGE_URL (default https://storage.googleapis.com), C2C_METADATA_URL (default
 * http://metadata.google.internal). Exit codes: 0 after SIGTERM/SIGINT, 2 for a bad setting, 1 when it cannot listen.
 */
const http = require('node:http');
const https = require('node:https');
const { pipeline } = require('node:stream');

const TOKEN_PATH = '/computeMetadata/v1/instance/service-accounts/default/token';

/** The object name a request path names, or an error `{ status, message }` saying why it is refused. */
function objectNameOf(rawUrl, prefix) {
  const path = rawUrl.split('?')[0];
  if (!path.startsWith('/') || path.startsWith('//')) return { status: 400, message: 'not a path' };
  const segments = path.slice(1).split('/');
  const names = [];
  for (const s of segments) {
    let d;
    try {
      d = decodeURIComponent(s);
    } catch {
      return { status: 400, message: 'bad percent-encoding' };
    }
    // An empty, `.` or `..` segment, an encoded `/`, a backslash or a control character: refused, never normalised.
    if (d === '' || d === '.' || d === '..' || /[/\\]/.test(d) || [...d].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
      return { status: 400, message: 'refused: path segments must be plain names (no empty, ., .., encoded / or \\)' };
    }
    names.push(d);
  }
  const name = names.join('/');
  if (!name.startsWith(prefix) || name.length === prefix.length) return { status: 403, message: `only objects under ${prefix} are served` };
  if (Buffer.byteLength(name) > 1024) return { status: 400, message: 'object name longer than 1024 bytes' };
  return { name };
}

function clientFor(url) {
  return url.startsWith('https:') ? https : http;
}

/**
 * GET `url`; resolves with the response (not consumed). `timeoutMs` bounds the wait for the response's headers only:
 * the body then goes at the client's pace (back-pressure pauses the read), and a client that stalls is dropped by its
 * own timeout (the Mesos fetcher's stall timeout), which ends the read.
 */
function get(url, headers, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = clientFor(url).get(url, { headers }, (res) => {
      req.setTimeout(0);
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** A token source over the metadata server: one request at a time, cached until a minute before it expires. */
function tokenSource(metadataUrl) {
  let cached;
  let pending;
  const fetchToken = async () => {
    const res = await get(metadataUrl.replace(/\/+$/, '') + TOKEN_PATH, { 'metadata-flavor': 'Google' }, 5000);
    const chunks = [];
    for await (const c of res) chunks.push(c);
    if (res.statusCode !== 200) throw new Error(`the metadata server answered ${res.statusCode} for a token`);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new Error('the metadata server gave no access_token');
    const seconds = typeof body.expires_in === 'number' ? body.expires_in : 300;
    cached = { token: body.access_token, until: Date.now() + Math.max(0, seconds - 60) * 1000 };
    return cached.token;
  };
  return () => {
    if (cached && cached.until > Date.now()) return Promise.resolve(cached.token);
    if (!pending) pending = fetchToken().finally(() => (pending = undefined));
    return pending;
  };
}

/**
 * The request handler. `options`: bucket, prefix, storageUrl, metadataUrl, log (one line per request; never a token).
 */
function createHandler(options) {
  const prefix = options.prefix;
  const storage = options.storageUrl.replace(/\/+$/, '');
  const token = tokenSource(options.metadataUrl);
  const log = options.log;
  const answer = (req, res, status, text) => {
    log(`${req.method} ${req.url} ${status}${text ? ` ${text}` : ''}`);
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(text ? `${text}\n` : '');
  };
  return async (req, res) => {
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return answer(req, res, 405, 'only GET');
    }
    if (req.url === '/health') {
      return token().then(
        () => answer(req, res, 200, 'ok'),
        (e) => answer(req, res, 503, `no token: ${e.message}`),
      );
    }
    const ref = objectNameOf(req.url || '/', prefix);
    if (!ref.name) return answer(req, res, ref.status, ref.message);
    let upstream;
    try {
      const bearer = await token();
      const url = `${storage}/storage/v1/b/${encodeURIComponent(options.bucket)}/o/${encodeURIComponent(ref.name)}?alt=media`;
      upstream = await get(url, { authorization: `Bearer ${bearer}` }, 30000);
    } catch (e) {
      return answer(req, res, 502, `cannot read gs://${options.bucket}/${ref.name}: ${e.message}`);
    }
    const status = upstream.statusCode;
    if (status !== 200) {
      upstream.resume();
      if (status === 404) return answer(req, res, 404, 'no such object');
      const why =
        status === 401 || status === 403 ? `; this machine's account needs roles/storage.objectViewer on gs://${options.bucket}` : '';
      return answer(req, res, 502, `Cloud Storage answered ${status}${why}`);
    }
    const headers = { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' };
    if (upstream.headers['content-length'] !== undefined) headers['content-length'] = upstream.headers['content-length'];
    res.writeHead(200, headers);
    // Streamed with back-pressure: nothing is held beyond the sockets' buffers; a client that goes away stops the read.
    pipeline(upstream, res, (err) => log(`GET ${req.url} ${err ? `200 aborted: ${err.message}` : '200'}`));
  };
}

/** An HTTP server for the handler (not listening yet). */
function createArtifactServer(options) {
  const handle = createHandler(options);
  return http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy(e);
    });
  });
}

/** The settings from the environment; throws an Error naming the variable when one is wrong. */
function settingsFromEnv(env) {
  const bucket = env.C2C_ARTIFACT_BUCKET;
  if (!bucket || !/^[a-z0-9][a-z0-9._-]{1,221}$/.test(bucket))
    throw new Error(`C2C_ARTIFACT_BUCKET (${JSON.stringify(bucket)}) must be a bucket name`);
  const prefix = env.C2C_ARTIFACT_PREFIX || 'artifacts/';
  if (!/^[a-z0-9][a-z0-9._-]*\/$/.test(prefix))
    throw new Error(`C2C_ARTIFACT_PREFIX (${JSON.stringify(prefix)}) must be a folder name ending in /`);
  const rawPort = env.C2C_ARTIFACT_PORT || env.PORT0 || env.PORT || '8080';
  const port = Number(rawPort);
  if (!(/^\d+$/.test(rawPort) && port <= 65535))
    throw new Error(`C2C_ARTIFACT_PORT (${JSON.stringify(rawPort)}) must be a port from 0 to 65535`);
  return {
    bucket,
    prefix,
    port,
    host: env.C2C_ARTIFACT_LISTEN || '0.0.0.0',
    storageUrl: env.C2C_STORAGE_URL || 'https://storage.googleapis.com',
    metadataUrl: env.C2C_METADATA_URL || 'http://metadata.google.internal',
  };
}

/** The program: reads the environment, listens, stops on SIGTERM/SIGINT. */
function main() {
  let settings;
  try {
    settings = settingsFromEnv(process.env);
  } catch (e) {
    console.error(`artifact-server: ${e.message}`);
    process.exit(2);
  }
  const server = createArtifactServer({ ...settings, log: (line) => console.log(line) });
  server.on('error', (e) => {
    console.error(`artifact-server: cannot listen on ${settings.host}:${settings.port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(settings.port, settings.host, () => {
    console.log(`artifact-server: serving gs://${settings.bucket}/${settings.prefix} on ${settings.host}:${server.address().port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { createArtifactServer, objectNameOf, settingsFromEnv };

// Run as a program: `node artifact-server.js`, or `node -e "<this file>"` as the Marathon app's cmd does.
if (require.main === module || module.id === '[eval]') main();
