import type { Outcome } from '../../domain/types';
import type { Db } from '../pool';

export interface NewAuditRow {
  account_id: string;
  action: string;
  actor_role: 'system' | 'operator';
  actor: string;
  event_id: string | null;
  from_status: string | null;
  to_status: string | null;
  details: Record<string, unknown>;
}

export interface AuditRow extends NewAuditRow {
  id: string;
  created_at: string;
}

export async function insertAudit(db: Db, a: NewAuditRow): Promise<AuditRow> {
  const r = await db.query<AuditRow>(
    `INSERT INTO audit_logs (account_id, action, actor_role, actor, event_id, from_status, to_status, details)
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text, $7::text, $8::jsonb)
     RETURNING id, account_id, action, actor_role, actor, event_id, from_status, to_status, details, created_at`,
    [
      a.account_id,
      a.action,
      a.actor_role,
      a.actor,
      a.event_id,
      a.from_status,
      a.to_status,
      JSON.stringify(a.details),
    ],
  );
  const row = r.rows[0];
  if (!row) throw new Error('audit_logs insert returned no row.');
  return row;
}

export async function listAccountAudit(
  db: Db,
  accountId: string,
  limit = 200,
): Promise<AuditRow[]> {
  const r = await db.query<AuditRow>(
    `SELECT id, account_id, action, actor_role, actor, event_id, from_status, to_status, details, created_at
       FROM audit_logs WHERE account_id = $1::text ORDER BY id DESC LIMIT $2::int`,
    [accountId, limit],
  );
  return r.rows;
}

/** Several audit rows in one statement (a batch of events applied in one transaction). */
export async function insertAudits(db: Db, rows: readonly NewAuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO audit_logs (account_id, action, actor_role, actor, event_id, from_status, to_status, details)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                          $7::text[], $8::jsonb[])`,
    [
      rows.map((a) => a.account_id),
      rows.map((a) => a.action),
      rows.map((a) => a.actor_role),
      rows.map((a) => a.actor),
      rows.map((a) => a.event_id),
      rows.map((a) => a.from_status),
      rows.map((a) => a.to_status),
      rows.map((a) => JSON.stringify(a.details)),
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// Operator reads: the audit trail's integrity, and an account's timeline

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
