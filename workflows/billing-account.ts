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
import { billingDb } from './proxies';
import {
  accountStateQuery,
  applyEventUpdate,
  billingEventSignal,
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
  /** Continue-as-new after this many events in one run (default 1000), or when Temporal suggests it. */
  max_events_per_run?: number;
}

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
} as const;

export async function billingAccountWorkflow(input: BillingAccountInput): Promise<void> {
  const accountId = input.account_id;
  const maxEvents = input.max_events_per_run ?? 1000;
  const queue: BillingEvent[] = [];
  const processed = new RecentIds(input.carried?.processed ?? [], PROCESSED_IDS_KEPT);
  const outcomes = new Map<string, Outcome>();
  let state: AccountState | null = input.carried?.state ?? null;
  let processedInRun = 0;
  let lastTimerKey: string | null = null;
  let reloadRequested = false;

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
  setHandler(reloadStateSignal, () => {
    reloadRequested = true;
  });
  setHandler(
    applyEventUpdate,
    async (event): Promise<ApplyEventResult> => {
      accept(event);
      await condition(() => processed.has(event.event_id));
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

  if (input.carried === undefined) state = await billingDb.loadAccount(accountId);
  publishSearchAttributes(accountId, state);

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

  const shouldContinueAsNew = () =>
    processedInRun >= maxEvents || workflowInfo().continueAsNewSuggested;

  for (;;) {
    const timer = nextTimer(state);
    const timerKey = timer && `${timer.timer}:${timer.due_at}:${state?.last_event_id ?? ''}`;
    const armed = timer !== null && timerKey !== lastTimerKey;
    const wake = () => queue.length > 0 || reloadRequested || shouldContinueAsNew();
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
    while (queue.length > 0) await process(queue.shift() as BillingEvent);
    if (shouldContinueAsNew()) {
      await condition(allHandlersFinished);
      if (queue.length === 0) {
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
