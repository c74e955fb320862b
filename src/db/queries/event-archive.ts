// Moving processed events' payloads of a closed month into billing_event_payloads_archive
// (migration 0006). The database allows the stub only when the archive holds the identical
// payload, so each batch is: copy, then stub, in one transaction.
import type { Db } from '../pool';

export interface MonthBounds {
  start: string;
  end: string;
}

/** [start, end) of calendar month `month` (YYYY-MM) in `timeZone`. */
export async function monthBounds(db: Db, month: string, timeZone: string): Promise<MonthBounds> {
  const r = await db.query<MonthBounds>(
    `SELECT (($1::text || '-01')::timestamp AT TIME ZONE $2::text) AS start,
            ((($1::text || '-01')::timestamp + interval '1 month') AT TIME ZONE $2::text) AS end`,
    [month, timeZone],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`no bounds for ${month}`);
  return row;
}

/** YYYY-MM of `at` in `timeZone`. */
export async function monthOf(db: Db, at: string, timeZone: string): Promise<string> {
  const r = await db.query<{ month: string }>(
    `SELECT to_char($1::timestamptz AT TIME ZONE $2::text, 'YYYY-MM') AS month`,
    [at, timeZone],
  );
  return r.rows[0]?.month ?? '';
}

export interface MonthArchiveCounts {
  events: number;
  archived: number;
  archivable: number;
  unprocessed: number;
}

export async function monthArchiveCounts(db: Db, b: MonthBounds): Promise<MonthArchiveCounts> {
  const r = await db.query<Record<keyof MonthArchiveCounts, string>>(
    `SELECT count(*)::text AS events,
            count(*) FILTER (WHERE payload ? '$archived')::text AS archived,
            count(*) FILTER (WHERE outcome IS NOT NULL AND NOT (payload ? '$archived'))::text AS archivable,
            count(*) FILTER (WHERE outcome IS NULL)::text AS unprocessed
       FROM billing_events WHERE received_at >= $1::timestamptz AND received_at < $2::timestamptz`,
    [b.start, b.end],
  );
  const row = r.rows[0];
  return {
    events: Number(row?.events ?? 0),
    archived: Number(row?.archived ?? 0),
    archivable: Number(row?.archivable ?? 0),
    unprocessed: Number(row?.unprocessed ?? 0),
  };
}

/** Copies up to `limit` archivable payloads of the month into the archive; returns their ids. */
export async function copyPayloadsToArchive(
  db: Db,
  b: MonthBounds,
  month: string,
  limit: number,
): Promise<string[]> {
  const r = await db.query<{ event_id: string }>(
    `INSERT INTO billing_event_payloads_archive (event_id, month, payload)
     SELECT id, $3::text, payload FROM billing_events
      WHERE received_at >= $1::timestamptz AND received_at < $2::timestamptz
        AND outcome IS NOT NULL AND NOT (payload ? '$archived')
      ORDER BY id LIMIT $4::int
        FOR UPDATE
     RETURNING event_id::text AS event_id`,
    [b.start, b.end, month, limit],
  );
  return r.rows.map((row) => row.event_id);
}

/** Replaces the copied payloads by their stubs (the trigger checks the archive holds them). */
export async function stubArchivedPayloads(db: Db, ids: string[], month: string): Promise<number> {
  const r = await db.query(
    `UPDATE billing_events SET payload = billing_event_payload_stub(payload, $2::text)
      WHERE id = ANY ($1::bigint[])`,
    [ids, month],
  );
  return r.rowCount ?? 0;
}

/** Stubs whose payload is not in the archive (the trigger makes this empty). */
export async function stubsWithoutArchive(db: Db, limit = 20): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `SELECT e.id::text AS id FROM billing_events e
      WHERE e.payload ? '$archived'
        AND NOT EXISTS (SELECT 1 FROM billing_event_payloads_archive a WHERE a.event_id = e.id)
      ORDER BY e.id LIMIT $1::int`,
    [limit],
  );
  return r.rows.map((row) => row.id);
}
