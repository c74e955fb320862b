// One long-lived workflow per account (`billing-account:<accountId>`): the single writer of the
// account. It queues stored events, decides with the pure transition, commits through
// applyTransition, and owns the account's durable timers (trial end, cancel at period end,
// dunning grace). Deterministic: no IO here, only activities.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { legacyTransition } from '../src/domain/legacy-transition';
import { nextTimer, transition } from '../src/domain/transition';
import type { AccountState, BillingEvent, Outcome } from '../src/domain/types';
import { billingBatch, billingDb, stripeAsk } from './proxies';
import {
  accountStateQuery,
  applyEventUpdate,
  billingEventSignal,
  eventsPendingSignal,
  reloadStateSignal,
  type ApplyEventResult,
} from './messages';
import {
  BillingAccountId,
  BillingProvider,
  BillingStatus,
  ScheduledCancelAt,
} from './search-attributes';
import { RecentIds } from './recent-ids';

export interface BillingAccountInput {
  account_id: string;
  /** Present after continue-as-new: the state and recently processed ids of the previous run. */
  carried?: { state: AccountState | null; processed: string[] };
  /**
   * Continue-as-new after this many events in one run (default 1000 one event at a time, none in
   * batches), or when Temporal suggests it.
   */
  max_events_per_run?: number;
}

/**
 * Batches: a wake-up adds about six history events (signal, workflow task, marker, sometimes a
 * search-attribute upsert) whatever its number of events, so a run is sized in wake-ups, and in
 * bytes for the markers that list every applied event.
 */
export const MAX_WAKEUPS_PER_RUN = 500;
export const MAX_HISTORY_BYTES_PER_RUN = 8 * 1024 * 1024;

export const PROCESSED_IDS_KEPT = 1000;

/**
 * Patches of this workflow (see test/workflows/replay.test.ts). Each is checked where its
 * behaviour differs, so a running account takes the new behaviour from its next event on while
 * its recorded history replays with the old one.
 */
export const PATCHES = {
  /** The status is derived from every provider object (SPEC §3) instead of the last event. */
  derivedStatus: 'derived-status',
  /**
   * An event already in the processed set is not dropped unseen: applyTransition asks the
   * database, which applies it if its outcome is still NULL (a database restored from a backup
   * reuses ids the workflow has seen).
   */
  dedupeAsksDatabase: 'dedupe-asks-database',
  /**
   * A wake-up applies all of the account's stored, unprocessed events from billing_events in one
   * local activity and one transaction (`applyPendingEvents`), instead of one `applyTransition`
   * activity per signalled event.
   */
  batchApply: 'batch-apply',
  /**
   * Two events of one Stripe subscription in the same `created` second that disagree: after the
   * batch the workflow asks Stripe (`reconcileSubscriptions`) and applies its answer, stored as a
   * `reconcile` event, in its next batch. Only where STRIPE_API_KEY is set.
   */
  reconcileEqualSeconds: 'reconcile-equal-seconds',
} as const;

