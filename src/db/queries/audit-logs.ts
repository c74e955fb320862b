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
