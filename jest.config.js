/**
 * Tests run through swc (no type-check); `tsc --noEmit` in `npm test` keeps the types honest. Docker-backed tests
 * (`*.docker.test.ts`) need a running engine and run with `npm run test:docker` (jest.docker.config.js).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__', '<rootDir>/packages'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '\\.docker\\.test\\.ts$'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // cdktf's archiver (zip assets, never made here) is loaded on first use, not with cdktf: see the helper.
  moduleNameMapper: { '^archiver$': '<rootDir>/__tests__/helpers/lazy-archiver.js' },
  // cdktf's creation stacks formatted as outside jest, not through source maps: see the helper.
  setupFilesAfterEnv: ['<rootDir>/__tests__/helpers/plain-creation-stacks.ts'],
  testTimeout: 30000,
  // With the other checks' caches (scripts/test.mjs), per checkout: `rm -rf node_modules/.cache` is a cold run, as CI's
  // fresh clone. (jest's default, /tmp/jest_<uid>, is shared by every checkout on the machine.)
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  // Most suites wait on local servers and child processes rather than compute: one worker more than the cores
  // (jest's default is one fewer) halves the run on 2 cores. A number: jest reads a percentage over 100% as a count.
  maxWorkers: require('node:os').availableParallelism() + 1,
};
