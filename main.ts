// Composes the platform: one App, the platform stack and one stack per service (each with a GCS state backend).
// This is the synth command (`npm run synth`, `cdktf synth/deploy`): it reads the environment once, and a mistake in
// the settings or the services is one message and exit code 2, never a stack trace.
import { join } from 'node:path';
import { App } from 'cdktf';
import { loadDeployBundle } from './constructs/deploy-bucket';
import { addFleet } from './constructs/fleet';
import { findRepoRoot, loadSeedFiles, pipelineSettingsFromEnv, withLightTokenTraces } from './constructs/settings';
import { C2CError } from './lib/errors';
import { platformFromEnv } from './lib/platform';
import { loadCatalog } from './services';

try {
  const root = findRepoRoot(__dirname);
  const platform = platformFromEnv(process.env);
  const settings = pipelineSettingsFromEnv(platform.githubOwner, process.env);
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
  }, process.env);
} catch (e) {
  if (!(e instanceof C2CError)) throw e;
  process.stderr.write(`synth: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
  process.exitCode = 2;
}
