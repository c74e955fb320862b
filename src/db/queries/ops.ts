// The operator's queries (SPEC §5 "the checklist's own queries", §7): read-only views across
// tables for the daily check, the integrity check, rebuild and replay, plus daily_check_runs.
// Every time bound is a parameter ($now …), never now(), so a check can be run "as of" a time.
import type { Db } from '../pool';
import type { Outcome } from '../../domain/types';

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

/** Start of the calendar day containing `now` in `timeZone`, as an ISO string. */
export async function startOfDay(db: Db, now: string, timeZone: string): Promise<string> {
  const r = await db.query<{ start: string }>(
    `SELECT date_trunc('day', $1::timestamptz AT TIME ZONE $2::text) AT TIME ZONE $2::text AS start`,
    [now, timeZone],
  );
  return r.rows[0]?.start ?? now;
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

export interface LastEventMismatch {
  account_id: string;
  status: string;
  last_event_id: string;
  problem: 'event_missing' | 'other_account' | 'not_applied' | 'status_differs';
  event_account_id: string | null;
  event_outcome: Outcome | null;
  audit_to_status: string | null;
}

/**
 * billing_accounts joined to the event that last changed each row (SPEC §4.2): the event must
 * exist, belong to the same account, be `applied`, and its audit row must end in the row's status.
 */
export async function lastEventMismatches(db: Db, limit = 50): Promise<LastEventMismatch[]> {
  const r = await db.query<LastEventMismatch>(
    `SELECT a.account_id, a.status, a.last_event_id::text AS last_event_id,
            CASE WHEN e.id IS NULL THEN 'event_missing'
                 WHEN e.account_id <> a.account_id THEN 'other_account'
                 WHEN e.outcome IS DISTINCT FROM 'applied' THEN 'not_applied'
                 ELSE 'status_differs' END AS problem,
            e.account_id AS event_account_id, e.outcome AS event_outcome, l.to_status AS audit_to_status
       FROM billing_accounts a
       LEFT JOIN billing_events e ON e.id = a.last_event_id
       LEFT JOIN audit_logs l ON l.event_id = a.last_event_id
      WHERE e.id IS NULL OR e.account_id <> a.account_id OR e.outcome IS DISTINCT FROM 'applied'
         OR l.to_status IS DISTINCT FROM a.status
      ORDER BY a.account_id LIMIT $1::int`,
    [limit],
  );
  return r.rows;
}

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

export interface OverdueCancel {
  account_id: string;
  scheduled_cancel_at: string;
}

/** Accounts still `canceling` although their cancel time is before `dueBefore`. */
export async function overdueCancels(db: Db, dueBefore: string): Promise<OverdueCancel[]> {
  const r = await db.query<OverdueCancel>(
    `SELECT account_id, scheduled_cancel_at FROM billing_accounts
      WHERE status = 'canceling' AND scheduled_cancel_at < $1::timestamptz
      ORDER BY scheduled_cancel_at LIMIT 50`,
    [dueBefore],
  );
  return r.rows;
}

export async function insertDailyCheckRun(
  db: Db,
  run: { ran_at: string; trigger: string; ok: boolean; result: unknown },
): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO daily_check_runs (ran_at, trigger, ok, result)
     VALUES ($1::timestamptz, $2::text, $3::boolean, $4::jsonb) RETURNING id::text AS id`,
    [run.ran_at, run.trigger, run.ok, JSON.stringify(run.result)],
  );
  return r.rows[0]?.id ?? '';
}

export interface AuditEventProblem {
  event_id: string;
  outcome: Outcome | null;
  audit_rows: number;
}

/**
 * Events whose audit trail breaks SPEC §4.4: processed without exactly one audit row, or
 * unprocessed yet audited.
 */
export async function eventsWithBadAuditCount(
  db: Db,
  limit = 50,
): Promise<{ total: number; rows: AuditEventProblem[] }> {
  const r = await db.query<{
    event_id: string;
    outcome: Outcome | null;
    audit_rows: string;
    total: string;
  }>(
    `SELECT e.id::text AS event_id, e.outcome, count(l.id)::text AS audit_rows, (count(*) OVER ())::text AS total
       FROM billing_events e LEFT JOIN audit_logs l ON l.event_id = e.id
      GROUP BY e.id, e.outcome
     HAVING (e.outcome IS NOT NULL AND count(l.id) <> 1) OR (e.outcome IS NULL AND count(l.id) > 0)
      ORDER BY e.id LIMIT $1::int`,
    [limit],
  );
  const rows = r.rows.map((row) => ({
    event_id: row.event_id,
    outcome: row.outcome,
    audit_rows: Number(row.audit_rows),
  }));
  return { total: Number(r.rows[0]?.total ?? 0), rows };
}

/** Audit rows naming an event id that is not in billing_events. */
export async function auditRowsWithUnknownEvent(
  db: Db,
  limit = 50,
): Promise<{ id: string; event_id: string }[]> {
  const r = await db.query<{ id: string; event_id: string }>(
    `SELECT l.id::text AS id, l.event_id::text AS event_id FROM audit_logs l
      WHERE l.event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_events e WHERE e.id = l.event_id)
      ORDER BY l.id LIMIT $1::int`,
    [limit],
  );
  return r.rows;
}

export interface TableTrigger {
  table: string;
  name: string;
  /** pg_trigger.tgtype bit mask: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate. */
  type: number;
  enabled: boolean;
}

/** User triggers on the given tables, as the catalog has them. */
export async function tableTriggers(db: Db, tables: string[]): Promise<TableTrigger[]> {
  const r = await db.query<TableTrigger>(
    `SELECT c.relname AS table, t.tgname AS name, t.tgtype::int AS type, t.tgenabled <> 'D' AS enabled
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE NOT t.tgisinternal AND c.oid = ANY (SELECT to_regclass(x)::oid FROM unnest($1::text[]) AS x)
      ORDER BY c.relname, t.tgname`,
    [tables],
  );
  return r.rows;
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

/** Locks an account's projection row and returns its last_event_id (null: no row). */
export async function lockAccountRow(db: Db, accountId: string): Promise<string | null> {
  const r = await db.query<{ last_event_id: string }>(
    'SELECT last_event_id::text AS last_event_id FROM billing_accounts WHERE account_id = $1::text FOR UPDATE',
    [accountId],
  );
  return r.rows[0]?.last_event_id ?? null;
}

export interface TimelineRow {
  event_id: string;
  source: string;
  event_type: string;
  dedupe_key: string;
  occurred_at: string;
  received_at: string;
  outcome: Outcome | null;
  processed_at: string | null;
  processed_seq: string | null;
  action: string | null;
  actor_role: string | null;
  actor: string | null;
  from_status: string | null;
  to_status: string | null;
  details: Record<string, unknown> | null;
}

/** An account's events in the order they were processed (pending ones last, by arrival). */
export async function accountTimeline(db: Db, accountId: string): Promise<TimelineRow[]> {
  const r = await db.query<TimelineRow>(
    `SELECT e.id::text AS event_id, e.source, e.event_type, e.dedupe_key, e.occurred_at, e.received_at,
            e.outcome, e.processed_at, e.processed_seq::text AS processed_seq,
            l.action, l.actor_role, l.actor, l.from_status, l.to_status, l.details
       FROM billing_events e LEFT JOIN audit_logs l ON l.event_id = e.id
      WHERE e.account_id = $1::text
      ORDER BY e.processed_seq NULLS LAST, e.id`,
    [accountId],
  );
  return r.rows;
}
