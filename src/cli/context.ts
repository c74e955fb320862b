// What a CLI command gets: a database pool and a Temporal connection, opened on first use and
// closed when the command ends, plus where to write.
import '../db/pool'; // timestamptz as ISO strings, as everywhere else in the service

import pg from 'pg';

import { guardPoolErrors } from '../db/pool';
import { createLogger, type Logger } from '../log';
import { type BillingTemporal, connectTemporal } from '../temporal/client';
import { diagnoseTemporalError } from '../temporal/connection-errors';
import { type ConnectionSettings, ConnectionSettingsError, resolveConnection } from './connection';

export interface CliContext {
  settings(): ConnectionSettings;
  /** The database pool, after one round trip: an unreachable database is one clear error. */
  db(): Promise<pg.Pool>;
  /** Temporal, or undefined when no address is known. */
  temporalIfKnown(): BillingTemporal | undefined;
  /** Temporal, or a one-sentence error when no address is known. */
  temporal(): BillingTemporal;
  /**
   * Temporal, after one round trip: a cluster that refuses this connection (TLS, client
   * certificate, API key) is one clear error before anything is stored. A cluster that is merely
   * down is not an error here: what the command stores, the running service delivers later.
   */
  temporalChecked(): Promise<BillingTemporal>;
  logger: Logger;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  close(): Promise<void>;
}

// Operator queries scan whole tables (integrity, rebuild); give them time, but fail fast when
// the database is not there at all.
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 120_000;
const PREFLIGHT_TIMEOUT_MS = 5_000;

export function createCliContext(
  resolve: () => ConnectionSettings = () => resolveConnection(),
): CliContext {
  let settings: ConnectionSettings | undefined;
  let pool: pg.Pool | undefined;
  let ready: Promise<pg.Pool> | undefined;
  let temporal: BillingTemporal | undefined;
  const ctx: CliContext = {
    settings: () => (settings ??= resolve()),
    db: () =>
      (ready ??= (async () => {
        pool = openPool(ctx.settings().databaseUrl);
        await pool.query('SELECT 1');
        return pool;
      })()),
    temporalIfKnown: () => {
      const s = ctx.settings();
      if (!temporal && s.temporalAddress) {
        temporal = connectTemporal({
          address: s.temporalAddress,
          namespace: s.namespace,
          taskQueue: s.taskQueue,
          security: s.temporalSecurity,
        });
      }
      return temporal;
    },
    temporal: () => {
      const t = ctx.temporalIfKnown();
      if (!t)
        throw new ConnectionSettingsError(
          'No Temporal to connect to: set TEMPORAL_ADDRESS, or run `npm start` in this directory.',
        );
      return t;
    },
    temporalChecked: async () => {
      const t = ctx.temporal();
      const s = ctx.settings();
      try {
        await t.connection.withDeadline(Date.now() + PREFLIGHT_TIMEOUT_MS, () =>
          t.connection.workflowService.getSystemInfo({}),
        );
      } catch (err) {
        const explained = await diagnoseTemporalError(err, {
          address: s.temporalAddress ?? '',
          namespace: s.namespace,
          security: s.temporalSecurity,
        });
        if (explained.refused) throw explained;
      }
      return t;
    },
    logger: createLogger('silent', 'billing-ops'),
    out: process.stdout,
    err: process.stderr,
    close: async () => {
      await Promise.allSettled([pool?.end(), temporal?.connection.close()]);
    },
  };
  return ctx;
}

function openPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
  });
  guardPoolErrors(pool);
  return pool;
}
