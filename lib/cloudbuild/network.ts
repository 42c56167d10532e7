/**
 * The `cloudbuild` network the steps run on, as in Cloud Build (and the archived cloud-build-local): a user-defined
 * Docker network, so steps reach each other's containers by name (the registry side-car is `c2c-registry` there),
 * created when missing and labelled. Steps on it cannot reach this machine's loopback, where the stand-ins listen
 * (servers here listen on 127.0.0.1 only), so the executor puts relays on the network: one small container per
 * route, answering on the route's names (network aliases, which Docker's DNS resolves for every container on the
 * network) and port, and forwarding each connection through a Unix socket mounted from this machine to a loopback
 * server. A route with `tls` terminates TLS on this machine with a certificate for its names (made by
 * {@link makeStandInCertificate}; steps trust it through `NODE_EXTRA_CA_CERTS`), so a step that calls
 * `https://storage.googleapis.com` reaches the Storage stand-in without any endpoint of the step being changed.
 * Nothing listens on anything but 127.0.0.1 and Unix sockets on this machine.
 */
import { createServer as createNetServer, connect, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { C2CError } from '../errors';
import { execCommand } from '../docker/exec';

/** The network Cloud Build runs steps on. */
export const BUILD_NETWORK = 'cloudbuild';
/** Label on the network when the executor created it (then it may remove it). */
export const NETWORK_LABEL = 'c2c.cloudbuild.network';
/** Label on relay containers (value: the build id). */
export const RELAY_LABEL = 'c2c.cloudbuild.relay';

/** Where a route's connections go: a loopback server on this machine. */
export interface RelayTarget {
  readonly host: string;
  readonly port: number;
}

/** A name (or names) and port on the `cloudbuild` network answered by a server on this machine. */
export interface HostRoute {
  /** DNS names on the network (e.g. `marathon.staging.internal`). */
  readonly names: readonly string[];
  /** The port the names answer on (the port in the synthesized URL: 8080, 80, 443). */
  readonly port: number;
  /** The server on this machine; a function is asked on every connection (a task that moved, a Marathon restarted). */
  readonly target: RelayTarget | (() => Promise<RelayTarget>);
  /** Terminate TLS on this machine with this certificate (PEM) before forwarding in clear. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/** Parses `http://127.0.0.1:PORT` into a target. */
export function targetOf(url: string): RelayTarget {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}

/**
 * Creates the network unless it exists (a network named `cloudbuild` made by anyone else is used as it is, as
 * cloud-build-local did).
 * @returns whether this call created it
 */
export async function ensureBuildNetwork(name = BUILD_NETWORK): Promise<boolean> {
  const seen = await execCommand('docker', ['network', 'inspect', '--format', '{{.Name}}', name], { timeoutMs: 30_000 });
  if (seen.code === 0) return false;
  const made = await execCommand('docker', ['network', 'create', '--label', `${NETWORK_LABEL}=1`, name], { timeoutMs: 30_000 });
  if (made.code !== 0 && !/already exists/.test(made.stderr))
    throw new C2CError('DOCKER_NOT_FOUND', `could not create the Docker network ${name}: ${made.stderr.trim()}`);
  return made.code === 0;
}

/** Removes the network if the executor made it and no container uses it any more. */
export async function removeBuildNetwork(name = BUILD_NETWORK): Promise<void> {
  const label = await execCommand('docker', ['network', 'inspect', '--format', `{{index .Labels "${NETWORK_LABEL}"}}`, name]);
  if (label.code === 0 && label.stdout.trim() === '1') await execCommand('docker', ['network', 'rm', name], { timeoutMs: 30_000 });
}

/** The relay's program (in the slim Node stand-in): listen on the port, pipe every connection to the Unix socket. */
const RELAY_SCRIPT = [
  "const net=require('net');const [port,sock]=process.argv.slice(1);",
  'net.createServer((c)=>{const u=net.connect(sock);c.pipe(u).pipe(c);',
  "c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());}).listen(Number(port),()=>console.log('relay listening'));",
].join('');

/** Running relays. */
export interface Relays {
  /**
   * `NAME:IP` of every route name and its relay's address on the network, for the steps' `--add-host`: a step
   * resolves the build's names to its own relays even when another build's relays on the shared `cloudbuild` network
   * answer the same alias (two executors on one machine; Docker's DNS would return both).
   */
  readonly hosts: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts one relay container per route on `network`, each with the route's names as aliases, forwarding to its
 * target; resolves once every relay listens.
 * @throws C2CError DOCKER_BUILD_FAILED when a relay cannot start
 */
export async function startRelays(options: {
  readonly network: string;
  readonly buildId: string;
  readonly routes: readonly HostRoute[];
  /** An image with node (the slim Node stand-in). */
  readonly image: string;
}): Promise<Relays> {
  const dir = mkdtempSync(join(tmpdir(), 'c2c-relay-'));
  const servers: Server[] = [];
  const names: string[] = [];
  const close = async () => {
    await Promise.all(names.map((n) => execCommand('docker', ['rm', '-f', n], { timeoutMs: 30_000 })));
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The relays start side by side (each `docker run` is a second or more on a busy engine).
    const starts = options.routes.map(async (route, i) => {
      const sock = join(dir, `${i}.sock`);
      servers.push(await hostSide(route, sock));
      const name = relayName(options.buildId, i);
      names.push(name);
      const run = await execCommand('docker', [
        'run', '-d', '--name', name, '--label', `${RELAY_LABEL}=${options.buildId}`, '--network', options.network,
        ...route.names.flatMap((n) => ['--network-alias', n]), '-v', `${dir}:/relay`, '--entrypoint', 'node', options.image,
        '-e', RELAY_SCRIPT, String(route.port), `/relay/${i}.sock`,
      ], { timeoutMs: 60_000 }); // prettier-ignore
      if (run.code !== 0)
        throw new C2CError('DOCKER_BUILD_FAILED', `relay for ${route.names.join(', ')} did not start: ${run.stderr.trim()}`);
    });
    const started = await Promise.allSettled(starts);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await Promise.all(names.map((name) => waitForLog(name, 'relay listening')));
    const hosts: string[] = [];
    for (const [i, route] of options.routes.entries()) {
      const name = relayName(options.buildId, i);
      const ip = await execCommand('docker', ['inspect', '--format', `{{(index .NetworkSettings.Networks "${options.network}").IPAddress}}`, name], { timeoutMs: 30_000 }); // prettier-ignore
      if (ip.code !== 0 || !/^[0-9a-f.:]+$/.test(ip.stdout.trim()))
        throw new C2CError('DOCKER_BUILD_FAILED', `relay ${name} has no address on ${options.network}: ${ip.stderr.trim()}`);
      for (const n of route.names) hosts.push(`${n}:${ip.stdout.trim()}`);
    }
    return { hosts, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The container name of a build's `i`th relay. */
function relayName(buildId: string, i: number): string {
  return `c2c-relay-${buildId}-${i}`.replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, 120);
}

async function waitForLog(container: string, line: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const logs = await execCommand('docker', ['logs', container], { timeoutMs: 10_000 });
    if (logs.stdout.includes(line)) return;
    const state = await execCommand('docker', ['inspect', '--format', '{{.State.Running}}', container], { timeoutMs: 10_000 });
    if (state.stdout.trim() === 'false') throw new C2CError('DOCKER_BUILD_FAILED', `relay ${container} exited: ${logs.stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new C2CError('DOCKER_BUILD_FAILED', `relay ${container} did not listen within 10 s`);
}

/** The server on this machine behind one route: a Unix socket (TLS terminated here when the route has it). */
async function hostSide(route: HostRoute, sock: string): Promise<Server> {
  const forward = (client: Socket) => {
    client.on('error', () => undefined);
    const target = typeof route.target === 'function' ? route.target() : Promise.resolve(route.target);
    client.pause();
    target.then(
      (t) => {
        const up = connect(t.port, t.host);
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.pipe(up).pipe(client);
        client.resume();
      },
      () => client.destroy(),
    );
  };
  const server = route.tls ? createTlsServer({ key: route.tls.key, cert: route.tls.cert }, forward) : createNetServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  server.unref();
  return server;
}

/** A certificate for `names`, self-signed (it is its own CA), made with this machine's openssl. */
export interface StandInCertificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * Makes a one-day certificate for the Google API names a build calls, so the relays can answer them over TLS; steps
 * trust it through `NODE_EXTRA_CA_CERTS` (Node's documented way to add a CA), and only the build's containers see it.
 * @throws C2CError DOCKER_BUILD_FAILED when openssl fails
 */
export async function makeStandInCertificate(names: readonly string[]): Promise<StandInCertificate> {
  const dir = mkdtempSync(join(tmpdir(), 'c2c-cert-'));
  try {
    const r = await execCommand('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=c2c local Cloud Build stand-in', '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { timeoutMs: 30_000 }); // prettier-ignore
    if (r.code !== 0) throw new C2CError('DOCKER_BUILD_FAILED', `openssl could not make the stand-in certificate: ${r.stderr.trim()}`);
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
