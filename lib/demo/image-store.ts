import { chmod, cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseImageReference } from '../image-reference';

/** Where the local Marathon looks for an image: `<store>/<repository>/<tag>/run` (registry host stripped). */
export function imageDir(store: string, image: string): string {
  const ref = parseImageReference(image);
  return join(store, ...ref.repository.split('/'), ref.tag ?? 'latest');
}

/**
 * The stand-in for `docker build` + `docker push` on a machine without a Docker engine: copies the built repository
 * into the local image store with a `run` entrypoint (what the Dockerfile's CMD would run), so the local Marathon
 * starts the real service for that image. `extraEnv` is baked in like Dockerfile ENV lines.
 */
export async function packageLocalImage(input: {
  readonly repoDir: string;
  readonly store: string;
  readonly image: string;
  readonly command: string;
  readonly extraEnv?: Readonly<Record<string, string>>;
}): Promise<string> {
  const dir = imageDir(input.store, input.image);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(input.repoDir, dir, { recursive: true, filter: (src) => !src.split('/').includes('.git') });
  const envLines = Object.entries(input.extraEnv ?? {}).map(([k, v]) => `export ${k}=${JSON.stringify(v)}`);
  await writeFile(join(dir, 'run'), ['#!/bin/sh', 'cd "$(dirname "$0")"', ...envLines, `exec ${input.command}`, ''].join('\n'));
  await chmod(join(dir, 'run'), 0o755);
  return dir;
}
