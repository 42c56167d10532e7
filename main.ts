// Composes the platform: one App, the platform stack and one stack per service, each with a GCS state backend.
import { join } from 'node:path';
import { App, GcsBackend, TerraformStack } from 'cdktf';
import { loadDeployBundle } from './constructs/deploy-bucket';
import { PlatformStack } from './constructs/platform-stack';
import { ServiceStack } from './constructs/service-stack';
import { findRepoRoot, loadSeedFiles, pipelineSettingsFromEnv } from './constructs/settings';
import { platformFromEnv } from './lib/platform';
import { loadCatalog } from './services';

const root = findRepoRoot(__dirname);
const platform = platformFromEnv();
const settings = pipelineSettingsFromEnv(platform.githubOwner);
const catalog = loadCatalog();
const bundle = loadDeployBundle(root, settings.deployBundle);
const seedFiles = loadSeedFiles(join(root, 'templates', 'service-repo'));

const app = new App({ stackTraces: false });
const serviceStacks: TerraformStack[] = catalog.services.map((service) => new ServiceStack(app, `service-${service.name}`, {
  service, platform, bundle, connection: settings.connection, seedFiles, fleet: catalog.services,
}));
const platformStack = new PlatformStack(app, 'platform', {
  platform,
  bundle,
  services: catalog.services,
  connection: settings.connection,
  platformRepo: settings.platformRepo,
  clusterMembers: settings.clusterMembers,
  imageReaders: settings.imageReaders,
  auditReaders: settings.auditReaders,
  platformApprovers: settings.platformApprovers,
  stacks: [
    { name: 'platform', side: 'production' },
    ...serviceStacks.map((s) => ({ name: s.node.id, side: 'staging' as const })),
  ],
});
for (const stack of [platformStack, ...serviceStacks]) {
  new GcsBackend(stack, { bucket: platform.stateBucket, prefix: `stacks/${stack.node.id}` });
}
app.synth();
