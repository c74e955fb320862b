// Scale scenario: rebuild-projection over generated processed events, in a database of its own.
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { runMigrations } from '../../src/db/migrate';
import { defaultRebuildThreads, rebuildProjection } from '../../src/ops/rebuild';
import type { Figure } from '../figure';
import { generateProcessedEvents } from '../rebuild-data';

/** A database of its own in the same cluster, with `events` processed events generated in SQL. */
export async function prepareRebuildDatabase(
  adminUrl: string,
  events: number,
): Promise<{ url: string; accounts: number; steps: number; generateSeconds: number }> {
  const name = `bench_rebuild_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = adminUrl.replace(/\/[^/]*$/, `/${name}`);
  await runMigrations(url, () => undefined);
  // About 20 events per account: a year and a half of monthly renewals.
  const steps = 20;
  const accounts = Math.max(1, Math.round(events / steps));
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const t0 = performance.now();
    await generateProcessedEvents(pool, { accounts, steps });
    const generateSeconds = (performance.now() - t0) / 1000;
    // The projection the workflows would have written: the rebuild then compares every row.
    const setup = await rebuildProjection(pool, { apply: true, pageSize: 5000 });
    if (!setup.ok || setup.outcome_mismatches.length > 0) {
      throw new Error(
        `generated events do not fold cleanly (${setup.outcome_mismatches.length} outcome mismatches)`,
      );
    }
    return { url, accounts, steps, generateSeconds };
  } finally {
    await pool.end();
  }
}

/**
 * rebuild-projection (compare only) over the generated events, against a bare keyset scan reading
 * the same rows in the same order with no fold: what PostgreSQL and the driver alone take.
 */
export async function rebuildScenario(url: string): Promise<Figure> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const t0 = performance.now();
    let rows = 0;
    let after = 0;
    for (;;) {
      const r = await pool.query<{ processed_seq: string }>(
        `SELECT id, source, dedupe_key, event_type, account_id, occurred_at, object_key, data,
                outcome, processed_seq FROM billing_events
          WHERE processed_seq > $1::bigint ORDER BY processed_seq LIMIT 5000`,
        [after],
      );
      rows += r.rows.length;
      if (r.rows.length < 5000) break;
      after = Number(r.rows.at(-1)?.processed_seq);
    }
    const scanSeconds = (performance.now() - t0) / 1000;
    // As `npm run ops -- rebuild-projection` runs it: one thread per core, each over its share.
    const threads = defaultRebuildThreads();
    const t1 = performance.now();
    const result = await rebuildProjection(pool, {
      apply: false,
      parallel: { databaseUrl: url, threads },
    });
    const seconds = (performance.now() - t1) / 1000;
    if (!result.ok || result.outcome_mismatches.length > 0 || result.events !== rows) {
      throw new Error(`the rebuild did not reproduce the projection (${result.events} events)`);
    }
    return {
      value: result.events / seconds,
      baseline: rows / scanSeconds,
      unit: 'events/s folded and compared',
      extra: {
        events: result.events,
        accounts: result.accounts,
        threads,
        seconds,
        scan_seconds: scanSeconds,
      },
    };
  } finally {
    await pool.end();
  }
}
