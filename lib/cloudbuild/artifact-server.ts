/**
 * The platform's artifact server (constructs/artifact-server.ts, scripts/artifact-server.js) on this machine, for the
 * local Marathons' fetchers: what an artifact service's tasks are fetched from, as on the cluster.
 * - It runs the synthesized app: the `cmd` and `env` of the Marathon app the platform stack publishes under
 *   `templates/` (the one whose env names `C2C_ARTIFACT_BUCKET`), nothing written by hand. Three settings differ, each
 *   a documented setting of the program: it listens on 127.0.0.1 on a free port (`C2C_ARTIFACT_LISTEN`,
 *   `C2C_ARTIFACT_PORT`; on the cluster Marathon maps the container's port to a host port and marathon-lb routes the
 *   service port to it), and it reads the Storage stand-in with a token of the stand-in's metadata server
 *   (`C2C_STORAGE_URL`, `C2C_METADATA_URL`; on the cluster, Google's, with the machines' account).
 * - The name the builds write into artifact URIs (`http://artifacts.marathon.internal:5001/artifacts/...`, from
 *   `artifactBaseUrl`) is read from the builds themselves; {@link LocalArtifactServer.connectTo} is the fetcher
 *   connection table that sends it here (the local Marathon's `fetcherConnectTo`): the stand-in for the agents' DNS
 *   and marathon-lb's service port. The URIs Marathon stores are the synthesized ones, unchanged.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { FetcherConnectTo } from '@commit-to-cloud/local-marathon';
import { C2CError } from '../errors';
import { readPublishedObjects, ReadTrigger } from './triggers';

/** The folder the platform publishes its Marathon apps under (constructs/naming.ts `templateObject`). */
const TEMPLATES = 'templates/';

/** The artifact server running here. */
export interface LocalArtifactServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The synthesized app it runs (`/staging/artifacts`). */
  readonly appId: string;
  /** For the local Marathons' `fetcherConnectTo`: each synthesized artifact host and port, to this server. */
  readonly connectTo: readonly FetcherConnectTo[];
  close(): Promise<void>;
}

interface ArtifactApp {
  readonly id: string;
  readonly cmd: string;
  readonly env: Record<string, string>;
  readonly servicePort?: number;
}

/** The artifact server's app of `environment`, as the platform stack publishes it. */
function artifactApp(outdir: string, environment: string): ArtifactApp {
  for (const o of readPublishedObjects(outdir, TEMPLATES)) {
    const app = JSON.parse(o.content) as {
      id?: string;
      cmd?: string;
      env?: Record<string, string>;
      container?: { portMappings?: { servicePort?: number }[] };
      portDefinitions?: { port?: number }[];
      labels?: Record<string, string>;
    };
    if (app.env?.C2C_ARTIFACT_BUCKET === undefined || app.labels?.['c2c.environment'] !== environment) continue;
    if (typeof app.cmd !== 'string') throw new C2CError('BUILD_INVALID', `${o.name}: the artifact server's app has no cmd`);
    const servicePort = app.container?.portMappings?.[0]?.servicePort ?? app.portDefinitions?.[0]?.port;
    return { id: app.id ?? o.name, cmd: app.cmd, env: app.env, ...(servicePort !== undefined ? { servicePort } : {}) };
  }
  throw new C2CError('TRIGGER_NOT_FOUND', `no artifact server app for ${environment} is published under ${TEMPLATES} in ${outdir}`, {
    hint: 'the platform stack publishes it when the registry bucket exists (constructs/platform-stack.ts)',
  });
}

/**
 * The origins (`http://HOST:PORT`) of the artifact URIs the builds write: a URL whose path starts with the served
 * prefix (`artifacts/`) in a step's args or env.
 */
export function artifactOrigins(triggers: readonly ReadTrigger[], prefix: string): URL[] {
  const re = new RegExp(`\\bhttps?://[A-Za-z0-9.-]+(?::\\d+)?/${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g');
  const origins = new Set<string>();
  for (const t of triggers)
    for (const s of t.build.steps)
      for (const text of [...(s.args ?? []), ...(s.env ?? [])]) for (const m of text.matchAll(re)) origins.add(new URL(m[0]).origin);
  return [...origins].sort().map((o) => new URL(o));
}

/**
 * Starts the synthesized artifact server of `environment` (both clusters' apps read the same bucket) against the Google
 * stand-in at `googleUrl`; resolves once it listens.
 * @throws C2CError BUILD_INVALID when a build's artifact URI names a port other than the app's service port;
 *   BUILD_FAILED when the program exits before it listens
 */
export async function startArtifactServer(options: {
  readonly outdir: string;
  readonly triggers: readonly ReadTrigger[];
  readonly googleUrl: string;
  /** @default 'staging' */
  readonly environment?: string;
  /** Receives the server's log lines (one per request). */
  readonly log?: (line: string) => void;
}): Promise<LocalArtifactServer> {
  const app = artifactApp(options.outdir, options.environment ?? 'staging');
  const origins = artifactOrigins(options.triggers, app.env.C2C_ARTIFACT_PREFIX ?? 'artifacts/');
  for (const o of origins) {
    const port = Number(o.port || (o.protocol === 'https:' ? 443 : 80));
    if (app.servicePort !== undefined && port !== app.servicePort)
      throw new C2CError('BUILD_INVALID', `the builds fetch artifacts from ${o.host}, but ${app.id} has service port ${app.servicePort}`);
  }
  const child = spawn('sh', ['-c', app.cmd], {
    env: {
      ...app.env,
      // `node` as the app's image has it: the Node that runs this.
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      C2C_ARTIFACT_LISTEN: '127.0.0.1',
      C2C_ARTIFACT_PORT: '0',
      C2C_STORAGE_URL: options.googleUrl,
      C2C_METADATA_URL: options.googleUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new C2CError('BUILD_FAILED', `the artifact server exited (${code}) before it listened: ${stderr.trim()}`)),
    );
    lines.on('line', (line) => {
      const m = /^artifact-server: serving .* on 127\.0\.0\.1:(\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else options.log?.(line);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    appId: app.id,
    connectTo: origins.map((o) => ({
      host: o.hostname,
      port: Number(o.port || (o.protocol === 'https:' ? 443 : 80)),
      to: { host: '127.0.0.1', port },
    })),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
