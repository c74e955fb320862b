// replay <account> (SPEC §7): an account's history as one timeline — each event in the order
// its workflow processed it, with the outcome, the audit action and the status change it caused.
// Events stored but not processed yet come last, flagged pending.
import type pg from 'pg';

import { accountTimeline, type TimelineRow } from '../db/queries/audit-logs';
import { getAccount } from '../db/queries/billing-accounts';
import type { AccountState, Outcome } from '../domain/types';

export interface TimelineEntry {
  /** 1-based position in the timeline. */
  position: number;
  event_id: string;
  processed_seq: string | null;
  pending: boolean;
  source: string;
  event_type: string;
  dedupe_key: string;
  occurred_at: string;
  received_at: string;
  processed_at: string | null;
  outcome: Outcome | null;
  action: string | null;
  actor: string | null;
  from_status: string | null;
  to_status: string | null;
  /** Why an event changed nothing (stale, ignored, rejected) or why an operator corrected. */
  reason: string | null;
}

export interface Timeline {
  account_id: string;
  /** The projection now (null: no billing_accounts row). */
  current: AccountState | null;
  entries: TimelineEntry[];
  pending: number;
}

function toEntry(row: TimelineRow, index: number): TimelineEntry {
  const reason = row.details && typeof row.details.reason === 'string' ? row.details.reason : null;
  return {
    position: index + 1,
    event_id: row.event_id,
    processed_seq: row.processed_seq,
    pending: row.outcome === null,
    source: row.source,
    event_type: row.event_type,
    dedupe_key: row.dedupe_key,
    occurred_at: row.occurred_at,
    received_at: row.received_at,
    processed_at: row.processed_at,
    outcome: row.outcome,
    action: row.action,
    actor: row.actor,
    from_status: row.from_status,
    to_status: row.to_status,
    reason,
  };
}

export async function replayTimeline(pool: pg.Pool, accountId: string): Promise<Timeline> {
  const [rows, current] = await Promise.all([
    accountTimeline(pool, accountId),
    getAccount(pool, accountId),
  ]);
  const entries = rows.map(toEntry);
  return {
    account_id: accountId,
    current,
    entries,
    pending: entries.filter((e) => e.pending).length,
  };
}
