import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EnvironmentName } from '../catalog/types';
import type { PlanChanges } from '../deploy/changes';
import { imageReferenceProblem } from '../image-reference';
import type { FieldChange } from '../deploy/diff';
import type { PlanRelease } from '../deploy/release';
import { canonicalJson } from '../canonical-json';
import { C2CError } from '../errors';
import { MarathonAppDefinition } from '../marathon/app';
import { ArtifactRef } from '../catalog/artifact';

/** The largest plan file read (a rendered app is a few KiB; anything near this is not a plan). */
export const MAX_PLAN_BYTES = 1024 * 1024;

/**
 * Everything a reviewer approves. The plan id is the SHA-256 of exactly this content. `app` is what runs; `image`,
 * `imageDigest`, `diff` and `liveVersion` are kept for people and machines reading the file, and the gate refuses a
 * plan whose stored fields disagree with `app` (it shows reviewers only what it derives from `app` and the live app).
 */
export interface PlanContent {
  readonly format: 'c2c.plan/v1';
  readonly service: string;
  readonly environment: EnvironmentName;
  /** What runs: the image, or for an artifact service its URI (the checksum is in `artifact`). */
  readonly image: string;
  /**
   * An artifact service's package: the fetch URI and SHA-256 that `app` runs (its `fetch` and its
   * `c2c.artifact-sha256` label), pinned by the plan id as an image digest is.
   */
  readonly artifact?: ArtifactRef;
  /** `sha256:…` when the registry could say. */
  readonly imageDigest?: string;
  readonly commit?: string;
  readonly commitTime?: string;
  /** The commit's author (e-mail): four-eyes keeps them from approving their own change. */
  readonly commitAuthor?: string;
  /** The whole change: the commits between what production ran at plan time and `commit`, covered by the plan id. */
  readonly changes?: PlanChanges;
  /** The rendered Marathon JSON that `apply --plan` submits, byte for byte. */
  readonly app: MarathonAppDefinition;
  /**
   * How it is released: the service's strategy and its steps for `app.instances` (blue/green, canary), covered by the
   * plan id; the gate refuses a plan whose release is not what the catalog says. Absent in plans made before
   * strategies: read as a rolling restart.
   */
  readonly release?: PlanRelease;
  /** The live app's `version` the diff was computed against; null when the app does not exist yet. */
  readonly liveVersion: string | null;
  readonly diff: readonly FieldChange[];
  /** Who made the plan: the signer's principal when signed (the gate checks it), else who ran `deploy plan`. */
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface PlanFile extends PlanContent {
  /** `sha256` (hex) of the canonical JSON of the content: keys sorted, no whitespace. */
  readonly id: string;
  /** The author's SSH signature over the plan statement (`ssh-keygen -Y sign -n c2c-plan@commit-to-cloud`). */
  readonly signature?: string;
}

const CONTENT_KEYS: readonly (keyof PlanContent)[] = [
  'format',
  'service',
  'environment',
  'image',
  'artifact',
  'imageDigest',
  'commit',
  'commitTime',
  'commitAuthor',
  'changes',
  'app',
  'release',
  'liveVersion',
  'diff',
  'createdBy',
  'createdAt',
];

/** The id of a plan's content. Any other key (such as `id` itself) is not part of it. */
export function planId(content: PlanContent): string {
  const picked = Object.fromEntries(CONTENT_KEYS.map((k) => [k, content[k]]));
  return createHash('sha256').update(canonicalJson(picked)).digest('hex');
}

/** The plan file for `content`: its id computed, any `id` or `signature` it carried dropped (they were for other content). */
export function sealPlan(content: PlanContent): PlanFile {
  const picked = Object.fromEntries(
    CONTENT_KEYS.filter((k) => content[k] !== undefined).map((k) => [k, content[k]]),
  ) as unknown as PlanContent;
  return { id: planId(picked), ...picked };
}

export async function writePlanFile(path: string, plan: PlanFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(plan, null, 2)}\n`);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** What a PLAN_TAMPERED error carries: what the edited file claims to be (for the refusal record). */
export interface TamperedPlan {
  readonly service: string;
  readonly environment: EnvironmentName;
  readonly planId: string;
}

/**
 * Reads a plan and checks that its content still hashes to its id.
 * @throws C2CError PLAN_INVALID (not a plan file; exit 2) or PLAN_TAMPERED (edited after planning; exit 3)
 */
export async function readPlanFile(path: string): Promise<PlanFile> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const { size, isFile } = await fh.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
      if (!isFile) throw new Error('not a file');
      if (size > MAX_PLAN_BYTES) {
        throw new C2CError('PLAN_INVALID', `plan file '${path}' is ${size} bytes; a plan is at most ${MAX_PLAN_BYTES} bytes (1 MiB)`, {
          hint: "this is not a plan written by 'deploy plan'; plan again",
        });
      }
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof C2CError) throw err;
    throw new C2CError('PLAN_INVALID', `cannot read plan file '${path}': ${(err as Error).message}`, {
      hint: "create one with 'deploy plan --service S --env production --image IMAGE --out FILE'",
    });
  }
  return parsePlanFile(text, path);
}

/**
 * Checks a plan read from elsewhere (a bucket object) exactly as {@link readPlanFile} checks a file: size, shape, and
 * that its content hashes to its id. `path` names it in messages.
 * @throws C2CError PLAN_INVALID or PLAN_TAMPERED
 */
export function parsePlanFile(text: string, path: string): PlanFile {
  if (Buffer.byteLength(text) > MAX_PLAN_BYTES) {
    throw new C2CError('PLAN_INVALID', `plan file '${path}' is larger than ${MAX_PLAN_BYTES} bytes (1 MiB)`, { hint: 'plan again' });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new C2CError('PLAN_INVALID', `plan file '${path}' is not valid JSON`, { hint: 'plan again; never edit a plan file by hand' });
  }
  const plan = data as Partial<PlanFile>;
  const missing = ['format', 'id', 'service', 'environment', 'image', 'app', 'diff', 'createdBy', 'createdAt'].filter(
    (k) => (plan as Record<string, unknown>)[k] === undefined,
  );
  if (plan.format !== 'c2c.plan/v1' || missing.length > 0 || !('liveVersion' in plan)) {
    throw new C2CError(
      'PLAN_INVALID',
      `'${path}' is not a commit-to-cloud plan (format ${JSON.stringify(plan.format)}${missing.length ? `, missing ${missing.join(', ')}` : ''})`,
      {
        hint: "create one with 'deploy plan ... --out FILE'",
      },
    );
  }
  const shapeErrors = planShapeErrors(plan as Record<string, unknown>);
  if (shapeErrors.length > 0) {
    throw new C2CError('PLAN_INVALID', `'${path}' is not a valid plan: ${shapeErrors.join('; ')}`, {
      hint: 'plan again; never edit a plan file by hand',
    });
  }
  const full = plan as PlanFile;
  const actual = planId(full);
  if (actual !== full.id) {
    throw new C2CError(
      'PLAN_TAMPERED',
      `plan file '${path}' was changed after planning: its content hashes to ${actual.slice(0, 12)}, not its id ${full.id.slice(0, 12)}`,
      {
        hint: 'plan again and have the new plan approved; an approval covers one exact plan',
        details: { service: full.service, environment: full.environment, planId: full.id } satisfies TamperedPlan,
      },
    );
  }
  return full;
}

/** Type errors in a plan's fields (the gate reads these values; a wrong type is refused, not coerced). */
function planShapeErrors(p: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const str = (k: string, optional = false) => {
    if (p[k] === undefined && optional) return;
    if (typeof p[k] !== 'string') errors.push(`'${k}' must be a string`);
  };
  ['id', 'service', 'environment', 'image', 'createdBy', 'createdAt'].forEach((k) => str(k));
  ['imageDigest', 'commit', 'commitTime', 'commitAuthor', 'signature'].forEach((k) => str(k, true));
  if (p.liveVersion !== null && typeof p.liveVersion !== 'string') errors.push("'liveVersion' must be a string or null");
  if (!Array.isArray(p.diff)) errors.push("'diff' must be an array");
  const changes = p.changes as Record<string, unknown> | undefined;
  if (
    changes !== undefined &&
    (!changes || !Array.isArray(changes.commits) || typeof changes.total !== 'number' || changes.to !== p.commit)
  ) {
    errors.push("'changes' must list the commits up to the plan's commit");
  }
  const app = p.app as Record<string, unknown> | null;
  if (!app || typeof app !== 'object' || Array.isArray(app) || typeof app.id !== 'string')
    errors.push("'app' must be a Marathon app with an id");
  else if (!app.labels || typeof app.labels !== 'object') errors.push("'app.labels' must be an object");
  const image = (app?.container as { docker?: { image?: unknown } } | undefined)?.docker?.image;
  const imageProblem = image === undefined ? null : imageReferenceProblem(image);
  if (imageProblem !== null) errors.push(`'app.container.docker.image' (${JSON.stringify(image)}) ${imageProblem}`);
  const release = p.release as Record<string, unknown> | undefined;
  if (
    release !== undefined &&
    (!release ||
      typeof release !== 'object' ||
      typeof (release.strategy as { kind?: unknown } | null)?.kind !== 'string' ||
      !Array.isArray(release.steps))
  ) {
    errors.push("'release' must name a strategy and its steps");
  }
  if (p.environment !== undefined && p.environment !== 'staging' && p.environment !== 'production') {
    errors.push(`'environment' must be staging or production`);
  }
  return errors;
}

/** The release as a reviewer reads it: `canary: 10 % then promote, 50 % then 5 min, 100 %; old colour kept 15 min`. */
export function releaseSummary(plan: Pick<PlanContent, 'release'>): string {
  return plan.release?.summary ?? "rolling: Marathon's rolling restart of one app";
}

/** The diff as a reviewer reads it: lib/deploy/diff.ts (one line per leaf, changed leaves first). */
export { formatDiff } from '../deploy/diff';
