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
}

export async function insertRejection(db: Db, r: NewRejection): Promise<void> {
  await db.query(
    `INSERT INTO webhook_rejections (source, http_status, reason, message, content_type, body_bytes, body_sha256, remote_addr, details, received_at)
     VALUES ($1::text, $2::int, $3::text, $4::text, $5::text, $6::int, $7::text, $8::text, $9::jsonb,
             COALESCE($10::timestamptz, now()))`,
    [
      r.source,
      r.http_status,
      r.reason,
      r.message,
      r.content_type,
      r.body_bytes,
      r.body_sha256,
      r.remote_addr,
      JSON.stringify(r.details ?? {}),
      r.received_at ?? null,
    ],
  );
}
