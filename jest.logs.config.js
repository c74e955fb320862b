// The log scan after the suite (test/logs/): `npm test` runs it once the main run is over
// (scripts/test.mjs). It reads .test-logs/ and starts no PostgreSQL or Temporal.
const [unit] = require('./jest.config.js').projects;

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/logs'],
  testMatch: ['**/*.test.ts'],
  transform: unit.transform,
  moduleFileExtensions: unit.moduleFileExtensions,
};
