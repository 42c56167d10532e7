/**
 * Makes the stand-in images of {@link imageTable} on this machine: a root filesystem holding exactly the recipe's
 * files (host executables at their own paths, the shared libraries `ldd` lists for them, whole directories such as
 * npm and git's helpers), imported with `docker import`. An image that exists is reused.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { C2CError } from '../errors';
import { parseLdd } from '../docker/base-image';
import { execCommand } from '../docker/exec';
import { ImageRow, StandInRecipe } from './images';

/** Label on every stand-in image, for finding and removing them. */
export const STAND_IN_LABEL = 'c2c.cloudbuild.stand-in';
/** Label holding the SHA-256 of the recipe an image was made from: a changed recipe makes the image again. */
export const RECIPE_LABEL = 'c2c.cloudbuild.recipe';

/** The SHA-256 of a row's recipe (and the Node it ships), as written in {@link RECIPE_LABEL}. */
export function recipeHash(row: ImageRow): string {
  return createHash('sha256')
    .update(JSON.stringify({ recipe: row.recipe, node: row.recipe?.node ? process.version : undefined }))
    .digest('hex');
}

function place(root: string, path: string, from = path): void {
  const to = join(root, path);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, statSync(from).mode & 0o777);
}

function npmDir(): string {
  const prefix = join(dirname(process.execPath), '..');
  const dir = [join(prefix, 'lib/node_modules/npm'), '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm'].find((d) =>
    existsSync(join(d, 'bin/npm-cli.js')),
  );
  if (!dir) throw new C2CError('DOCKER_BUILD_FAILED', `npm not found next to ${process.execPath}; the Node stand-ins need it`);
  return dir;
}

/** Writes the recipe's files into `root`. */
export async function writeStandInRootfs(root: string, recipe: StandInRecipe): Promise<void> {
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('usr/bin', join(root, 'bin'));
  const bins: Array<[string, string]> = recipe.bins.map((b) => [b, b.startsWith('/bin/') ? `/usr${b}` : b]);
  if (recipe.node) bins.push([process.execPath, '/usr/local/bin/node']);
  const libs = new Set<string>();
  for (const [from, to] of bins) {
    if (!existsSync(from)) throw new C2CError('DOCKER_BUILD_FAILED', `${from} is not on this machine; a stand-in image needs it`);
    place(root, to, from);
    const r = await execCommand('ldd', [from], { timeoutMs: 30_000 });
    if (r.code === 0) for (const lib of parseLdd(r.stdout)) libs.add(lib);
  }
  for (const lib of libs) if (!lib.startsWith('/usr/bin/')) place(root, lib.startsWith('/lib') ? `/usr${lib}` : lib, lib);
  if (existsSync(join(root, 'usr/lib64')) || libs.has('/lib64/ld-linux-x86-64.so.2')) symlinkSync('usr/lib64', join(root, 'lib64'));
  if (existsSync(join(root, 'usr/lib'))) symlinkSync('usr/lib', join(root, 'lib'));
  if (existsSync(join(root, 'usr/bin/dash'))) symlinkSync('dash', join(root, 'usr/bin/sh'));
  for (const dir of recipe.dirs ?? []) if (existsSync(dir)) cpSync(dir, join(root, dir), { recursive: true, dereference: true });
  if (recipe.node) {
    mkdirSync(join(root, 'usr/local/lib/node_modules'), { recursive: true });
    cpSync(npmDir(), join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    mkdirSync(join(root, 'usr/local/etc'), { recursive: true });
    writeFileSync(join(root, 'usr/local/etc/npmrc'), 'offline=true\ncache=/root/.npm\n');
  }
  for (const [link, target] of recipe.links ?? []) symlinkSync(target, join(root, link));
  for (const [path, content] of recipe.files ?? []) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  for (const dir of ['tmp', 'root', 'home/node', 'workspace']) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
}

/** What {@link ensureStandInImage} did. */
export interface StandInResult {
  readonly image: string;
  readonly created: boolean;
}

/**
 * Makes the stand-in of `row` unless it exists (or `force`); needs a Docker engine.
 * @throws C2CError DOCKER_BUILD_FAILED
 */
export async function ensureStandInImage(row: ImageRow, options: { force?: boolean } = {}): Promise<StandInResult> {
  if (!row.standIn || !row.recipe) throw new C2CError('STEP_NOT_RUNNABLE', `${row.image} has no stand-in: ${row.notRunnable}`);
  const image = row.standIn;
  const hash = recipeHash(row);
  const existing = await execCommand('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${RECIPE_LABEL}"}}`, image], {
    timeoutMs: 30_000,
  });
  // An image made from an older recipe (a tool added since) is made again: a stale stand-in would hide what it adds.
  if (existing.code === 0 && existing.stdout.trim() === hash && !options.force) return { image, created: false };
  const root = mkdtempSync(join(tmpdir(), 'c2c-standin-'));
  const tarFile = `${root}.tar`;
  try {
    await writeStandInRootfs(root, row.recipe);
    const tar = await execCommand('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarFile, '.'], {
      timeoutMs: 300_000,
    });
    if (tar.code !== 0) throw new C2CError('DOCKER_BUILD_FAILED', `could not pack the stand-in of ${row.image}: ${tar.stderr.trim()}`);
    const changes = [
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      `LABEL ${STAND_IN_LABEL}=${JSON.stringify(row.image)} ${RECIPE_LABEL}=${hash}`,
      'WORKDIR /workspace',
      ...(row.recipe.entrypoint ? [`ENTRYPOINT ${JSON.stringify(row.recipe.entrypoint)}`] : []),
      ...(row.recipe.entrypoint ? [] : [row.recipe.node ? 'CMD ["node"]' : 'CMD ["bash"]']),
    ];
    const r = await execCommand('docker', ['import', ...changes.flatMap((c) => ['--change', c]), tarFile, image], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new C2CError('DOCKER_BUILD_FAILED', `docker import of ${image} failed: ${r.stderr.trim()}`);
    return { image, created: true };
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(tarFile, { force: true });
  }
}
