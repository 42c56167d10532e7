import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GcsBackend, Testing } from 'cdktf';
import { GithubProvider } from '@cdktf/provider-github/lib/provider';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { BranchProtection } from '@cdktf/provider-github/lib/branch-protection';
import { Repository } from '@cdktf/provider-github/lib/repository';
import { repositoryOwnership, ServiceStack } from '../../constructs/service-stack';
import { platformNames } from '../../constructs/naming';
import { templateArtifact } from '../../lib/catalog/artifact';
import { packageOf } from '../../lib/catalog/types';
import { renderMarathonApp } from '../../lib/marathon/render';
import { serviceDefinitions } from '../../services';
import { platform, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

describe.each(serviceDefinitions.map((s) => [s.name, s] as const))('ServiceStack(service-%s)', (name, service) => {
  const app = ws.app();
  const stack = new ServiceStack(app, `service-${name}`, {
    service,
    platform,
    bundle: ws.bundle,
    connection: 'github',
    seedFiles: { 'build.sh': '#!/usr/bin/env bash\n' },
  });
  new GcsBackend(stack, { bucket: platform.stateBucket, prefix: `stacks/service-${name}` });
  const out = Testing.synth(stack);

  it('matches the snapshot (every resource of the service)', () => {
    expect(JSON.parse(out)).toMatchSnapshot();
  });

  it('configures the Google and GitHub providers and the GCS backend', () => {
    expect(out).toHaveProviderWithProperties(GoogleProvider, { project: platform.project, region: platform.region });
    expect(out).toHaveProviderWithProperties(GithubProvider, { owner: platform.githubOwner });
    expect(JSON.parse(out).terraform.backend).toEqual({ gcs: { bucket: platform.stateBucket, prefix: `stacks/service-${name}` } });
  });

  it('writes both Marathon templates under the stack folder', () => {
    app.synth();
    for (const env of ['staging', 'production'] as const) {
      const file = join(app.outdir, 'stacks', `service-${name}`, 'marathon', `${name}.${env}.json`);
      expect(existsSync(file)).toBe(true);
      // An artifact service's template shows where its artifacts live (the `latest` path in the deploy bucket).
      const artifact =
        packageOf(service).kind === 'artifact' ? { artifact: templateArtifact(service, platformNames(platform).deployBucket) } : {};
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(
        renderMarathonApp(service, env, { image: `${platform.registryHost}/${name}:latest`, ...artifact }),
      );
    }
  });
});

describe('monorepo: services sharing a repository', () => {
  const a = { ...serviceDefinitions[0], name: 'mono-a', repo: 'acme-lighting/mono', paths: ['a/**'] };
  const b = { ...serviceDefinitions[0], name: 'mono-b', repo: 'acme-lighting/mono', paths: ['b/**'] };

  it("the first service by name declares the repository, requiring every sharing service's check", () => {
    expect(repositoryOwnership(b, [b, a], platform.project)).toEqual({
      manage: false,
      requiredChecks: ['mono-a-pr (acme-lighting-platform)', 'mono-b-pr (acme-lighting-platform)'],
    });
    const app = ws.app();
    const outA = Testing.synth(
      new ServiceStack(app, 'service-mono-a', { service: a, platform, bundle: ws.bundle, connection: 'github', fleet: [a, b] }),
    );
    const outB = Testing.synth(
      new ServiceStack(app, 'service-mono-b', { service: b, platform, bundle: ws.bundle, connection: 'github', fleet: [a, b] }),
    );
    expect(outA).toHaveResourceWithProperties(BranchProtection, {
      required_status_checks: [{ strict: true, contexts: ['mono-a-pr (acme-lighting-platform)', 'mono-b-pr (acme-lighting-platform)'] }],
    });
    expect(outB).not.toHaveResource(Repository);
  });
});
