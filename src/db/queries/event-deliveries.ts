import type { Db } from '../pool';

export async function markDelivered(db: Db, eventId: string): Promise<void> {
  await db.query(
    `INSERT INTO event_deliveries (event_id, attempts, last_attempt_at, delivered_at)
     VALUES ($1::bigint, 1, now(), now())
     ON CONFLICT (event_id) DO UPDATE
       SET attempts = event_deliveries.attempts + 1, last_attempt_at = now(), delivered_at = now(), last_error = NULL`,
    [eventId],
  );
}

export interface DeliveryFailure {
  error: string;
  /** The failure names this event (not "Temporal is unavailable"): it counts towards the limit. */
  eventFailure: boolean;
  /** The event can never be delivered: dead-letter it now. */
  permanent?: boolean;
  /** Event failures after which the event is dead-lettered. */
  maxFailures: number;
}

/** Records a failed attempt; answers whether the event is now dead-lettered. */
export async function markDeliveryFailed(
  db: Db,
  eventId: string,
  f: DeliveryFailure,
): Promise<{ dead: boolean }> {
  const r = await db.query<{ dead: boolean }>(
    `INSERT INTO event_deliveries (event_id, attempts, last_attempt_at, last_error, failures, dead_at)
     VALUES ($1::bigint, 1, now(), $2::text, $3::int,
             CASE WHEN $4::boolean OR ($3::int > 0 AND $3::int >= $5::int) THEN now() END)
     ON CONFLICT (event_id) DO UPDATE
       SET attempts = event_deliveries.attempts + 1, last_attempt_at = now(), last_error = $2::text,
           failures = event_deliveries.failures + $3::int,
           dead_at = CASE WHEN $4::boolean OR ($3::int > 0 AND event_deliveries.failures + $3::int >= $5::int)
                          THEN COALESCE(event_deliveries.dead_at, now()) ELSE event_deliveries.dead_at END
     RETURNING dead_at IS NOT NULL AS dead`,
    [eventId, f.error.slice(0, 500), f.eventFailure ? 1 : 0, f.permanent ?? false, f.maxFailures],
  );
  return { dead: r.rows[0]?.dead ?? false };
}

export interface DeadLetter {
  event_id: string;
  source: string;
  event_type: string;
  dedupe_key: string;
  /** The first 60 characters; `account_id_length` tells how long it really is. */
  account_id: string;
  account_id_length: number;
  received_at: string;
  dead_at: string;
  attempts: number;
  failures: number;
  last_error: string | null;
}

const DEAD_LETTER_COLUMNS = `e.id::text AS event_id, e.source, e.event_type, e.dedupe_key,
  left(e.account_id, 60) AS account_id, length(e.account_id) AS account_id_length, e.received_at,
  d.dead_at, d.attempts, d.failures, d.last_error`;

export async function countDeadLetters(db: Db): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM event_deliveries d JOIN billing_events e ON e.id = d.event_id
      WHERE d.dead_at IS NOT NULL AND e.outcome IS NULL`,
  );
  return r.rows[0]?.n ?? 0;
}

/** Dead-lettered events still without an outcome, oldest first. */
export async function listDeadLetters(db: Db, limit = 100): Promise<DeadLetter[]> {
  const r = await db.query<DeadLetter>(
    `SELECT ${DEAD_LETTER_COLUMNS}
       FROM event_deliveries d JOIN billing_events e ON e.id = d.event_id
      WHERE d.dead_at IS NOT NULL AND e.outcome IS NULL
      ORDER BY e.id LIMIT $1::int`,
    [limit],
  );
  return r.rows;
}

export async function getDeadLetter(db: Db, eventId: string): Promise<DeadLetter | null> {
  const r = await db.query<DeadLetter>(
    `SELECT ${DEAD_LETTER_COLUMNS}
       FROM event_deliveries d JOIN billing_events e ON e.id = d.event_id
      WHERE d.dead_at IS NOT NULL AND e.outcome IS NULL AND e.id = $1::bigint`,
    [eventId],
  );
  return r.rows[0] ?? null;
}

/** Puts a dead-lettered event back in the delivery queue with a clean failure count. */
export async function reviveDeadLetter(db: Db, eventId: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE event_deliveries SET dead_at = NULL, failures = 0, last_attempt_at = NULL
      WHERE event_id = $1::bigint AND dead_at IS NOT NULL`,
    [eventId],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function lastDeliveryError(db: Db, eventId: string): Promise<string | null> {
  const r = await db.query<{ last_error: string | null }>(
    'SELECT last_error FROM event_deliveries WHERE event_id = $1::bigint',
    [eventId],
  );
  return r.rows[0]?.last_error ?? null;
}

// ---------------------------------------------------------------------------------------------
// The daily check's delivery backlog

export interface Backlog {
  count: number;
  oldest_received_at: string | null;
  sample: { id: string; account_id: string; event_type: string; received_at: string }[];
}

/**
 * Stored events still without an outcome that were received before `receivedBefore`, except
 * dead-lettered ones (those wait for an operator, not for delivery; the daily check counts them
 * apart).
 */
export async function unprocessedBacklog(db: Db, receivedBefore: string): Promise<Backlog> {
  const r = await db.query<{
    id: string;
    account_id: string;
    event_type: string;
    received_at: string;
    total: string;
  }>(
    `SELECT id::text AS id, account_id, event_type, received_at, (count(*) OVER ())::text AS total
       FROM billing_events e
      WHERE outcome IS NULL AND received_at < $1::timestamptz
        AND data->>'kind' IS DISTINCT FROM 'stripe.thin_event'
        AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id AND d.dead_at IS NOT NULL)
      ORDER BY received_at, id LIMIT 10`,
    [receivedBefore],
  );
  const sample = r.rows.map(({ total: _total, ...row }) => row);
  return {
    count: Number(r.rows[0]?.total ?? 0),
    oldest_received_at: sample[0]?.received_at ?? null,
    sample,
  };
}
