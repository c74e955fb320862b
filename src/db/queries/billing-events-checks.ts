// Operator reads of billing_events (daily check, integrity check, rebuild). Every time bound is a
// parameter ($1 …), never now(), so a check can be run "as of" a time. The data path's queries of
// the table are billing-events.ts.
import type { Db } from '../pool';

export interface CountBySource {
  source: string;
  n: number;
}

/** Events stored since `since`, by source. */
export async function countEventsSince(db: Db, since: string): Promise<CountBySource[]> {
  const r = await db.query<{ source: string; n: string }>(
    `SELECT source, count(*)::text AS n FROM billing_events
      WHERE received_at >= $1::timestamptz GROUP BY source ORDER BY source`,
    [since],
  );
  return r.rows.map((row) => ({ source: row.source, n: Number(row.n) }));
}

/** The newest received_at per provider (the "last sync"); providers never heard from are absent. */
export async function lastProviderSync(db: Db): Promise<Record<string, string>> {
  const r = await db.query<{ source: string; last: string }>(
    `SELECT source, max(received_at) AS last FROM billing_events
      WHERE source IN ('stripe', 'myasp') GROUP BY source`,
  );
  return Object.fromEntries(r.rows.map((row) => [row.source, row.last]));
}

export interface DuplicateKey {
  dedupe_key: string;
  n: number;
}

/** dedupe_keys stored more than once (the UNIQUE constraint makes this empty). */
export async function duplicateDedupeKeys(
  db: Db,
  limit = 20,
): Promise<{ total: number; keys: DuplicateKey[] }> {
  const r = await db.query<{ dedupe_key: string; n: string; total: string }>(
    `SELECT dedupe_key, count(*)::text AS n, (count(*) OVER ())::text AS total
       FROM billing_events GROUP BY dedupe_key HAVING count(*) > 1
      ORDER BY count(*) DESC, dedupe_key LIMIT $1::int`,
    [limit],
  );
  return {
    total: Number(r.rows[0]?.total ?? 0),
    keys: r.rows.map((row) => ({ dedupe_key: row.dedupe_key, n: Number(row.n) })),
  };
}

export async function countProcessedEvents(db: Db): Promise<number> {
  const r = await db.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM billing_events WHERE processed_seq IS NOT NULL',
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The newest processed_seq of an account's events (null: none processed). */
export async function lastProcessedSeq(db: Db, accountId: string): Promise<string | null> {
  const r = await db.query<{ seq: string | null }>(
    'SELECT max(processed_seq)::text AS seq FROM billing_events WHERE account_id = $1::text',
    [accountId],
  );
  return r.rows[0]?.seq ?? null;
}
