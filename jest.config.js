// Two projects. `unit` (test/unit): pure and in-process tests, no servers, in parallel workers —
// `npm run test:unit`. `integration` (test/workflows, test/integration, test/infra): the real
// PostgreSQL and Temporal started once by test/helpers/global-setup.ts, run in band by `npm test`
// (scripts/test.mjs), with the Temporal SDK's INFO lines printed only for a failing test.
// test/logs/ reads the logs of the whole run: jest.logs.config.js runs it after both.
const common = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  // tsconfig.json sets isolatedModules, so ts-jest only transpiles; `npm run typecheck` checks types.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    {
      ...common,
      displayName: 'integration',
      roots: ['<rootDir>/test/workflows', '<rootDir>/test/integration', '<rootDir>/test/infra'],
      testEnvironment: '<rootDir>/test/helpers/sdk-log-environment.ts',
      setupFiles: ['<rootDir>/test/helpers/sdk-log-setup.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
    },
  ],
};