export async function billingAccountWorkflow(input: BillingAccountInput): Promise<void> {
  const accountId = input.account_id;
  const queue: BillingEvent[] = [];
  /** A wake-up (eventsPending signal, or any event signal in batch mode) not yet acted on. */
  let wakeRequested = false;
  /** Batches: set once `batchApply` is patched in; the old histories replay without it. */
  let batchMode = false;
  /** Batch counters, so an update waiting for an already processed event is answered. */
  let batchesStarted = 0;
  let batchesFinished = 0;
  let wakeUpsInRun = 0;
  /** false until the state has been read from (or written to) billing_accounts in this run. */
  let stateKnown = input.carried !== undefined;
  let publishedInRun = false;
  const processed = new RecentIds(input.carried?.processed ?? [], PROCESSED_IDS_KEPT);
  const outcomes = new Map<string, Outcome>();
  let state: AccountState | null = input.carried?.state ?? null;
  let processedInRun = 0;
  let lastTimerKey: string | null = null;
  let reloadRequested = false;
  /** Questions to Stripe still running (equal-second conflicts): continue-as-new waits for them. */
  let asksInFlight = 0;

  const accept = (event: BillingEvent): boolean => {
    if (event.account_id !== accountId) {
      log.warn('Event for another account ignored', {
        event_id: event.event_id,
        account_id: event.account_id,
      });
      return false;
    }
    if (queue.some((q) => q.event_id === event.event_id && q.dedupe_key === event.dedupe_key))
      return true;
    if (processed.has(event.event_id) && !patched(PATCHES.dedupeAsksDatabase)) return true;
    queue.push(event);
    return true;
  };

  // Handlers are registered before the first await, so signal/update-with-start find them.
  setHandler(billingEventSignal, (event) => void accept(event));
  setHandler(eventsPendingSignal, () => {
    wakeRequested = true;
  });
  setHandler(reloadStateSignal, () => {
    reloadRequested = true;
  });
  setHandler(
    applyEventUpdate,
    async (event): Promise<ApplyEventResult> => {
      accept(event);
      const after = batchesStarted;
      // A batch that started after this update took the event if it was still unprocessed.
      await condition(
        () => processed.has(event.event_id) || (batchMode && batchesFinished > after),
      );
      return {
        event_id: event.event_id,
        outcome: outcomes.get(event.event_id) ?? 'duplicate',
        state,
      };
    },
    {
      validator: (event: BillingEvent) => {
        if (event.account_id !== accountId)
          throw new Error(`Event ${event.event_id} is for ${event.account_id}, not ${accountId}.`);
      },
    },
  );
  setHandler(accountStateQuery, () => ({
    state,
    pending_events: queue.length,
    next_timer: nextTimer(state),
    processed_in_run: processedInRun,
  }));

  // A new run in batch mode reads its state in its first batch instead of a loadAccount activity.
  batchMode = patched(PATCHES.batchApply);
  if (!batchMode) {
    if (input.carried === undefined) state = await billingDb.loadAccount(accountId);
    stateKnown = true;
    publishSearchAttributes(accountId, state);
    publishedInRun = true;
  }

  const process = async (event: BillingEvent): Promise<void> => {
    if (processed.has(event.event_id) && !patched(PATCHES.dedupeAsksDatabase)) return;
    const before = state;
    const decide = patched(PATCHES.derivedStatus) ? transition : legacyTransition;
    const decision = decide(before, event);
    const result = await billingDb.applyTransition({
      event,
      decision,
      from_status: before?.status ?? null,
    });
    // Already committed (a retried activity, or an event delivered again after a restart): the
    // database holds the truth, so take the state from there instead of re-deciding.
    state = result.already_processed ? await billingDb.loadAccount(accountId) : decision.state;
    processed.add(event.event_id);
    outcomes.set(event.event_id, result.outcome);
    if (outcomes.size > PROCESSED_IDS_KEPT) outcomes.delete(outcomes.keys().next().value as string);
    processedInRun += 1;
    if (
      before?.status !== state?.status ||
      before?.scheduled_cancel_at !== state?.scheduled_cancel_at
    ) {
      publishSearchAttributes(accountId, state);
    }
  };

  /**
   * Asks Stripe about subscriptions whose same-second events disagreed, without holding up the
   * account's next events; a stored answer wakes the account, whose next batch applies it.
   */
  const askStripe = (subscriptionIds: string[]): void => {
    asksInFlight += 1;
    void stripeAsk
      .reconcileSubscriptions({ account_id: accountId, subscription_ids: subscriptionIds })
      .then(
        (asked) => {
          if (asked.recorded.length > 0) wakeRequested = true;
        },
        (err: unknown) => {
          log.warn('Stripe could not be asked about an equal-second conflict', {
            subscription_ids: subscriptionIds,
            error: err instanceof Error ? err.message : String(err),
          });
        },
      )
      .finally(() => {
        asksInFlight -= 1;
      });
  };

  /** One wake-up: every pending event of the account, in batches of one transaction each. */
  const applyPending = async (): Promise<void> => {
    wakeRequested = false;
    queue.length = 0;
    const mine = ++batchesStarted;
    wakeUpsInRun += 1;
    const conflicts = new Set<string>();
    for (;;) {
      const before = state;
      const r = await billingBatch.applyPendingEvents({
        account_id: accountId,
        ...(stateKnown ? { state } : {}),
      });
      state = r.state;
      stateKnown = true;
      for (const a of r.applied) {
        processed.add(a.event_id);
        outcomes.set(a.event_id, a.outcome);
        if (outcomes.size > PROCESSED_IDS_KEPT)
          outcomes.delete(outcomes.keys().next().value as string);
      }
      processedInRun += r.applied.length;
      for (const id of r.conflicts ?? []) conflicts.add(id);
      if (
        !publishedInRun ||
        before?.status !== state?.status ||
        before?.scheduled_cancel_at !== state?.scheduled_cancel_at
      ) {
        publishSearchAttributes(accountId, state);
        publishedInRun = true;
      }
      if (!r.more) break;
    }
    batchesFinished = mine;
    if (conflicts.size > 0 && patched(PATCHES.reconcileEqualSeconds)) askStripe([...conflicts]);
  };

  const shouldContinueAsNew = () => {
    const info = workflowInfo();
    if (info.continueAsNewSuggested) return true;
    if (input.max_events_per_run !== undefined && processedInRun >= input.max_events_per_run)
      return true;
    if (!batchMode) return processedInRun >= 1000;
    return wakeUpsInRun >= MAX_WAKEUPS_PER_RUN || info.historySize >= MAX_HISTORY_BYTES_PER_RUN;
  };

  for (;;) {
    const timer = nextTimer(state);
    const timerKey = timer && `${timer.timer}:${timer.due_at}:${state?.last_event_id ?? ''}`;
    const armed = timer !== null && timerKey !== lastTimerKey;
    const wake = () =>
      queue.length > 0 || wakeRequested || reloadRequested || shouldContinueAsNew();
    const woken = armed
      ? await condition(wake, Math.max(1, Date.parse(timer.due_at) - Date.now()))
      : (await condition(wake), true);
    if (!woken && armed) {
      lastTimerKey = timerKey;
      queue.unshift(
        await billingDb.recordEvent({
          account_id: accountId,
          timer: timer.timer,
          due_at: timer.due_at,
          after_event_id: state?.last_event_id ?? null,
        }),
      );
    }
    if (reloadRequested) {
      reloadRequested = false;
      state = await billingDb.loadAccount(accountId);
      publishSearchAttributes(accountId, state);
    }
    if (!batchMode && (queue.length > 0 || wakeRequested)) batchMode = patched(PATCHES.batchApply);
    if (batchMode && (queue.length > 0 || wakeRequested)) await applyPending();
    while (queue.length > 0) await process(queue.shift() as BillingEvent);
    if (shouldContinueAsNew()) {
      await condition(() => allHandlersFinished() && asksInFlight === 0);
      if (queue.length === 0 && !wakeRequested) {
        await continueAsNew<typeof billingAccountWorkflow>({
          account_id: accountId,
          carried: { state, processed: processed.toArray() },
          max_events_per_run: input.max_events_per_run,
        });
      }
    }
  }
}

function publishSearchAttributes(accountId: string, state: AccountState | null): void {
  upsertSearchAttributes([
    { key: BillingAccountId, value: accountId },
    { key: BillingStatus, value: state?.status ?? 'none' },
    { key: BillingProvider, value: state?.provider ?? 'none' },
    {
      key: ScheduledCancelAt,
      value: state?.scheduled_cancel_at ? new Date(state.scheduled_cancel_at) : null,
    },
  ]);
}
