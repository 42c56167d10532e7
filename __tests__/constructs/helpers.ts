// Shared fixtures for the construct tests: a platform config, a fake deploy bundle, a Testing app in a temp dir that
// is removed afterwards, and a parser for synthesized stacks.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { App, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';
import { PlatformConfig, platformFromEnv } from '../../lib/platform';
import { DeployBundle, loadDeployBundle } from '../../constructs/deploy-bucket';
import { addFleet, Fleet } from '../../constructs/fleet';
import { literalRefs, PlatformRefs } from '../../constructs/naming';
import { pipelineSettingsFromEnv, PipelineSettings } from '../../constructs/settings';
import { readSynthesizedApp } from '../../constructs/reference-integrity';
import { ServiceDefinition } from '../../lib/catalog/types';

Testing.setupJest();

/** The default platform, independent of the caller's environment. */
export const platform: PlatformConfig = platformFromEnv({});

/** Plain-name platform refs for a construct synthesized on its own (the app passes references). */
export function refsFor(bundle: DeployBundle): PlatformRefs {
  return literalRefs(platform, bundle.sha256);
}

/** A whole app synthesized (every stack, as `cdktf synth` writes it): the stacks' parsed JSON by name. */
export interface SynthesizedFleet {
  readonly fleet: Fleet;
  readonly outdir: string;
  readonly stacks: Readonly<Record<string, SynthJson>>;
  readonly manifest: { stacks: Record<string, { dependencies: string[] }> };
}

/**
 * The app of `main.ts` over fixture services (aws-cdk's `OneStackApp` kind of helper): the platform stack and a stack
 * per service, synthesized to a folder of `app()`. Cross-stack references only resolve in a whole-app synth.
 */
export function synthFleet(
  app: App,
  bundle: DeployBundle,
  services: readonly ServiceDefinition[],
  settings: Partial<PipelineSettings> = {},
): SynthesizedFleet {
  const fleet = addFleet(app, {
    platform,
    settings: { ...pipelineSettingsFromEnv(platform.githubOwner, {}), ...settings },
    services,
    bundle,
    seedFiles: { 'build.sh': '#!/usr/bin/env bash\necho ${HOME}\n', 'README.md': '# service\n' },
  });
  app.synth();
  const stacks = Object.fromEntries(readSynthesizedApp(app.outdir).map((s) => [s.name, s.json as SynthJson]));
  const manifest = JSON.parse(readFileSync(join(app.outdir, 'manifest.json'), 'utf8')) as SynthesizedFleet['manifest'];
  return { fleet, outdir: app.outdir, stacks, manifest };
}

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
