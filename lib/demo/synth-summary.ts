import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What one synthesized stack would create: resource counts by Terraform type. */
export interface StackSummary {
  readonly stack: string;
  readonly resources: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly backend?: string;
}

interface Manifest {
  readonly stacks: Readonly<Record<string, { readonly synthesizedStackPath: string }>>;
}

interface TerraformJson {
  readonly resource?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly terraform?: { readonly backend?: Readonly<Record<string, { readonly bucket?: string; readonly prefix?: string }>> };
}

/**
 * Reads `cdktf.out/manifest.json` and every stack's `cdk.tf.json`: what `cdktf deploy` would create, per stack.
 * It reads what synthesis wrote; it does not run Terraform (no plan is faked).
 */
export async function summarizeSynth(outdir: string): Promise<StackSummary[]> {
  const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8')) as Manifest;
  const out: StackSummary[] = [];
  for (const [stack, meta] of Object.entries(manifest.stacks)) {
    const tf = JSON.parse(await readFile(join(outdir, meta.synthesizedStackPath), 'utf8')) as TerraformJson;
    const byType: Record<string, number> = {};
    for (const [type, instances] of Object.entries(tf.resource ?? {})) byType[type] = Object.keys(instances).length;
    const gcs = tf.terraform?.backend?.gcs;
    out.push({
      stack,
      resources: Object.values(byType).reduce((a, b) => a + b, 0),
      byType: Object.fromEntries(Object.entries(byType).sort(([a], [b]) => a.localeCompare(b))),
      ...(gcs ? { backend: `gcs://${gcs.bucket ?? '?'}/${gcs.prefix ?? ''}` } : {}),
    });
  }
  return out.sort((a, b) => a.stack.localeCompare(b.stack));
}
