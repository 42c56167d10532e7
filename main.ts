// Composes the platform: one App, the platform stack and one stack per service (each with a GCS state backend).
import { join } from 'node:path';
import { App } from 'cdktf';
import { loadDeployBundle } from './constructs/deploy-bucket';
import { addFleet } from './constructs/fleet';
import { findRepoRoot, loadSeedFiles, pipelineSettingsFromEnv, withLightTokenTraces } from './constructs/settings';
import { platformFromEnv } from './lib/platform';
import { loadCatalog } from './services';

const root = findRepoRoot(__dirname);
const platform = platformFromEnv(process.env);
const settings = pipelineSettingsFromEnv(platform.githubOwner);

withLightTokenTraces(() => {
  const app = new App({ stackTraces: false });
  addFleet(app, {
    platform,
    settings,
    services: loadCatalog().services,
    bundle: loadDeployBundle(root, settings.deployBundle),
    seedFiles: loadSeedFiles(join(root, 'templates', 'service-repo')),
  });
  app.synth();
});
