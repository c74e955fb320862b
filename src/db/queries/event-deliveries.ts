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

export async function markDeliveryFailed(db: Db, eventId: string, error: string): Promise<void> {
  await db.query(
    `INSERT INTO event_deliveries (event_id, attempts, last_attempt_at, last_error)
     VALUES ($1::bigint, 1, now(), $2::text)
     ON CONFLICT (event_id) DO UPDATE
       SET attempts = event_deliveries.attempts + 1, last_attempt_at = now(), last_error = $2::text`,
    [eventId, error.slice(0, 500)],
  );
}
