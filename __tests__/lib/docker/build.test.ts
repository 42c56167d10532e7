import { dockerBuildArgs, parseBuildOutput } from '../../../lib/docker/build';

describe('dockerBuildArgs', () => {
  it('passes every tag, cache image, build arg and label as its own argument, the context last', () => {
    expect(
      dockerBuildArgs({
        context: '/work/repos/bulb-api',
        tags: ['127.0.0.1:5000/bulb-api:1a2b3c4', 'c2c-main-job/bulb-api:latest'],
        cacheFrom: ['c2c-main-job/bulb-api:latest'],
        buildArgs: { BASE_IMAGE: 'c2c-base/node:20.20.2' },
        labels: { 'c2c.main-job.run': 'r1', 'c2c.service': 'bulb-api' },
      }),
    ).toEqual([
      'build',
      '--force-rm',
      '--tag',
      '127.0.0.1:5000/bulb-api:1a2b3c4',
      '--tag',
      'c2c-main-job/bulb-api:latest',
      '--cache-from',
      'c2c-main-job/bulb-api:latest',
      '--build-arg',
      'BASE_IMAGE=c2c-base/node:20.20.2',
      '--label',
      'c2c.main-job.run=r1',
      '--label',
      'c2c.service=bulb-api',
      '/work/repos/bulb-api',
    ]);
  });

  it('keeps a value with spaces or quotes in one argument (no shell)', () => {
    expect(dockerBuildArgs({ context: '.', tags: ['a:1'], labels: { note: `it's "x y"` } })).toEqual([
      'build',
      '--force-rm',
      '--tag',
      'a:1',
      '--label',
      `note=it's "x y"`,
      '.',
    ]);
  });

  it('needs a tag', () => {
    expect(() => dockerBuildArgs({ context: '.', tags: [] })).toThrow('at least one tag');
  });
});

describe('parseBuildOutput', () => {
  const output = [
    'Step 1/4 : ARG BASE_IMAGE=node:20-slim',
    'Step 2/4 : FROM ${BASE_IMAGE}',
    ' ---> 6996cb9c4743',
    'Step 3/4 : WORKDIR /app',
    ' ---> Using cache',
    ' ---> 9a04c281ede7',
    'Step 4/4 : COPY . .',
    ' ---> 5f2aab6ce933',
    'Successfully built 5f2aab6ce933',
    'Successfully tagged a:1',
  ].join('\n');

  it('counts the steps, the cache hits and reads the image id', () => {
    expect(parseBuildOutput(output)).toEqual({ steps: 4, cachedSteps: 1, imageId: '5f2aab6ce933' });
  });

  it('has no image id when the build did not finish', () => {
    expect(parseBuildOutput('Step 1/2 : FROM nope\n')).toEqual({ steps: 1, cachedSteps: 0 });
  });
});
