import fs from 'node:fs';
import path from 'node:path';

import pg from 'pg';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * Names under which a database may have recorded migrations that were renamed before 0.1.0, and
 * what they are now. `0006_ops_thresholds_and_payload_archive` was the released
 * `0006_ops_thresholds` renamed with the payload archive added; a database migrated before the
 * rename records `0006_ops_thresholds` (and runs `0008_payload_archive` next), one migrated after
 * it records the combined name, which holds both. From 0.1.0 on a released migration is never
 * renamed or edited (test/unit/migrations-frozen.test.ts).
 */
const RECORDED_AS: Record<string, string[]> = {
  '0006_ops_thresholds_and_payload_archive': ['0006_ops_thresholds', '0008_payload_archive'],
};

/**
 * Applies the numbered SQL migrations in src/db/migrations that the database has not run, each in
 * its own transaction, in number order. node-pg-migrate's checkOrder is off: it compares run
 * order with file order position by position, and released migrations were merged out of number
 * order (0004 ran before 0002, 0007 before 0005 and 0006, 0009 before 0003), so a database that
 * followed them would be refused. What it guarded is checked instead: a database that records a
 * migration this version does not have (a newer version migrated it) is refused with a sentence
 * naming it, and new migrations are numbered after every released one (a test).
 */
export async function runMigrations(
  databaseUrl: string,
  log: (msg: string) => void = () => undefined,
): Promise<void> {
  // node-pg-migrate is ESM-only; Node ≥ 20.19 loads it through require().
  const { runner, PG_MIGRATE_LOCK_ID } = await import('node-pg-migrate');
  await checkRecordedMigrations(databaseUrl, PG_MIGRATE_LOCK_ID);
  await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    count: Infinity,
    checkOrder: false,
    // Several processes starting together (two APIs, two workers) wait for the first one's
    // migrations instead of failing; each migration still runs once.
    advisoryLockMode: 'wait',
    log: (msg: string) => log(msg),
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
}

/**
 * Under node-pg-migrate's lock: records renamed migrations under their names of today
 * (RECORDED_AS), then refuses a database that records a migration this version does not have.
 */
async function checkRecordedMigrations(databaseUrl: string, lockId: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [String(lockId)]);
    const table = await client.query<{ found: string | null }>(
      'SELECT to_regclass($1::text)::text AS found',
      [MIGRATIONS_TABLE],
    );
    if (table.rows[0]?.found) {
      for (const [recorded, now] of Object.entries(RECORDED_AS))
        await client.query(
          `WITH gone AS (DELETE FROM ${MIGRATIONS_TABLE} WHERE name = $1::text RETURNING run_on)
           INSERT INTO ${MIGRATIONS_TABLE} (name, run_on)
           SELECT n.name, gone.run_on FROM gone, unnest($2::text[]) WITH ORDINALITY AS n(name, i)
            ORDER BY n.i`,
          [recorded, now],
        );
      const names = await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
      const known = new Set(
        fs
          .readdirSync(MIGRATIONS_DIR)
          .filter((f) => f.endsWith('.sql'))
          .map((f) => f.slice(0, -'.sql'.length)),
      );
      const unknown = names.rows.map((r) => r.name).filter((n) => !known.has(n));
      if (unknown.length > 0)
        throw new Error(
          `the database has run migration ${unknown.join(', ')}, which this version of the service does not have: a newer version migrated it; run that version`,
        );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
