// The daily check's judging queries (the operations checklist's 異常な状態): who was stopped
// lately and by which event, how statuses are spread, how many webhooks were refused, table
// sizes, and the operator-set thresholds. Every time bound is a parameter, never now().
import type { Db } from '../pool';

/** Statuses that deny `confirm` (SPEC §2): moving into one of them is a "stop". */
export const BLOCKED_STATUSES = ['past_due', 'stopped', 'canceled'] as const;

export interface StatusShares {
  total: number;
  by_status: Record<string, number>;
  /** MyASP members whose newest status is 3 (復活, revived). */
  revived: number;
}

export async function statusShares(db: Db): Promise<StatusShares> {
  const r = await db.query<{ status: string; n: string; revived: string }>(
    `SELECT status, count(*)::text AS n,
            count(*) FILTER (WHERE provider = 'myasp' AND provider_status = '3')::text AS revived
       FROM billing_accounts GROUP BY status ORDER BY status`,
  );
  const by_status = Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)]));
  return {
    total: r.rows.reduce((sum, row) => sum + Number(row.n), 0),
    by_status,
    revived: r.rows.reduce((sum, row) => sum + Number(row.revived), 0),
  };
}

export interface StopRow {
  account_id: string;
  /** The blocked status the account moved into. */
  status: string;
  from_status: string | null;
  /** The account's status now. */
  current_status: string | null;
  at: string;
  event_id: string;
  source: string;
  event_type: string;
  dedupe_key: string;
  action: string;
}

/**
 * Audit rows in [since, until] that moved an account from a status that allows `confirm` into
 * one of `statuses` (newest first): the checklist's 最近停止したユーザー query.
 */
export async function stopsBetween(
  db: Db,
  since: string,
  until: string,
  statuses: readonly string[],
  limit = 100,
): Promise<{ total: number; rows: StopRow[] }> {
  const r = await db.query<StopRow & { total: string }>(
    `SELECT l.account_id, l.to_status AS status, l.from_status, a.status AS current_status,
            l.created_at AS at, e.id::text AS event_id, e.source, e.event_type, e.dedupe_key,
            l.action, (count(*) OVER ())::text AS total
       FROM audit_logs l
       JOIN billing_events e ON e.id = l.event_id
       LEFT JOIN billing_accounts a ON a.account_id = l.account_id
      WHERE l.created_at >= $1::timestamptz AND l.created_at <= $2::timestamptz
        AND l.to_status = ANY ($3::text[])
        AND l.from_status IS NOT NULL AND NOT (l.from_status = ANY ($4::text[]))
      ORDER BY l.created_at DESC, l.id DESC LIMIT $5::int`,
    [since, until, statuses, BLOCKED_STATUSES, limit],
  );
  return {
    total: Number(r.rows[0]?.total ?? 0),
    rows: r.rows.map(({ total: _total, ...row }) => row),
  };
}

export interface StopCause {
  source: string;
  event_type: string;
  action: string;
  accounts: number;
  /** Up to five provider event ids (dedupe keys) of that kind. */
  sample: string[];
}

/** Accounts moved into a blocked status in [since, until], grouped by the kind of event that did it. */
export async function stopCauses(db: Db, since: string, until: string): Promise<StopCause[]> {
  const r = await db.query<{
    source: string;
    event_type: string;
    action: string;
    accounts: string;
    sample: string[];
  }>(
    `SELECT e.source, e.event_type, l.action, count(DISTINCT l.account_id)::text AS accounts,
            (array_agg(e.dedupe_key ORDER BY e.id))[1:5] AS sample
       FROM audit_logs l JOIN billing_events e ON e.id = l.event_id
      WHERE l.created_at >= $1::timestamptz AND l.created_at <= $2::timestamptz
        AND l.to_status = ANY ($3::text[])
        AND l.from_status IS NOT NULL AND NOT (l.from_status = ANY ($3::text[]))
      GROUP BY e.source, e.event_type, l.action
      ORDER BY count(DISTINCT l.account_id) DESC, e.source, e.event_type`,
    [since, until, BLOCKED_STATUSES],
  );
  return r.rows.map((row) => ({ ...row, accounts: Number(row.accounts) }));
}

/** Distinct accounts moved into a blocked status in [since, until]. */
export async function countStoppedAccounts(db: Db, since: string, until: string): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT count(DISTINCT l.account_id)::text AS n FROM audit_logs l
      WHERE l.created_at >= $1::timestamptz AND l.created_at <= $2::timestamptz
        AND l.event_id IS NOT NULL AND l.to_status = ANY ($3::text[])
        AND l.from_status IS NOT NULL AND NOT (l.from_status = ANY ($3::text[]))`,
    [since, until, BLOCKED_STATUSES],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** Provider webhooks stored in [since, until] (the accepted side of the error rate). */
export async function countProviderEvents(db: Db, since: string, until: string): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM billing_events
      WHERE source IN ('stripe', 'myasp')
        AND received_at >= $1::timestamptz AND received_at <= $2::timestamptz`,
    [since, until],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The most recently changed account in one of `statuses`, for the live gate probe. */
