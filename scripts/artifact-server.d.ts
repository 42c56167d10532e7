// Types of scripts/artifact-server.js (a plain Node program, shipped as the artifact server app's command).
import { Server } from 'node:http';

/** Options of {@link createArtifactServer}. */
export interface ArtifactServerOptions {
  /** The bucket artifacts are read from. */
  readonly bucket: string;
  /** The folder that is served, ending in `/`, e.g. `artifacts/`. */
  readonly prefix: string;
  /** Cloud Storage's base URL, e.g. `https://storage.googleapis.com`. */
  readonly storageUrl: string;
  /** The metadata server's base URL, e.g. `http://metadata.google.internal`. */
  readonly metadataUrl: string;
  /** One line per request. */
  readonly log: (line: string) => void;
}

/** The server, not listening yet. */
export function createArtifactServer(options: ArtifactServerOptions): Server;
/** The object name a request path names, or why it is refused. */
export function objectNameOf(url: string, prefix: string): { name: string } | { name?: undefined; status: number; message: string };
/** The program's settings from an environment. @throws Error naming the variable */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): {
  bucket: string;
  prefix: string;
  port: number;
  host: string;
  storageUrl: string;
  metadataUrl: string;
};
