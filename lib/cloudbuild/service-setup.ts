/**
 * The setup every run of a service's chain through the executor shares (the docker test, `npm run bench -- executor`
 * and the main job): from a synthesized `cdktf.out`, the Google stand-in with what the platform's apply creates (its
 * inline objects, whose generations the triggers then name), the triggers and the buckets' notifications as they read
 * once applied, the local Marathons started by the caller with the host names the synth wrote, the Google routes, the
 * secrets the builds may read (the chat webhook answered on the `cloudbuild` network by a loopback chat; the Marathon
 * credentials, which the local Marathons do not check, a placeholder), one set of relays answering every name the
 * builds use for the whole run (as Google's and the private network's names outlive a build), and the turns of the
 * builds that start a named side-car container (one engine holds one container of a name and one published port 5000;
 * in Cloud Build each build has its own worker).
 */
import { join } from 'node:path';
import { GoogleStandIn, startGoogleStandIn } from './google-stand-in';
import { randomBytes } from 'node:crypto';
import { imageTable } from './images';
import { BUILD_NETWORK, ensureBuildNetwork, Relays, removeBuildNetwork, startRelays } from './network';
import { ensureStandInImage } from './stand-in-images';
import { allServiceRoutes, publishInlineObjects, routeKey, ServiceRunSetup, synthesizedMarathonHosts } from './service-run';
import { googleRouting } from './stand-in-routes';
import { readInlineObjects, readNotifications, ReadTrigger, readTriggers } from './triggers';

type Env = 'staging' | 'production';

/** The name the builds reach the chat stand-in by (the webhook secret's value names it). */
export const CHAT_NAME = 'chat.c2c.internal';

export interface ServiceRunsOptions {
  /** The synthesized Terraform JSON (`cdktf.out`). */
  readonly outdir: string;
  /** Where the stand-in's objects, the certificate and the builds' workspaces go. */
  readonly work: string;
  /**
   * Starts (or names) the local Marathons, which must accept `hosts` in `Host`; returns their base URLs. It gets the
   * Google stand-in and the applied triggers too (what a server the Marathons' fetchers reach reads: the artifact server).
   */
  readonly marathons: (
    hosts: Readonly<Record<Env, readonly string[]>>,
    applied: { readonly google: GoogleStandIn; readonly triggers: readonly ReadTrigger[] },
  ) => Promise<Readonly<Record<Env, string>>>;
  /** A loopback chat webhook (`http://127.0.0.1:PORT/PATH`) the notice steps post to. */
  readonly chatUrl?: string;
  readonly mounts?: readonly string[];
  /**
   * The Docker network the builds run on, in place of `cloudbuild` (made, and removed by close()). Two runs on one
   * engine share `cloudbuild`'s names otherwise. @default 'cloudbuild'
   */
  readonly network?: string;
  readonly signal?: AbortSignal;
  readonly onEvent?: ServiceRunSetup['onEvent'];
}

export interface ServiceRuns {
  readonly setup: ServiceRunSetup;
  readonly google: GoogleStandIn;
  readonly hosts: Readonly<Record<Env, readonly string[]>>;
  /**
   * Stops the relays of the names every build uses, closes the Google stand-in and removes the `cloudbuild` network
   * when the executor made it and nothing uses it.
   */
  close(): Promise<void>;
}

/** One at a time, in call order. */
export function turns(): <T>(fn: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const mine = last.then(fn, fn);
    last = mine.catch(() => undefined);
    return mine;
  };
}

/** Starts what a service's chain needs (see the file's comment); the caller starts the Marathons in `marathons`. */
export async function startServiceRuns(o: ServiceRunsOptions): Promise<ServiceRuns> {
  const network = o.network ?? BUILD_NETWORK;
  const google = await startGoogleStandIn(join(o.work, 'google'));
  let relays: Relays | undefined;
  const close = async () => {
    await relays?.close();
    await google.close();
    await removeBuildNetwork(network);
  };
  try {
    // The platform's apply: its allowed-signers object, whose generation the triggers' C2C_PLATFORM_SIGNERS then name.
    const triggers = readTriggers(o.outdir, await publishInlineObjects(google, readInlineObjects(o.outdir)));
    const hosts = synthesizedMarathonHosts(triggers);
    const marathons = await o.marathons(hosts, { google, triggers });
    const chat = o.chatUrl ? new URL(o.chatUrl) : undefined;
    const secrets = new Map<string, string>();
    for (const t of triggers)
      for (const s of t.build.availableSecrets?.secretManager ?? [])
        secrets.set(s.env, s.env === 'C2C_NOTIFY_WEBHOOK' && chat ? `http://${CHAT_NAME}${chat.pathname}` : 'none');
    const base: ServiceRunSetup = {
      triggers,
      notifications: readNotifications(o.outdir),
      google,
      routing: await googleRouting(google, o.work),
      marathons,
      work: o.work,
      secrets,
      sidecarTurn: turns(),
      ...(chat ? { routes: [{ names: [CHAT_NAME], port: 80, target: { host: chat.hostname, port: Number(chat.port) } }] } : {}),
      ...(o.mounts ? { mounts: o.mounts } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    };
    // The names every build uses, answered for the whole run by one set of relays (see ServiceRunSetup.served).
    const shared = allServiceRoutes(base);
    await ensureBuildNetwork(network);
    const { image } = await ensureStandInImage(imageTable().find((r) => r.image === 'node:20-slim')!);
    relays = await startRelays({ network, buildId: `shared-${randomBytes(4).toString('hex')}`, routes: shared, image });
    const setup: ServiceRunSetup = { ...base, served: new Set(shared.map(routeKey)), servedHosts: relays.hosts, network };
    return { setup, google, hosts, close };
  } catch (e) {
    await close();
    throw e;
  }
}
