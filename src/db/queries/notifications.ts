// notification_endpoints and notification_messages (SPEC §10): where the host app is told, and
// each message's delivery — attempts, the next one's time, the outcome.
import type { Change } from '../../domain/changes';
import type { Db } from '../pool';

export interface EndpointRow {
  id: string;
  url: string;
  types: string[] | null;
  source: 'config' | 'api';
  created_at: string;
  disabled_at: string | null;
  disabled_reason: string | null;
}

/** The endpoint with what signs its messages: only the sender reads this. */
export interface SigningEndpoint extends EndpointRow {
  secret: string;
}

const ENDPOINT_COLUMNS = `id, url, types, source, created_at, disabled_at, disabled_reason`;

export async function insertEndpoint(
  db: Db,
  e: { id: string; url: string; secret: string; types: string[] | null; source: 'config' | 'api' },
): Promise<EndpointRow> {
  const r = await db.query<EndpointRow>(
    `INSERT INTO notification_endpoints (id, url, secret, types, source)
     VALUES ($1::text, $2::text, $3::text, $4::text[], $5::text)
     ON CONFLICT (id) DO UPDATE
        SET url = EXCLUDED.url, secret = EXCLUDED.secret, types = EXCLUDED.types,
            deleted_at = NULL,
            disabled_at = CASE WHEN notification_endpoints.url = EXCLUDED.url
                                AND notification_endpoints.secret = EXCLUDED.secret
                               THEN notification_endpoints.disabled_at END,
            disabled_reason = CASE WHEN notification_endpoints.url = EXCLUDED.url
                                    AND notification_endpoints.secret = EXCLUDED.secret
                                   THEN notification_endpoints.disabled_reason END
     RETURNING ${ENDPOINT_COLUMNS}`,
    [e.id, e.url, e.secret, e.types, e.source],
  );
  const row = r.rows[0];
  if (!row) throw new Error('notification_endpoints insert returned no row.');
  return row;
}

