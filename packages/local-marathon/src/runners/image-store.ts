/**
 * A Docker image found in the local image store: `registry.host:5000/a/b:tag` runs `<store>/a/b/<tag>/run` with that
 * directory as cwd. Like a container, `cmd` overrides the entrypoint via the shell and `args` go to the entrypoint.
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Launcher } from './types';

/** Parses `registry.host:5000/a/b:tag` into the image-store path segments (`a/b`) and the tag (default `latest`). */
export function imageStorePath(image: string): { name: string; tag: string } {
  let rest = image.split('@')[0];
  const parts = rest.split('/');
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) parts.shift();
  rest = parts.join('/');
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1) || 'latest' };
  return { name: rest, tag: 'latest' };
}

/** The image-store executable for an image, if the store has one. */
export function imageStoreRun(store: string | undefined, image: string): string | undefined {
  if (!store) return undefined;
  const { name, tag } = imageStorePath(image);
  const run = join(store, name, tag, 'run');
  try {
    const st = statSync(run);
    return st.isFile() && (st.mode & 0o111) !== 0 ? run : undefined;
  } catch {
    return undefined;
  }
}

/** The image-store runner kind over the store directory `store` (none: never applies). */
export function imageStoreLauncher(store: string | undefined): Launcher {
  return {
    kind: 'image-store',
    async command({ image, cmd, args }) {
      const run = image ? imageStoreRun(store, image) : undefined;
      if (!run) return undefined;
      return { ...(cmd ? { file: '/bin/sh', argv: ['-c', cmd] } : { file: run, argv: args }), cwd: dirname(run) };
    },
  };
}
