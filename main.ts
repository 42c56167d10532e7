// Composes the platform: one App, the platform stack and one stack per service (each with a GCS state backend).
import { join } from 'node:path';
import { App } from 'cdktf';
import { loadDeployBundle } from './constructs/deploy-bucket';
import { addFleet } from './constructs/fleet';
import { findRepoRoot, loadSeedFiles, pipelineSettingsFromEnv, withLightTokenTraces } from './constructs/settings';
import { C2CError } from './lib/errors';
import { platformFromEnv } from './lib/platform';
import { loadCatalog } from './services';

/** A user mistake (a catalog rule, a setting) as its one-line messages and a hint, exit 2; anything else keeps its stack. */
function reportSynthError(e: unknown): number {
  if (!(e instanceof C2CError)) throw e;
  for (const line of e.message.split('\n')) process.stderr.write(`synth: ${line}\n`);
  process.stderr.write(`hint: ${e.hint ?? "fix the field named above (services/<name>.ts), then run 'npm run synth' again"}\n`);
  return 2;
}

try {
  const root = findRepoRoot(__dirname);
  const platform = platformFromEnv(process.env);
  const settings = pipelineSettingsFromEnv(platform.githubOwner);

  // The catalog first: a mistake in it is reported before anything is written.
  const services = loadCatalog({ githubOwner: platform.githubOwner }).services;
  withLightTokenTraces(() => {
    const app = new App({ stackTraces: false });
    addFleet(app, {
      platform,
      settings,
      services,
      bundle: loadDeployBundle(root, settings.deployBundle),
      seedFiles: loadSeedFiles(join(root, 'templates', 'service-repo')),
    });
    app.synth();
  });
} catch (e) {
  process.exitCode = reportSynthError(e);
}
