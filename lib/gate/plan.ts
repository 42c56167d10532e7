import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EnvironmentName } from '../catalog/types';
import { C2CError } from '../errors';
import { MarathonAppDefinition } from '../marathon/app';
import { ArtifactRef } from '../catalog/artifact';

/** One changed field between what runs and what the plan will submit. */
export interface FieldChange {
  /** Dotted path with [i] for array items, e.g. `container.docker.image` or `env.LOG_LEVEL`. */
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly from?: unknown;
  readonly to?: unknown;
}

/** Everything a reviewer approves. The plan id is the SHA-256 of exactly this content. */
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
  /** The rendered Marathon JSON that `apply --plan` submits, byte for byte. */
  readonly app: MarathonAppDefinition;
  /** The live app's `version` the diff was computed against; null when the app does not exist yet. */
  readonly liveVersion: string | null;
  readonly diff: readonly FieldChange[];
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface PlanFile extends PlanContent {
  /** `sha256` (hex) of the canonical JSON of the content: keys sorted, no whitespace. */
  readonly id: string;
}

/** JSON with object keys sorted at every depth, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
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
  'app',
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

export function sealPlan(content: PlanContent): PlanFile {
  return { id: planId(content), ...content };
}

export async function writePlanFile(path: string, plan: PlanFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(plan, null, 2)}\n`);
  await rename(tmp, path);
}

/**
 * Reads a plan and checks that its content still hashes to its id.
 * @throws C2CError PLAN_INVALID (not a plan file; exit 2) or PLAN_TAMPERED (edited after planning; exit 3)
 */
export async function readPlanFile(path: string): Promise<PlanFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new C2CError('PLAN_INVALID', `cannot read plan file '${path}': ${(err as Error).message}`, {
      hint: "create one with 'deploy plan --service S --env production --image IMAGE --out FILE'",
    });
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
  const full = plan as PlanFile;
  const actual = planId(full);
  if (actual !== full.id) {
    throw new C2CError(
      'PLAN_TAMPERED',
      `plan file '${path}' was changed after planning: its content hashes to ${actual.slice(0, 12)}, not its id ${full.id.slice(0, 12)}`,
      {
        hint: 'plan again and have the new plan approved; an approval covers one exact plan',
      },
    );
  }
  return full;
}

/** The diff as a reviewer reads it: one line per field, from -> to. */
export function formatDiff(diff: readonly FieldChange[]): string {
  if (diff.length === 0) return 'no change';
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  return diff
    .map((c) => {
      if (c.kind === 'added') return `+ ${c.path}: ${show(c.to)}`;
      if (c.kind === 'removed') return `- ${c.path}: ${show(c.from)}`;
      return `~ ${c.path}: ${show(c.from)} -> ${show(c.to)}`;
    })
    .join('\n');
}
