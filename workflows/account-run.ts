// The steps of one run of the account workflow, named: wait for a wake-up or the next deadline,
// record a fired timer, reload the row, apply what is pending, ask Stripe, continue as new.
// billing-account.ts keeps the handlers and the loop that calls these in order.
// Deterministic: no IO here, only activities; the order of activities and timers is what the
// release's histories replay against, so a change to it needs a patch (docs/decisions.md).
import {
  allHandlersFinished,
  condition,
  log,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';

import { nextTimer } from '../src/domain/transition';
import type { AccountState, BillingEvent } from '../src/domain/types';
import type { AccountWorkflowView, ApplyEventResult } from './messages';
import { ProcessedEvents } from './processed-events';
import { billingBatch, billingDb, stripeAsk } from './proxies';
import {
  BillingAccountId,
  BillingProvider,
  BillingStatus,
  ScheduledCancelAt,
} from './search-attributes';

/** Outcomes remembered for updates waiting on their event. */
export const PROCESSED_IDS_KEPT = 1000;

/**
 * Runs: a wake-up adds about six history events (signal, workflow task, marker, sometimes a
 * search-attribute upsert) whatever its number of events, so a run is sized in wake-ups, and in
 * bytes for the markers that list every applied event.
 */
export const MAX_WAKEUPS_PER_RUN = 500;
export const MAX_HISTORY_BYTES_PER_RUN = 8 * 1024 * 1024;

export interface AccountRunInput {
  account_id: string;
  /** Present after continue-as-new: the state the previous run ended with. */
  carried?: { state: AccountState | null };
  /** Continue-as-new after this many events in one run (tests); unset: by wake-ups and bytes. */
  max_events_per_run?: number;
}

export class AccountRun {
  readonly accountId: string;
  /** The account as committed: the projection row this workflow last wrote or read. */
  state: AccountState | null;
  /** false until this run has read (or written) billing_accounts: its first batch reads the row. */
  private stateKnown: boolean;
  /** Outcomes of the events this run applied, so an update waiting for one is answered. */
  private readonly processed = new ProcessedEvents(PROCESSED_IDS_KEPT);
  /** A wake-up (eventsPending, an update, a fired timer, Stripe's stored answer) not acted on yet. */
  wakeRequested = false;
  /** rebuild-projection rewrote the row: read it again before the next batch. */
  reloadRequested = false;
  /** Wake-ups started and finished in this run: an update waits for one that started after it. */
  private wakeUpsStarted = 0;
  private wakeUpsFinished = 0;
  /** Events applied in this run (max_events_per_run). */
  private processedInRun = 0;
  /** Search attributes go out once per run, then only when they change. */
  private publishedInRun = false;
  /** The deadline whose timer already fired, so it is not armed again for the same state. */
  private lastTimerKey: string | null = null;
  /** Questions to Stripe still running (equal-second conflicts): continue-as-new waits for them. */
  private asksInFlight = 0;

  constructor(private readonly input: AccountRunInput) {
    this.accountId = input.account_id;
    this.state = input.carried?.state ?? null;
    this.stateKnown = input.carried !== undefined;
  }

  /** The update's answer: the event's outcome once a wake-up that started after it has finished. */
  async applyAndAnswer(event: BillingEvent): Promise<ApplyEventResult> {
    this.wakeRequested = true;
    const after = this.wakeUpsStarted;
    await condition(() => this.processed.has(event.event_id) || this.wakeUpsFinished > after);
    return {
      event_id: event.event_id,
      outcome: this.processed.outcomeOf(event.event_id) ?? 'duplicate',
      state: this.state,
    };
  }

  view(): AccountWorkflowView {
    return {
      state: this.state,
      next_timer: nextTimer(this.state),
      processed_in_run: this.processedInRun,
      wake_ups_in_run: this.wakeUpsFinished,
    };
  }

  /** Waits for a wake-up, a reload or the next deadline; a passed deadline is stored and applied. */
  async waitForWorkOrDeadline(): Promise<void> {
    const timer = nextTimer(this.state);
    const timerKey = timer && `${timer.timer}:${timer.due_at}:${this.state?.last_event_id ?? ''}`;
    const armed = timer !== null && timerKey !== this.lastTimerKey;
    const work = () => this.wakeRequested || this.reloadRequested || this.shouldContinueAsNew();
    const woken = armed
      ? await condition(work, Math.max(1, Date.parse(timer.due_at) - Date.now()))
      : (await condition(work), true);
    if (woken || !armed) return;
    this.lastTimerKey = timerKey;
    // The deadline becomes a stored `timer` event, applied (and audited) like a webhook.
    await billingDb.recordEvent({
      account_id: this.accountId,
      timer: timer.timer,
      due_at: timer.due_at,
      after_event_id: this.state?.last_event_id ?? null,
    });
    this.wakeRequested = true;
  }

  /** After rebuild-projection --apply: the row in the database is the truth. */
  async reloadIfAsked(): Promise<void> {
    if (!this.reloadRequested) return;
    this.reloadRequested = false;
    this.state = await billingDb.loadAccount(this.accountId);
    this.stateKnown = true;
    this.publish();
  }

  /** One wake-up: every pending event of the account, in batches of one transaction each. */
  async applyPending(): Promise<void> {
    if (!this.wakeRequested) return;
    this.wakeRequested = false;
    const mine = ++this.wakeUpsStarted;
    const conflicts = new Set<string>();
    for (let more = true; more;) {
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
      if (!this.publishedInRun || changedForSearch(before, this.state)) this.publish();
      more = r.more;
    }
    this.wakeUpsFinished = mine;
    if (conflicts.size > 0) this.askStripe([...conflicts]);
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

  private shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    const max = this.input.max_events_per_run;
    return (
      info.continueAsNewSuggested ||
      (max !== undefined && this.processedInRun >= max) ||
      this.wakeUpsStarted >= MAX_WAKEUPS_PER_RUN ||
      info.historySize >= MAX_HISTORY_BYTES_PER_RUN
    );
  }

  /** Continues as new when the run is long enough and nothing is in flight or waiting. */
  async continueAsNewIfDue(next: (input: AccountRunInput) => Promise<never>): Promise<void> {
    if (!this.shouldContinueAsNew()) return;
    await condition(() => allHandlersFinished() && this.asksInFlight === 0);
    if (this.wakeRequested) return;
    await next({
      account_id: this.accountId,
      carried: { state: this.state },
      max_events_per_run: this.input.max_events_per_run,
    });
  }

  /** The Web UI's search attributes: find the account by id, status, provider, cancel time. */
  private publish(): void {
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
    this.publishedInRun = true;
  }
}

function changedForSearch(before: AccountState | null, after: AccountState | null): boolean {
  return (
    before?.status !== after?.status || before?.scheduled_cancel_at !== after?.scheduled_cancel_at
  );
}
