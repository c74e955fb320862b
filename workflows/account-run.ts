// The steps of one run of the account workflow, named: take in an event, wait for work or the next
// deadline, record a fired timer, reload the row, apply what is pending, ask Stripe, continue as
// new. billing-account.ts keeps the handlers and the loop that calls these in order.
// Deterministic: no IO here, only activities; the order of activities, timers and patch checks is
// what committed histories replay against, so a change to it needs a new patch.
import {
  allHandlersFinished,
  condition,
  log,
  patched,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';

import { legacyTransition } from '../src/domain/legacy-transition';
import { nextTimer, transition } from '../src/domain/transition';
import type { AccountState, BillingEvent } from '../src/domain/types';
import type { ApplyEventResult } from './messages';
import { PATCHES } from './patches';
import { ProcessedEvents } from './processed-events';
import { billingBatch, billingDb, stripeAsk } from './proxies';
import {
  BillingAccountId,
  BillingProvider,
  BillingStatus,
  ScheduledCancelAt,
} from './search-attributes';

/** Events remembered as processed (and carried through continue-as-new). */
export const PROCESSED_IDS_KEPT = 1000;

/**
 * Batches: a wake-up adds about six history events (signal, workflow task, marker, sometimes a
 * search-attribute upsert) whatever its number of events, so a run is sized in wake-ups, and in
 * bytes for the markers that list every applied event.
 */
export const MAX_WAKEUPS_PER_RUN = 500;
export const MAX_HISTORY_BYTES_PER_RUN = 8 * 1024 * 1024;

export interface AccountRunInput {
  account_id: string;
  /** Present after continue-as-new: the state and recently processed ids of the previous run. */
  carried?: { state: AccountState | null; processed: string[] };
  /**
   * Continue-as-new after this many events in one run (default 1000 one event at a time, none in
   * batches), or when Temporal suggests it.
   */
  max_events_per_run?: number;
}

export class AccountRun {
  readonly accountId: string;
  /** The account as committed: the projection row this workflow last wrote or read. */
  state: AccountState | null;
  /** Signalled events not yet processed (one-at-a-time histories; a batch clears it). */
  readonly queue: BillingEvent[] = [];
  /** Recently processed events and their outcomes, so a duplicate signal costs nothing. */
  readonly processed: ProcessedEvents;
  /** A wake-up (eventsPending signal, or any event signal in batch mode) not yet acted on. */
  wakeRequested = false;
  /** rebuild-projection rewrote the row: read it again before the next event. */
  reloadRequested = false;
  /** Set once `batchApply` is patched in; the old histories replay without it. */
  batchMode = false;
  /** Batch counters, so an update waiting for an already processed event is answered. */
  private batchesStarted = 0;
  private batchesFinished = 0;
  private wakeUpsInRun = 0;
  processedInRun = 0;
  /** false until the state has been read from (or written to) billing_accounts in this run. */
  private stateKnown: boolean;
  private publishedInRun = false;
  /** The deadline whose timer already fired, so it is not armed again for the same state. */
  private lastTimerKey: string | null = null;
  /** Questions to Stripe still running (equal-second conflicts): continue-as-new waits for them. */
  private asksInFlight = 0;

  constructor(private readonly input: AccountRunInput) {
    this.accountId = input.account_id;
    this.state = input.carried?.state ?? null;
    this.stateKnown = input.carried !== undefined;
    this.processed = new ProcessedEvents(input.carried?.processed ?? [], PROCESSED_IDS_KEPT);
  }

  /** Queues a signalled event of this account; false for another account's event. */
  accept(event: BillingEvent): boolean {
    if (event.account_id !== this.accountId) {
      log.warn('Event for another account ignored', {
        event_id: event.event_id,
        account_id: event.account_id,
      });
      return false;
    }
    const queued = this.queue.some(
      (q) => q.event_id === event.event_id && q.dedupe_key === event.dedupe_key,
    );
    if (queued) return true;
    if (this.processed.has(event.event_id) && !patched(PATCHES.dedupeAsksDatabase)) return true;
    this.queue.push(event);
    return true;
  }

  /** What an update for `event` answers once a batch or the one-at-a-time path has taken it. */
  async waitUntilProcessed(event: BillingEvent): Promise<ApplyEventResult> {
    const after = this.batchesStarted;
    // A batch that started after this update took the event if it was still unprocessed.
    await condition(
      () => this.processed.has(event.event_id) || (this.batchMode && this.batchesFinished > after),
    );
    return {
      event_id: event.event_id,
      outcome: this.processed.outcomeOf(event.event_id) ?? 'duplicate',
      state: this.state,
    };
  }

  /** The run's first step: a batch-mode run reads its state in its first batch instead. */
  async start(): Promise<void> {
    this.batchMode = patched(PATCHES.batchApply);
    if (this.batchMode) return;
    if (this.input.carried === undefined) {
      this.state = await billingDb.loadAccount(this.accountId);
    }
    this.stateKnown = true;
    this.publish();
    this.publishedInRun = true;
  }

  /** Waits for an event, a wake-up, a reload or the next deadline; a passed deadline is recorded. */
  async waitForWorkOrDeadline(): Promise<void> {
    const timer = nextTimer(this.state);
    const timerKey = timer && `${timer.timer}:${timer.due_at}:${this.state?.last_event_id ?? ''}`;
    const armed = timer !== null && timerKey !== this.lastTimerKey;
    const work = () =>
      this.queue.length > 0 ||
      this.wakeRequested ||
      this.reloadRequested ||
      this.shouldContinueAsNew();
    const woken = armed
      ? await condition(work, Math.max(1, Date.parse(timer.due_at) - Date.now()))
      : (await condition(work), true);
    if (woken || !armed) return;
    this.lastTimerKey = timerKey;
    // The deadline becomes a stored `timer` event, applied (and audited) like a webhook.
    this.queue.unshift(
      await billingDb.recordEvent({
        account_id: this.accountId,
        timer: timer.timer,
        due_at: timer.due_at,
        after_event_id: this.state?.last_event_id ?? null,
      }),
    );
  }

  /** After rebuild-projection --apply: the row in the database is the truth. */
  async reloadIfAsked(): Promise<void> {
    if (!this.reloadRequested) return;
    this.reloadRequested = false;
    this.state = await billingDb.loadAccount(this.accountId);
    this.publish();
  }

  /** Applies what is pending: every stored event in batches, or the queue one event at a time. */
  async applyPending(): Promise<void> {
    const pending = this.queue.length > 0 || this.wakeRequested;
    if (!this.batchMode && pending) this.batchMode = patched(PATCHES.batchApply);
    if (this.batchMode && pending) await this.applyBatches();
    while (this.queue.length > 0) await this.applyOne(this.queue.shift() as BillingEvent);
  }

  /** One event, one applyTransition activity (histories recorded before batches). */
  private async applyOne(event: BillingEvent): Promise<void> {
    if (this.processed.has(event.event_id) && !patched(PATCHES.dedupeAsksDatabase)) return;
    const before = this.state;
    const decide = patched(PATCHES.derivedStatus) ? transition : legacyTransition;
    const decision = decide(before, event);
    const result = await billingDb.applyTransition({
      event,
      decision,
      from_status: before?.status ?? null,
    });
    // Already committed (a retried activity, or an event delivered again after a restart): the
    // database holds the truth, so take the state from there instead of re-deciding.
    this.state = result.already_processed
      ? await billingDb.loadAccount(this.accountId)
      : decision.state;
    this.processed.record(event.event_id, result.outcome);
    this.processedInRun += 1;
    if (changedForSearch(before, this.state)) this.publish();
  }

  /** One wake-up: every pending event of the account, in batches of one transaction each. */
  private async applyBatches(): Promise<void> {
    this.wakeRequested = false;
    this.queue.length = 0;
    const mine = ++this.batchesStarted;
    this.wakeUpsInRun += 1;
    const conflicts = new Set<string>();
    for (;;) {
      const before = this.state;
      const r = await billingBatch.applyPendingEvents({
        account_id: this.accountId,
        ...(this.stateKnown ? { state: this.state } : {}),
      });
      this.state = r.state;
      this.stateKnown = true;
      for (const a of r.applied) this.processed.record(a.event_id, a.outcome);
      this.processedInRun += r.applied.length;
      for (const id of r.conflicts ?? []) conflicts.add(id);
      if (!this.publishedInRun || changedForSearch(before, this.state)) {
        this.publish();
        this.publishedInRun = true;
      }
      if (!r.more) break;
    }
    this.batchesFinished = mine;
    if (conflicts.size > 0 && patched(PATCHES.reconcileEqualSeconds)) {
      this.askStripe([...conflicts]);
    }
  }

  /**
   * Asks Stripe about subscriptions whose same-second events disagreed, without holding up the
   * account's next events; a stored answer wakes the account, whose next batch applies it.
   */
  private askStripe(subscriptionIds: string[]): void {
    this.asksInFlight += 1;
    void stripeAsk
      .reconcileSubscriptions({ account_id: this.accountId, subscription_ids: subscriptionIds })
      .then(
        (asked) => {
          if (asked.recorded.length > 0) this.wakeRequested = true;
        },
        (err: unknown) => {
          log.warn('Stripe could not be asked about an equal-second conflict', {
            subscription_ids: subscriptionIds,
            error: err instanceof Error ? err.message : String(err),
          });
        },
      )
      .finally(() => {
        this.asksInFlight -= 1;
      });
  }

  shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    if (info.continueAsNewSuggested) return true;
    const max = this.input.max_events_per_run;
    if (max !== undefined && this.processedInRun >= max) return true;
    if (!this.batchMode) return this.processedInRun >= 1000;
    return (
      this.wakeUpsInRun >= MAX_WAKEUPS_PER_RUN || info.historySize >= MAX_HISTORY_BYTES_PER_RUN
    );
  }

  /** Continues as new when the run is long enough and nothing is in flight or waiting. */
  async continueAsNewIfDue(next: (input: AccountRunInput) => Promise<never>): Promise<void> {
    if (!this.shouldContinueAsNew()) return;
    await condition(() => allHandlersFinished() && this.asksInFlight === 0);
    if (this.queue.length > 0 || this.wakeRequested) return;
    await next({
      account_id: this.accountId,
      carried: { state: this.state, processed: this.processed.ids() },
      max_events_per_run: this.input.max_events_per_run,
    });
  }

  /** The Web UI's search attributes: find the account by id, status, provider, cancel time. */
  publish(): void {
    const state = this.state;
    upsertSearchAttributes([
      { key: BillingAccountId, value: this.accountId },
      { key: BillingStatus, value: state?.status ?? 'none' },
      { key: BillingProvider, value: state?.provider ?? 'none' },
      {
        key: ScheduledCancelAt,
        value: state?.scheduled_cancel_at ? new Date(state.scheduled_cancel_at) : null,
      },
    ]);
  }
}

function changedForSearch(before: AccountState | null, after: AccountState | null): boolean {
  return (
    before?.status !== after?.status || before?.scheduled_cancel_at !== after?.scheduled_cancel_at
  );
}
