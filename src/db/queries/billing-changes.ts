// billing_changes (SPEC §10): what the host app is told, numbered per account, and the messages
// fanned out to each endpoint that wants them, in the transaction that writes the change.
import type { Change, ChangeDraft } from '../../domain/changes';
import type { Db } from '../pool';

/** PostgreSQL notification sent on commit when messages were queued for an endpoint. */
export const CHANGES_CHANNEL = 'billing_changes_queued';

const CHANGE_COLUMNS = `account_id, seq, change_id, type, previous, current, reason, cause, created_at`;

/**
 * Records `drafts` (one account's, in order) with the next seq numbers and their ids
 * (`chg_` + the first 32 hex digits of sha256("<account>:<seq>")), and queues one message per
 * endpoint that wants each. The caller holds the account's advisory lock, so the numbers are
 * gapless; UNIQUE (account_id, seq) is the last word. Returns how many messages were queued.
 */
export async function insertChanges(
  db: Db,
  accountId: string,
  drafts: readonly ChangeDraft[],
): Promise<{ changes: number; messages: number }> {
  if (drafts.length === 0) return { changes: 0, messages: 0 };
  const r = await db.query<{ messages: string }>(
    `WITH last AS (
       SELECT coalesce(max(seq), 0) AS n FROM billing_changes WHERE account_id = $1::text
     ), numbered AS (
       SELECT last.n + d.ord AS seq, d.c
         FROM last, jsonb_array_elements($2::jsonb) WITH ORDINALITY AS d(c, ord)
     ), ins AS (
       INSERT INTO billing_changes (account_id, seq, change_id, type, previous, current, reason, cause)
       SELECT $1::text, seq,
              'chg_' || left(encode(sha256(convert_to($1::text || ':' || seq::text, 'UTF8')), 'hex'), 32),
              c->>'type', NULLIF(c->'previous', 'null'::jsonb), c->'current', c->>'reason',
              NULLIF(c->'cause', 'null'::jsonb)
         FROM numbered ORDER BY seq
       RETURNING change_id, account_id, seq, type
     ), queued AS (
       INSERT INTO notification_messages (endpoint_id, change_id, account_id, seq)
       SELECT e.id, ins.change_id, ins.account_id, ins.seq
         FROM ins JOIN notification_endpoints e
           ON e.disabled_at IS NULL AND e.deleted_at IS NULL
          AND (e.types IS NULL OR ins.type = ANY (e.types))
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM queued) AS messages`,
    [accountId, JSON.stringify(drafts)],
  );
  const messages = Number(r.rows[0]?.messages ?? 0);
  if (messages > 0) await db.query(`SELECT pg_notify($1::text, '')`, [CHANGES_CHANNEL]);
  return { changes: drafts.length, messages };
}

export async function listAccountChanges(db: Db, accountId: string): Promise<Change[]> {
  const r = await db.query<Change>(
    `SELECT ${CHANGE_COLUMNS} FROM billing_changes WHERE account_id = $1::text ORDER BY seq`,
    [accountId],
  );
  return r.rows;
}

export async function getChange(db: Db, changeId: string): Promise<Change | null> {
  const r = await db.query<Change>(
    `SELECT ${CHANGE_COLUMNS} FROM billing_changes WHERE change_id = $1::text`,
    [changeId],
  );
  return r.rows[0] ?? null;
}

/** A position in commit order: the writing transaction's id, then the row's id. */
export interface ChangeCursor {
  xid: string;
  id: string;
}

export function encodeCursor(c: ChangeCursor): string {
  return `${c.xid}-${c.id}`;
}

/** Null when `text` is no cursor this service handed out. */
export function decodeCursor(text: string): ChangeCursor | null {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(text);
  return m ? { xid: m[1] ?? '0', id: m[2] ?? '0' } : null;
}

/**
 * Changes after `after` in commit order, only from transactions older than every transaction
 * still running: a row whose transaction has not committed yet can never appear later behind a
 * cursor already handed out (its xid is at or above the horizon, so everything after it waits).
 */
export async function listChangesAfter(
  db: Db,
  after: ChangeCursor | null,
  limit: number,
  accountId: string | null = null,
): Promise<{ changes: Change[]; next: ChangeCursor | null }> {
  const r = await db.query<Change & { xid: string; id: string }>(
    `SELECT id, xid::text AS xid, ${CHANGE_COLUMNS}
       FROM billing_changes
      WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
        AND ($1::xid8 IS NULL OR (xid, id) > ($1::xid8, $2::bigint))
        AND ($4::text IS NULL OR account_id = $4::text)
      ORDER BY xid, id
      LIMIT $3::int`,
    [after?.xid ?? null, after?.id ?? null, limit, accountId],
  );
  const last = r.rows.at(-1);
  return {
    changes: r.rows.map(({ xid: _x, id: _i, ...change }) => change),
    next: last ? { xid: last.xid, id: last.id } : after,
  };
}
