// A reconciliation run's summary, kept in reconciliation_runs.
import type pg from 'pg';

import { insertReconciliationRun } from '../../db/queries/reconciliation';
import type { Correction } from './findings';

export interface ReconcileSummary {
  run_id: string;
  provider: 'stripe' | 'myasp';
  scope: string;
  started_at: string;
  accounts_checked: number;
  accounts_corrected: number;
  events_recorded: number;
  corrections: Correction[];
  errors: { account_id: string; message: string }[];
}

/** Keeps a run in reconciliation_runs and returns its summary. */
export async function finishRun(
  pool: pg.Pool,
  run: Omit<ReconcileSummary, 'run_id' | 'accounts_corrected' | 'events_recorded'> & {
    startedBy: string;
  },
): Promise<ReconcileSummary> {
  const changed = run.corrections.filter((c) => c.outcome === 'applied' || c.outcome === null);
  const accountsCorrected = new Set(changed.map((c) => c.account_id)).size;
  const summary = {
    provider: run.provider,
    scope: run.scope,
    started_at: run.started_at,
    accounts_checked: run.accounts_checked,
    accounts_corrected: accountsCorrected,
    events_recorded: run.corrections.length,
    corrections: run.corrections,
    errors: run.errors,
  };
  const run_id = await insertReconciliationRun(pool, {
    ...summary,
    started_by: run.startedBy,
    errors: run.errors.length,
    summary: { corrections: run.corrections, errors: run.errors },
  });
  return { run_id, ...summary };
}
