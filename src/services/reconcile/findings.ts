// Reconciliation (SPEC §3 rule 2): converge with the provider when webhooks were missed. Each
// difference the domain finds (src/domain/reconcile.ts) is stored as a `reconcile` event and
// applied by the account workflow like a webhook — store → deliver → applyPendingEvents — so the
// audit trail (`billing.reconciled`) says what differed and rebuild-projection folds it exactly.
// This module stores a finding and has it applied; stripe.ts and myasp.ts find them.
import { createHash } from 'node:crypto';

import type pg from 'pg';

import { getAccount } from '../../db/queries/billing-accounts';
import { insertEvent, toBillingEvent } from '../../db/queries/billing-events';
import type { ReconcileFinding } from '../../domain/reconcile';
import type { AccountState, BillingEvent, EventData, Outcome, Status } from '../../domain/types';

/**
 * Hands a stored reconcile event to its account workflow and waits for its outcome (null: not
 * applied yet, the service's delivery applies it). Given by the caller, so this use case
 * imports no Temporal client.
 */
export type ApplyStoredEvent = (event: BillingEvent) => Promise<Outcome | null>;

export interface ReconcileDeps {
  pool: pg.Pool;
  apply: ApplyStoredEvent;
  now?: () => Date;
}

export interface Correction {
  account_id: string;
  object: string;
  differences: string[];
  event_id: string;
  /** null: stored, the workflow has not answered yet (the delivery sweeper brings it). */
  outcome: Outcome | null;
  from_status: Status | null;
  to_status: Status | null;
}

const digest = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

/**
 * Stores one finding and waits for the account workflow to apply it. The dedupe key names the
 * object's evidence it was compared with and what was fetched: running again before the first
 * event is applied records nothing twice.
 */
export async function recordFinding(
  deps: ReconcileDeps,
  accountId: string,
  before: AccountState | null,
  finding: ReconcileFinding<EventData & { differences: string[] }>,
  payload: unknown,
): Promise<Correction> {
  const event = await storeFinding(deps.pool, accountId, before, finding, payload);
  let outcome: Outcome | null = event.outcome;
  if (outcome === null) {
    try {
      outcome = await deps.apply(toBillingEvent(event));
    } catch {
      outcome = null; // stored: the running service's delivery sweeper applies it
    }
  }
  const after = await getAccount(deps.pool, accountId);
  return {
    account_id: accountId,
    object: finding.object_key,
    differences: finding.data.differences,
    event_id: String(event.id),
    outcome,
    from_status: before?.status ?? null,
    to_status: after?.status ?? null,
  };
}

/** Stores one finding as a `reconcile` event (once: see recordFinding), for the workflow to apply. */
export async function storeFinding(
  pool: pg.Pool,
  accountId: string,
  before: AccountState | null,
  finding: ReconcileFinding<EventData & { differences: string[] }>,
  payload: unknown,
) {
  const known = before?.object_versions[finding.object_key] ?? 'none';
  const { event } = await insertEvent(pool, {
    source: 'reconcile',
    dedupe_key: `reconcile:${finding.object_key}:${known}:${digest(finding.data)}`,
    event_type: finding.data.kind,
    account_id: accountId,
    occurred_at: finding.occurred_at,
    object_key: finding.object_key,
    payload,
    data: finding.data,
  });
  return event;
}
