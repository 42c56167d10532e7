import { join } from 'node:path';
import { App } from 'cdktf';
import { platformFromEnv } from '../lib/platform';
import { loadCatalog } from '../services';
import { loadDeployBundle, loadPlatformSigners } from './deploy-bucket';
import { addFleet, Fleet } from './fleet';
import { loadSeedFiles, pipelineSettingsFromEnv, withLightTokenTraces } from './settings';

/** Options of {@link synthesize}. */
export interface SynthesizeOptions {
  /** The repository root (package.json, `templates/service-repo/`, `dist/deploy-bundle.cjs`). */
  readonly root: string;
  /**
   * Output folder.
   * @default - cdktf's (`cdktf.out`, or `CDKTF_OUTDIR` when the cdktf CLI runs the app)
   */
  readonly outdir?: string;
}

/**
 * The synth of `main.ts`: reads every setting from `env` (and nothing from anywhere else), loads the catalog, builds
 * the fleet and writes it. The platform pipeline's synth step runs this with exactly its synthesized `env`, which is
 * why the settings are only ever read here. @throws C2CError for a mistake in the settings or the services
 */
export function synthesize(env: NodeJS.ProcessEnv, options: SynthesizeOptions): Fleet {
  const platform = platformFromEnv(env);
  const settings = pipelineSettingsFromEnv(platform.githubOwner, env);
  // The catalog first: a mistake in it is reported before anything is written.
  const services = loadCatalog({ githubOwner: platform.githubOwner }).services;
  return withLightTokenTraces(() => {
    const app = new App({ stackTraces: false, ...(options.outdir !== undefined ? { outdir: options.outdir } : {}) });
    const fleet = addFleet(app, {
      platform,
      settings,
      services,
      bundle: loadDeployBundle(options.root, settings.deployBundle),
      allowedSigners: loadPlatformSigners(options.root),
      seedFiles: loadSeedFiles(join(options.root, 'templates', 'service-repo')),
    });
    app.synth();
    return fleet;
  }, env);
}