export async function newestAccountIn(
  db: Db,
  statuses: readonly string[],
): Promise<{ account_id: string; status: string } | null> {
  const r = await db.query<{ account_id: string; status: string }>(
    `SELECT account_id, status FROM billing_accounts WHERE status = ANY ($1::text[])
      ORDER BY updated_at DESC, account_id LIMIT 1`,
    [statuses],
  );
  return r.rows[0] ?? null;
}

export interface TableSize {
  table: string;
  rows: number;
  total_bytes: number;
}

/** On-disk size (with indexes and TOAST) and row estimate of each table that exists. */
export async function tableSizes(db: Db, tables: readonly string[]): Promise<TableSize[]> {
  const r = await db.query<{ table: string; rows: string; total_bytes: string }>(
    `SELECT t AS table, greatest(c.reltuples, 0)::bigint::text AS rows,
            pg_total_relation_size(c.oid)::text AS total_bytes
       FROM unnest($1::text[]) WITH ORDINALITY AS x(t, i)
       JOIN pg_class c ON c.oid = to_regclass(x.t)
      ORDER BY x.i`,
    [tables],
  );
  return r.rows.map((row) => ({
    table: row.table,
    rows: Number(row.rows),
    total_bytes: Number(row.total_bytes),
  }));
}

export interface MonthlyCount {
  /** YYYY-MM in `timeZone`. */
  month: string;
  events: number;
  /** Events of that month whose payload is in billing_event_payloads_archive. */
  archived: number;
  audit_rows: number;
}

/** billing_events and audit_logs rows per calendar month, the newest `months` months. */
export async function monthlyGrowth(
  db: Db,
  until: string,
  months: number,
  timeZone: string,
): Promise<MonthlyCount[]> {
  const r = await db.query<{ month: string; events: string; archived: string; audit_rows: string }>(
    `WITH bounds AS (
       SELECT (date_trunc('month', $1::timestamptz AT TIME ZONE $3::text)
               - make_interval(months => $2::int - 1)) AT TIME ZONE $3::text AS since),
     e AS (SELECT to_char(received_at AT TIME ZONE $3::text, 'YYYY-MM') AS month, count(*) AS n,
                  count(*) FILTER (WHERE payload ? '$archived') AS archived
             FROM billing_events, bounds
            WHERE received_at >= bounds.since AND received_at <= $1::timestamptz GROUP BY 1),
     a AS (SELECT to_char(created_at AT TIME ZONE $3::text, 'YYYY-MM') AS month, count(*) AS n
             FROM audit_logs, bounds
            WHERE created_at >= bounds.since AND created_at <= $1::timestamptz GROUP BY 1)
     SELECT month, coalesce(e.n, 0)::text AS events, coalesce(e.archived, 0)::text AS archived,
            coalesce(a.n, 0)::text AS audit_rows
       FROM e FULL JOIN a USING (month) ORDER BY month`,
    [until, months, timeZone],
  );
  return r.rows.map((row) => ({
    month: row.month,
    events: Number(row.events),
    archived: Number(row.archived),
    audit_rows: Number(row.audit_rows),
  }));
}

export interface StoredThreshold {
  name: string;
  value: number;
  updated_by: string;
  updated_at: string;
}

export async function listThresholds(db: Db): Promise<StoredThreshold[]> {
  const r = await db.query<StoredThreshold>(
    'SELECT name, value, updated_by, updated_at FROM daily_check_thresholds ORDER BY name',
  );
  return r.rows;
}

export async function setThreshold(
  db: Db,
  name: string,
  value: number,
  updatedBy: string,
): Promise<void> {
  await db.query(
    `INSERT INTO daily_check_thresholds (name, value, updated_by)
     VALUES ($1::text, $2::double precision, $3::text)
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by,
       updated_at = now()`,
    [name, value, updatedBy],
  );
}

export async function resetThreshold(db: Db, name: string): Promise<boolean> {
  const r = await db.query('DELETE FROM daily_check_thresholds WHERE name = $1::text', [name]);
  return (r.rowCount ?? 0) > 0;
}

// ---------------------------------------------------------------------------------------------
// The calendar day the check counts in (its time zone)

/** Start of the calendar day containing `now` in `timeZone`, as an ISO string. */
export async function startOfDay(db: Db, now: string, timeZone: string): Promise<string> {
  const r = await db.query<{ start: string }>(
    `SELECT date_trunc('day', $1::timestamptz AT TIME ZONE $2::text) AT TIME ZONE $2::text AS start`,
    [now, timeZone],
  );
  return r.rows[0]?.start ?? now;
}
