import type { GateOverride } from '../../domain/gate';
import type { Db } from '../pool';

export interface OverrideRow extends GateOverride {
  created_by: string;
  created_at: string;
  cleared_at: string | null;
  cleared_by: string | null;
  clear_reason: string | null;
}

const COLUMNS =
  'id, account_id, actions, reason, created_by, created_at, expires_at, cleared_at, cleared_by, clear_reason';

export async function insertOverride(
  db: Db,
  o: {
    id: string;
    account_id: string | null;
    actions: string[];
    reason: string;
    created_by: string;
    expires_at: string;
  },
): Promise<OverrideRow> {
  const r = await db.query<OverrideRow>(
    `INSERT INTO gate_overrides (id, account_id, actions, reason, created_by, expires_at)
     VALUES ($1::text, $2::text, $3::text[], $4::text, $5::text, $6::timestamptz)
     RETURNING ${COLUMNS}`,
    [o.id, o.account_id, o.actions, o.reason, o.created_by, o.expires_at],
  );
  const row = r.rows[0];
  if (!row) throw new Error('gate_overrides insert returned no row.');
  return row;
}

/** Marks an override ended; returns it, or null when it was already cleared or never existed. */
export async function endOverride(
  db: Db,
  id: string,
  by: string,
  reason: string,
): Promise<OverrideRow | null> {
  const r = await db.query<OverrideRow>(
    `UPDATE gate_overrides SET cleared_at = now(), cleared_by = $2::text, clear_reason = $3::text
      WHERE id = $1::text AND cleared_at IS NULL
      RETURNING ${COLUMNS}`,
    [id, by, reason],
  );
  return r.rows[0] ?? null;
}

/** Overrides in force now (not cleared, not expired), for the gate. */
export async function listLiveOverrides(db: Db, accountId?: string): Promise<OverrideRow[]> {
  const r = await db.query<OverrideRow>(
    `SELECT ${COLUMNS} FROM gate_overrides
      WHERE cleared_at IS NULL AND expires_at > now()
        AND ($1::text IS NULL OR account_id IS NULL OR account_id = $1::text)
      ORDER BY created_at`,
    [accountId ?? null],
  );
  return r.rows;
}

export async function listOverrides(db: Db, opts: { all: boolean }): Promise<OverrideRow[]> {
  const r = await db.query<OverrideRow>(
    `SELECT ${COLUMNS} FROM gate_overrides
      WHERE $1::boolean OR (cleared_at IS NULL AND expires_at > now())
      ORDER BY created_at DESC LIMIT 500`,
    [opts.all],
  );
  return r.rows;
}
