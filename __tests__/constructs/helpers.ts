// Shared fixtures for the construct tests: a platform config, a fake deploy bundle, a Testing app in a temp dir that
// is removed afterwards, and a parser for synthesized stacks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { App, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { PlatformConfig, platformFromEnv } from '../../lib/platform';
import { DeployBundle, loadDeployBundle } from '../../constructs/deploy-bucket';

Testing.setupJest();

/** The default platform, independent of the caller's environment. */
export const platform: PlatformConfig = platformFromEnv({});

/** A temp dir per test file, with a fake deploy bundle in it; call `cleanup()` in afterAll. */
export function tempWorkspace(): { dir: string; bundle: DeployBundle; app: () => App; cleanup: () => void } {
  const dir = mkdtempSync(join(os.tmpdir(), 'c2c-constructs-'));
  const bundlePath = join(dir, 'deploy-bundle.cjs');
  writeFileSync(bundlePath, "console.log('deploy');\n");
  let n = 0;
  // Testing.synthScope and Testing.synth make `cdktf.outdir.*` folders in os.tmpdir(): keep them inside `dir`.
  const tmp = jest.spyOn(os, 'tmpdir').mockReturnValue(dir);
  return {
    dir,
    bundle: loadDeployBundle(dir, bundlePath),
    app: () => Testing.app({ outdir: mkdtempSync(join(dir, `app-${n++}-`)), stackTraces: false }),
    cleanup: () => {
      tmp.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A synthesized stack, parsed. */
export interface SynthJson {
  readonly resource: Record<string, Record<string, Record<string, unknown>>>;
  readonly [key: string]: unknown;
}

/** Parses a synthesized stack. */
export function parse(synth: string): SynthJson {
  return JSON.parse(synth) as SynthJson;
}

/** Every resource of a type, in address order. */
export function resources(json: SynthJson, type: string): Record<string, unknown>[] {
  return Object.values(json.resource[type] ?? {});
}

/** The one resource of `type` whose `name` (or another key) has the given value. */
export function resourceWhere(json: SynthJson, type: string, key: string, value: unknown): Record<string, unknown> {
  const found = resources(json, type).find((r) => r[key] === value);
  if (!found) throw new Error(`no ${type} with ${key} = ${JSON.stringify(value)}`);
  return found;
}

/** The build steps of a synthesized trigger. */
export interface Step {
  id: string;
  name: string;
  args: string[];
  wait_for: string[];
  env?: string[];
  entrypoint?: string;
  secret_env?: string[];
}

/** Steps of a trigger, by its name. */
export function stepsOf(json: SynthJson, triggerName: string): Step[] {
  const trigger = resourceWhere(json, 'google_cloudbuild_trigger', 'name', triggerName) as { build: { step: Step[] } };
  return trigger.build.step;
}
