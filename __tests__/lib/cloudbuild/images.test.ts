import { C2CError } from '../../../lib/errors';
import { imageRowFor, imageTable, standInFor } from '../../../lib/cloudbuild/images';
import { STEP_IMAGES } from '../../../constructs/build-steps';

describe('image table', () => {
  const table = imageTable('20.1.0');
  it('has a row for every image the constructs use', () => {
    for (const image of Object.values(STEP_IMAGES)) expect(imageRowFor(image, table)).toBeDefined();
    expect(imageRowFor('hashicorp/terraform:1.9.8', table)?.notRunnable).toMatch(/provider registry/);
  });
  it('maps the digest-pinned slim Node image to a stand-in without git or curl', () => {
    const row = imageRowFor(STEP_IMAGES.deploy, table)!;
    expect(row.standIn).toBe('c2c-standin/node-slim:20.1.0');
    expect(row.recipe!.bins.some((b) => /\/(git|curl|wget)$/.test(b))).toBe(false);
    expect(row.recipe!.bins).toContain('/usr/bin/bash');
  });
  it('gives the full Node image git and curl, and the docker builder the docker CLI and no node', () => {
    expect(imageRowFor(STEP_IMAGES.node, table)!.recipe!.bins).toEqual(expect.arrayContaining(['/usr/bin/git', '/usr/bin/curl']));
    const docker = imageRowFor(STEP_IMAGES.docker, table)!.recipe!;
    expect(docker.bins.some((b) => b.endsWith('/docker'))).toBe(true);
    expect(docker.node).toBeUndefined();
  });
  it('does not take node:20-slim for node:20 or the other way round', () => {
    expect(imageRowFor('node:20', table)!.standIn).toBe('c2c-standin/node:20.1.0');
    expect(imageRowFor('node:18', table)).toBeUndefined();
  });
  it('refuses images without a stand-in, naming the image', () => {
    expect(() => standInFor('hashicorp/terraform:1.9.8', table)).toThrow(C2CError);
    expect(() => standInFor('alpine:3', table)).toThrow(/no local stand-in for image alpine:3/);
  });
});
