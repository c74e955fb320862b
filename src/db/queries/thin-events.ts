// Stripe thin events waiting for their fetch (SPEC §3 rule 11): stored, not processed.
import type { Db } from '../pool';
import type { StoredEvent } from './billing-events';

const THIN = `data->>'kind' = 'stripe.thin_event'`;

/**
 * The oldest waiting thin event of each account, oldest first: an account's later thin events
 * wait until the one before is stored, so each account's changes are stored in order.
 */
export async function listWaitingThinEvents(db: Db, limit: number): Promise<StoredEvent[]> {
  const r = await db.query<StoredEvent>(
    `SELECT * FROM (
       SELECT DISTINCT ON (account_id)
              id, source, dedupe_key, event_type, account_id, occurred_at, received_at, object_key,
              payload, data, outcome, processed_at, processed_seq
         FROM billing_events
        WHERE outcome IS NULL AND ${THIN}
        ORDER BY account_id, id
     ) oldest
     ORDER BY id
     LIMIT $1::int`,
    [limit],
  );
  return r.rows;
}

/** How many thin events wait, and since when (the oldest one's arrival). */
export async function thinEventsWaiting(
  db: Db,
): Promise<{ count: number; oldest_received_at: string | null }> {
  const r = await db.query<{ count: string; oldest: Date | null }>(
    `SELECT count(*)::text AS count, min(received_at) AS oldest
       FROM billing_events WHERE outcome IS NULL AND ${THIN}`,
  );
  const row = r.rows[0];
  return {
    count: Number(row?.count ?? 0),
    oldest_received_at: row?.oldest ? new Date(row.oldest).toISOString() : null,
  };
}
