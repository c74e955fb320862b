// The server run of `npm test` (scripts/test.mjs runs it after the dev-server run): the
// integration tests that prove the product's promises, again, against the self-hosted Temporal
// server persisting to PostgreSQL, set up as docker-compose.yml sets it up (global setup with
// TEST_TEMPORAL=server; src/dev/self-hosted-temporal.ts). Any other test file runs there too with
// `TEST_TEMPORAL=server npx jest <file>`.
const { projects, ...main } = require('./jest.config.js');

/** The integration project's settings (environment, setup files, global setup and teardown). */
const integration = projects.find((p) => p.displayName === 'integration');

/** The promises, each proved by these files (docs/deploy.md, "Self-hosted Temporal"). */
const TEMPORAL_SERVER_TESTS = [
  // The lifecycle end to end over HTTP: registration, checkout, payment failure and recovery,
  // cancel at period end and its withdrawal, deletion; search attributes found in visibility.
  'test/integration/stripe-lifecycle.test.ts',
  // The checklist's scenario end to end: MyASP posts, the host app asking through the gate.
  'test/integration/host-app.test.ts',
  // Durable timers: the grace end, and an override's expiry.
  'test/integration/gate.test.ts',
  'test/integration/overrides.test.ts',
  // Replay: a history the server wrote, with a fired timer, replays against today's code.
  'test/integration/history-replay.test.ts',
  // The delivery outbox: a backlog stored while Temporal was away, order across a crash. (The
  // relay's own decisions — holds, isolation of refused events — do not depend on which Temporal
  // answers; they run on the dev server only, to keep CI under 20 minutes.)
  'test/integration/delivery-backlog.test.ts',
  'test/integration/delivery-order.test.ts',
  // Temporal down, stopped and started again, and continue-as-new at the history limit.
  'test/integration/faults-temporal.test.ts',
  // Temporal, and the PostgreSQL it persists to, SIGKILLed and restarted under load.
  'test/integration/reliability-servers.test.ts',
];

/** @type {import('jest').Config} */
module.exports = {
  ...main,
  ...integration,
  displayName: 'temporal-server',
  roots: ['<rootDir>'],
  testMatch: TEMPORAL_SERVER_TESTS.map((file) => `<rootDir>/${file}`),
  globals: { TEST_TEMPORAL: 'server' },
};
