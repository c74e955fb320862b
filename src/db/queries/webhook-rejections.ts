import type { Db } from '../pool';

export interface NewRejection {
  source: string;
  http_status: number;
  reason: string;
  message: string;
  content_type: string | null;
  body_bytes: number | null;
  body_sha256: string | null;
  remote_addr: string | null;
  details?: Record<string, unknown>;
  /** When the answer was given; defaults to now (set for rejections written after an outage). */
  received_at?: string;
  /** Identifies the answer: a retried write of the same answer records nothing more. */
  answer_id?: string;
}

export async function insertRejection(db: Db, r: NewRejection): Promise<void> {
  await insertRejections(db, [r]);
}

/** Writes several rejections in one statement; an answer already recorded is skipped. */
export async function insertRejections(db: Db, rows: readonly NewRejection[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO webhook_rejections (source, http_status, reason, message, content_type, body_bytes,
                                     body_sha256, remote_addr, details, received_at, answer_id)
     SELECT r.source, r.http_status, r.reason, r.message, r.content_type, r.body_bytes,
            r.body_sha256, r.remote_addr, COALESCE(r.details, '{}'::jsonb),
            COALESCE(r.received_at, now()), r.answer_id
       FROM jsonb_to_recordset($1::jsonb) AS r(source text, http_status int, reason text,
            message text, content_type text, body_bytes int, body_sha256 text, remote_addr text,
            details jsonb, received_at timestamptz, answer_id uuid)
     ON CONFLICT (answer_id) WHERE answer_id IS NOT NULL DO NOTHING`,
    [
      JSON.stringify(
        rows.map((r) => ({
          ...r,
          details: r.details ?? {},
          received_at: r.received_at ?? null,
          answer_id: r.answer_id ?? null,
        })),
      ),
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// Operator reads

export interface RejectionCount {
  source: string;
  reason: string;
  n: number;
}

export async function rejectionsSince(db: Db, since: string): Promise<RejectionCount[]> {
  const r = await db.query<{ source: string; reason: string; n: string }>(
    `SELECT source, reason, count(*)::text AS n FROM webhook_rejections
      WHERE received_at >= $1::timestamptz GROUP BY source, reason ORDER BY count(*) DESC, source, reason`,
    [since],
  );
  return r.rows.map((row) => ({ source: row.source, reason: row.reason, n: Number(row.n) }));
}
