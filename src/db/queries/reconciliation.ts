import type { Db } from '../pool';

export interface LinkedAccount {
  account_id: string;
  stripe_customer_id: string;
}

/** Accounts linked to a Stripe customer, in account order; one account when `accountId` is given. */
export async function listStripeLinkedAccounts(
  db: Db,
  opts: { accountId?: string | null } = {},
): Promise<LinkedAccount[]> {
  const r = await db.query<LinkedAccount>(
    `SELECT account_id, stripe_customer_id FROM billing_accounts
      WHERE stripe_customer_id IS NOT NULL
        AND ($1::text IS NULL OR account_id = $1::text)
      ORDER BY account_id`,
    [opts.accountId ?? null],
  );
  return r.rows;
}

export interface ReconciliationRun {
  provider: 'stripe' | 'myasp';
  scope: string;
  started_by: string;
  started_at: string;
  accounts_checked: number;
  accounts_corrected: number;
  events_recorded: number;
  errors: number;
  summary: unknown;
}

export async function insertReconciliationRun(db: Db, run: ReconciliationRun): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO reconciliation_runs (provider, scope, started_by, started_at, accounts_checked,
       accounts_corrected, events_recorded, errors, summary)
     VALUES ($1::text, $2::text, $3::text, $4::timestamptz, $5::int, $6::int, $7::int, $8::int, $9::jsonb)
     RETURNING id`,
    [
      run.provider,
      run.scope,
      run.started_by,
      run.started_at,
      run.accounts_checked,
      run.accounts_corrected,
      run.events_recorded,
      run.errors,
      JSON.stringify(run.summary),
    ],
  );
  return String(r.rows[0]?.id);
}

export interface LatestRun {
  provider: string;
  scope: string;
  finished_at: string;
  accounts_checked: number;
  accounts_corrected: number;
  errors: number;
}

/** The newest run per provider. */
export async function latestReconciliationRuns(db: Db): Promise<LatestRun[]> {
  const r = await db.query<LatestRun>(
    `SELECT DISTINCT ON (provider) provider, scope, finished_at, accounts_checked,
            accounts_corrected, errors
       FROM reconciliation_runs
      ORDER BY provider, finished_at DESC, id DESC`,
  );
  return r.rows;
}

/** Reconcile events that changed an account (outcome applied), per provider. */
export async function countReconcileCorrections(db: Db): Promise<Map<string, number>> {
  const r = await db.query<{ provider: string; n: number }>(
    `SELECT CASE WHEN event_type = 'reconcile.membership' THEN 'myasp' ELSE 'stripe' END AS provider,
            count(*)::int AS n
       FROM billing_events
      WHERE source = 'reconcile' AND outcome = 'applied'
      GROUP BY 1`,
  );
  return new Map(r.rows.map((row) => [row.provider, row.n]));
}
