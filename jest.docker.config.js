/**
 * The Docker-backed suite (`npm run test:docker`): every `*.docker.test.ts`, one file at a time, against the running
 * Docker engine and real registries on loopback ports. `npm test` leaves these out and needs no Docker.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__', '<rootDir>/packages'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testMatch: ['**/?(*.)docker.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 120000,
  maxWorkers: 1,
};
