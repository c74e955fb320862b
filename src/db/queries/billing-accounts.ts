import type { AccountState, Outcome } from '../../domain/types';
import type { Db } from '../pool';
import { ACCOUNT_PART_HASH, type AccountPart } from './account-part';

export const COLUMNS = `account_id, provider, status, provider_status, plan, amount, email, myasp_user_id,
  stripe_customer_id, stripe_subscription_id, trial_end, scheduled_cancel_at, grace_until,
  status_since, status_event_id, last_event_id, last_event_ts, object_versions, objects, as_of,
  status_object, status_reason`;

export type Row = Omit<AccountState, 'amount'> & { amount: string | null };

export function toState(row: Row): AccountState {
  return { ...row, amount: row.amount === null ? null : Number(row.amount) };
}

export async function getAccount(db: Db, accountId: string): Promise<AccountState | null> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM billing_accounts WHERE account_id = $1::text`,
    [accountId],
  );
  return r.rows[0] ? toState(r.rows[0]) : null;
}

/**
 * Writes the whole projection row; called only inside the transaction that applies its events
 * (or by rebuild-projection --apply). `nextDeadlineAt` is when the status could next change with
 * no new evidence (`nextDeadlineAt(state)` in src/domain/fold.ts): a read reaching it folds the
 * deadline in.
 */
export async function upsertAccount(
  db: Db,
  s: AccountState,
  nextDeadlineAt: string | null,
): Promise<void> {
  await db.query(
    `INSERT INTO billing_accounts (${COLUMNS}, next_deadline_at, updated_at)
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::text, $8::text, $9::text,
             $10::text, $11::timestamptz, $12::timestamptz, $13::timestamptz, $14::timestamptz, $15::bigint,
             $16::bigint, $17::timestamptz, $18::jsonb, $19::jsonb, $20::timestamptz, $21::text, $22::text,
             $23::timestamptz, now())
     ON CONFLICT (account_id) DO UPDATE SET
       provider = EXCLUDED.provider, status = EXCLUDED.status, provider_status = EXCLUDED.provider_status,
       plan = EXCLUDED.plan, amount = EXCLUDED.amount, email = EXCLUDED.email,
       myasp_user_id = EXCLUDED.myasp_user_id, stripe_customer_id = EXCLUDED.stripe_customer_id,
       stripe_subscription_id = EXCLUDED.stripe_subscription_id, trial_end = EXCLUDED.trial_end,
       scheduled_cancel_at = EXCLUDED.scheduled_cancel_at, grace_until = EXCLUDED.grace_until,
       status_since = EXCLUDED.status_since, status_event_id = EXCLUDED.status_event_id,
       last_event_id = EXCLUDED.last_event_id, last_event_ts = EXCLUDED.last_event_ts,
       object_versions = EXCLUDED.object_versions, objects = EXCLUDED.objects,
       as_of = EXCLUDED.as_of, status_object = EXCLUDED.status_object,
       status_reason = EXCLUDED.status_reason, next_deadline_at = EXCLUDED.next_deadline_at,
       updated_at = now()`,
    [
      s.account_id,
      s.provider,
      s.status,
      s.provider_status,
      s.plan,
      s.amount,
      s.email,
      s.myasp_user_id,
      s.stripe_customer_id,
      s.stripe_subscription_id,
      s.trial_end,
      s.scheduled_cancel_at,
      s.grace_until,
      s.status_since,
      s.status_event_id,
      s.last_event_id,
      s.last_event_ts,
      JSON.stringify(s.object_versions),
      JSON.stringify(s.objects),
      s.as_of,
      s.status_object,
      s.status_reason,
      nextDeadlineAt,
    ],
  );
}

/** The account already linked to a provider id, for account resolution (SPEC §3). */
export async function findLinkedAccount(
  db: Db,
  link: { stripeCustomerId?: string | null; myaspUserId?: string | null },
): Promise<string | null> {
  const r = await db.query<{ account_id: string }>(
    `SELECT account_id FROM billing_accounts
      WHERE ($1::text IS NOT NULL AND stripe_customer_id = $1::text)
         OR ($2::text IS NOT NULL AND myasp_user_id = $2::text)
      ORDER BY updated_at DESC LIMIT 1`,
    [link.stripeCustomerId ?? null, link.myaspUserId ?? null],
  );
  return r.rows[0]?.account_id ?? null;
}

export async function statusDistribution(db: Db): Promise<Record<string, number>> {
  const r = await db.query<{ status: string; n: string }>(
    'SELECT status, count(*)::text AS n FROM billing_accounts GROUP BY status ORDER BY status',
  );
  return Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)]));
}

export async function listAllAccounts(db: Db, part?: AccountPart): Promise<AccountState[]> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM billing_accounts
      WHERE ($1::int IS NULL OR ${ACCOUNT_PART_HASH} % $1::int = $2::int)
      ORDER BY account_id`,
    [part?.count ?? null, part?.index ?? null],
  );
  return r.rows.map(toState);
}

export interface AccountListFilter {
  status: string | null;
  provider: string | null;
  updatedSince: string | null;
  /** Keyset: accounts after this id (ids are unique and never change). */
  afterAccountId: string | null;
  limit: number;
}

export type AccountListRow = AccountState & { created_at: string; updated_at: string };

/** Accounts in account_id order, filtered; one page of `limit`. */
export async function listAccounts(db: Db, f: AccountListFilter): Promise<AccountListRow[]> {
  const r = await db.query<Row & { created_at: string; updated_at: string }>(
    `SELECT ${COLUMNS}, created_at, updated_at FROM billing_accounts
      WHERE ($1::text IS NULL OR status = $1::text)
        AND ($2::text IS NULL OR provider = $2::text)
        AND ($3::timestamptz IS NULL OR updated_at >= $3::timestamptz)
        AND ($4::text IS NULL OR account_id COLLATE "C" > $4::text COLLATE "C")
      ORDER BY account_id COLLATE "C"
      LIMIT $5::int`,
    [f.status, f.provider, f.updatedSince, f.afterAccountId, f.limit],
  );
  return r.rows.map((row) => ({
    ...toState(row),
    created_at: row.created_at,
    updated_at: row.updated_at,
  }));
}

// ---------------------------------------------------------------------------------------------
// Operator reads and the rebuild's row lock

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

/** Locks an account's projection row and returns its last_event_id (null: no row). */
export async function lockAccountRow(db: Db, accountId: string): Promise<string | null> {
  const r = await db.query<{ last_event_id: string }>(
    'SELECT last_event_id::text AS last_event_id FROM billing_accounts WHERE account_id = $1::text FOR UPDATE',
    [accountId],
  );
  return r.rows[0]?.last_event_id ?? null;
}
