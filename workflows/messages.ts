// Signals, updates and queries of the workflows: the client and the workflows share these.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

import type { AccountState, BillingEvent, Outcome } from '../src/domain/types';

/**
 * "The account has stored events waiting": a wake-up with no payload. The workflow applies every
 * unprocessed event of the account from billing_events, so one wake-up carries any number of
 * events, and a repeated one is harmless.
 */
export const eventsPendingSignal = defineSignal('eventsPending');

export interface ApplyEventResult {
  event_id: string;
  /** `duplicate` when the event had already been processed before this call. */
  outcome: Outcome;
  state: AccountState | null;
}

/**
 * A wake-up that answers once the given stored event is processed (API registrations,
 * corrections, Stripe's answers to reconciliation).
 */
export const applyEventUpdate = defineUpdate<ApplyEventResult, [BillingEvent]>('applyEvent');

export interface AccountWorkflowView {
  state: AccountState | null;
  next_timer: { timer: string; due_at: string } | null;
  /** Events applied in this run. */
  processed_in_run: number;
  /** Wake-ups this run has finished (each applied every event pending when it started). */
  wake_ups_in_run: number;
}

export const accountStateQuery = defineQuery<AccountWorkflowView>('accountState');

/**
 * Re-read the account from billing_accounts before the next event: sent by
 * `rebuild-projection --apply` after it rewrote the row, so the workflow does not write its
 * older in-memory state back.
 */
export const reloadStateSignal = defineSignal('reloadState');

/** Ends a gate override's expiry timer early (the operator cleared it). */
export const overrideClearedSignal = defineSignal('overrideCleared');

/** "The endpoint has messages queued": a wake-up with no payload (the messages are in PostgreSQL). */
export const notificationsPendingSignal = defineSignal('notificationsPending');