export async function listEndpoints(db: Db): Promise<EndpointRow[]> {
  const r = await db.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM notification_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id`,
  );
  return r.rows;
}

/** Endpoints that take messages now: neither deleted nor disabled. */
export async function listActiveEndpointIds(db: Db): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `SELECT id FROM notification_endpoints WHERE deleted_at IS NULL AND disabled_at IS NULL ORDER BY id`,
  );
  return r.rows.map((row) => row.id);
}

export async function getSigningEndpoint(db: Db, id: string): Promise<SigningEndpoint | null> {
  const r = await db.query<SigningEndpoint>(
    `SELECT ${ENDPOINT_COLUMNS}, secret FROM notification_endpoints
      WHERE id = $1::text AND deleted_at IS NULL`,
    [id],
  );
  return r.rows[0] ?? null;
}

/** Soft delete: its messages stay for the record, and no new ones are queued. */
export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE notification_endpoints SET deleted_at = now() WHERE id = $1::text AND deleted_at IS NULL`,
    [id],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Soft-deletes the endpoints NOTIFY_URL configured, except `keep`. */
export async function retireConfiguredEndpoints(db: Db, keep: string | null): Promise<void> {
  await db.query(
    `UPDATE notification_endpoints SET deleted_at = now()
      WHERE source = 'config' AND deleted_at IS NULL AND ($1::text IS NULL OR id <> $1::text)`,
    [keep],
  );
}

export async function disableEndpoint(db: Db, id: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE notification_endpoints SET disabled_at = now(), disabled_reason = $2::text
      WHERE id = $1::text AND disabled_at IS NULL`,
    [id, reason],
  );
}

export async function enableEndpoint(db: Db, id: string): Promise<void> {
  await db.query(
    `UPDATE notification_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE id = $1::text`,
    [id],
  );
}

/** A message ready to send: the head of its account's queue, with the change it carries. */
export interface DueMessage {
  id: string;
  attempts: number;
  change: Change;
}

/**
 * The first undelivered, unfailed message of each account for the endpoint whose time has come
 * by `now` (the workflow's clock), oldest due first. A later message of an account waits for its
 * earlier ones: only heads are taken.
 */
export async function dueMessages(
  db: Db,
  endpointId: string,
  now: string,
  limit: number,
): Promise<DueMessage[]> {
  const r = await db.query<{ id: string; attempts: number; change: Change }>(
    `WITH heads AS (
       SELECT DISTINCT ON (account_id) id, change_id, attempts, next_attempt_at
         FROM notification_messages
        WHERE endpoint_id = $1::text AND delivered_at IS NULL AND failed_at IS NULL
        ORDER BY account_id, seq
     )
     SELECT h.id::text AS id, h.attempts,
            jsonb_build_object('account_id', c.account_id, 'seq', c.seq::text, 'change_id', c.change_id,
              'type', c.type, 'previous', c.previous, 'current', c.current, 'reason', c.reason,
              'cause', c.cause, 'created_at', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS change
       FROM heads h JOIN billing_changes c ON c.change_id = h.change_id
      WHERE h.next_attempt_at <= $2::timestamptz
      ORDER BY h.next_attempt_at, h.id
      LIMIT $3::int`,
    [endpointId, now, limit],
  );
  return r.rows;
}

/** When the endpoint's next head message falls due (maybe already); null when nothing waits. */
export async function nextDueAt(db: Db, endpointId: string): Promise<string | null> {
  const r = await db.query<{ at: string | null }>(
    `SELECT min(next_attempt_at) AS at FROM (
       SELECT DISTINCT ON (account_id) next_attempt_at
         FROM notification_messages
        WHERE endpoint_id = $1::text AND delivered_at IS NULL AND failed_at IS NULL
        ORDER BY account_id, seq
     ) heads`,
    [endpointId],
  );
  return r.rows[0]?.at ?? null;
}

export interface AttemptRecord {
  id: string;
  status: number | null;
  error: string | null;
  /** delivered, or failed for good, or to be tried again at `next_attempt_at`. */
  result: 'delivered' | 'failed' | 'retry';
  next_attempt_at: string | null;
}

export async function recordAttempt(db: Db, a: AttemptRecord): Promise<void> {
  await db.query(
    `UPDATE notification_messages
        SET attempts = attempts + 1, last_attempt_at = now(), last_status = $2::int,
            last_error = $3::text,
            delivered_at = CASE WHEN $4::text = 'delivered' THEN now() END,
            failed_at = CASE WHEN $4::text = 'failed' THEN now() END,
            next_attempt_at = coalesce($5::timestamptz, next_attempt_at)
      WHERE id = $1::bigint AND delivered_at IS NULL AND failed_at IS NULL`,
    [a.id, a.status, a.error, a.result, a.next_attempt_at],
  );
}

export interface MessageRow {
  id: string;
  endpoint_id: string;
  change_id: string;
  account_id: string;
  seq: string;
  attempts: number;
  next_attempt_at: string;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  failed_at: string | null;
  created_at: string;
}

const MESSAGE_COLUMNS = `id::text AS id, endpoint_id, change_id, account_id, seq::text AS seq, attempts,
  next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, failed_at, created_at`;

/** Messages that ran out of retries, newest first. */
export async function listFailedMessages(
  db: Db,
  opts: { endpointId?: string | null; since?: string | null; limit?: number },
): Promise<MessageRow[]> {
  const r = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM notification_messages
      WHERE failed_at IS NOT NULL
        AND ($1::text IS NULL OR endpoint_id = $1::text)
        AND ($2::timestamptz IS NULL OR failed_at >= $2::timestamptz)
      ORDER BY failed_at DESC, id DESC LIMIT $3::int`,
    [opts.endpointId ?? null, opts.since ?? null, opts.limit ?? 100],
  );
  return r.rows;
}

/**
 * Puts failed messages back in their accounts' queues, due now (`ops notifications retry`).
 * A re-sent message carries the same change, so the same webhook-id.
 */
export async function requeueFailed(
  db: Db,
  opts: { endpointId?: string | null; since?: string | null },
): Promise<{ requeued: number; endpoints: string[] }> {
  const r = await db.query<{ endpoint_id: string }>(
    `WITH back AS (
       SELECT id FROM notification_messages
        WHERE failed_at IS NOT NULL
          AND ($1::text IS NULL OR endpoint_id = $1::text)
          AND ($2::timestamptz IS NULL OR failed_at >= $2::timestamptz)
     )
     UPDATE notification_messages m
        SET failed_at = NULL, attempts = 0, next_attempt_at = now()
       FROM back WHERE m.id = back.id
     RETURNING m.endpoint_id`,
    [opts.endpointId ?? null, opts.since ?? null],
  );
  return { requeued: r.rowCount ?? 0, endpoints: [...new Set(r.rows.map((x) => x.endpoint_id))] };
}

export interface EndpointHealth extends EndpointRow {
  pending: number;
  failed: number;
  delivered: number;
  oldest_pending_at: string | null;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
}

/** Each endpoint with its queue: what /ops, /metrics and the daily check show. */
export async function endpointHealth(db: Db): Promise<EndpointHealth[]> {
  const r = await db.query<EndpointHealth>(
    `SELECT ${ENDPOINT_COLUMNS.split(', ')
      .map((c) => `e.${c}`)
      .join(', ')},
            count(m.id) FILTER (WHERE m.delivered_at IS NULL AND m.failed_at IS NULL)::int AS pending,
            count(m.id) FILTER (WHERE m.failed_at IS NOT NULL)::int AS failed,
            count(m.id) FILTER (WHERE m.delivered_at IS NOT NULL)::int AS delivered,
            min(m.created_at) FILTER (WHERE m.delivered_at IS NULL AND m.failed_at IS NULL) AS oldest_pending_at,
            (array_agg(m.last_status ORDER BY m.last_attempt_at DESC NULLS LAST))[1] AS last_status,
            (array_agg(m.last_error ORDER BY m.last_attempt_at DESC NULLS LAST))[1] AS last_error,
            max(m.last_attempt_at) AS last_attempt_at
       FROM notification_endpoints e
       LEFT JOIN notification_messages m ON m.endpoint_id = e.id
      WHERE e.deleted_at IS NULL
      GROUP BY e.id ORDER BY e.created_at, e.id`,
  );
  return r.rows;
}

/**
 * Endpoints with a message that is overdue by `graceMs` at the database's clock: a wake-up was
 * lost (or the workflow is not running), so the catch-up wakes them.
 */
export async function endpointsWithOverdueMessages(db: Db, graceMs: number): Promise<string[]> {
  const r = await db.query<{ endpoint_id: string }>(
    `SELECT DISTINCT m.endpoint_id FROM notification_messages m
       JOIN notification_endpoints e ON e.id = m.endpoint_id
      WHERE m.delivered_at IS NULL AND m.failed_at IS NULL
        AND e.deleted_at IS NULL AND e.disabled_at IS NULL
        AND m.next_attempt_at < now() - make_interval(secs => $1::double precision / 1000)`,
    [graceMs],
  );
  return r.rows.map((x) => x.endpoint_id);
}
