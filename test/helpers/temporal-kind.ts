// Which Temporal the suite runs on: the dev server (`dev`, the default) or the self-hosted Temporal
// server on PostgreSQL (`server`: jest.temporal-server.config.js, or TEST_TEMPORAL=server for any
// test file). Global setup starts it and tells the test files through TEST_TEMPORAL.
export const TEMPORAL_KINDS = ['dev', 'server'] as const;
export type TemporalKind = (typeof TEMPORAL_KINDS)[number];

export function temporalKindOf(value: unknown): TemporalKind {
  if (value === undefined || value === '') return 'dev';
  if (TEMPORAL_KINDS.includes(value as TemporalKind)) return value as TemporalKind;
  throw new Error(`TEST_TEMPORAL must be dev or server; got ${JSON.stringify(value)}.`);
}

/** The kind the running suite's global setup started. */
export function temporalUnderTest(): TemporalKind {
  return temporalKindOf(process.env.TEST_TEMPORAL);
}
