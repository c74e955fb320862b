// The account's events folded onto its state, as one pure function each: `foldEvents` is what the
// workflow's batch decides (every stored event in id order through `transition`), and
// `passDeadlines` is what its timers do when a deadline passes (`nextTimer`, then a `timer.fired`
// event through `transition`). activities/apply-pending-events.ts writes what `foldEvents`
// decides; the reads of SPEC §6 "Read your writes" answer from both and write nothing.
import { EVIDENCE } from './evidence';
import { nextTimer, transition } from './transition';
import type { AccountState, BillingEvent, Decision, TimerFired } from './types';

export interface FoldStep {
  event: BillingEvent;
  decision: Decision;
}

/** Why a stored event cannot be folded yet; the events after it wait with it, in order. */
export type NotFoldedReason =
  /** Its kind has no evidence handler here (stored by a newer version of the service). */
  | 'unknown_event_kind'
  /**
   * A Stripe thin event whose full event and object are not fetched yet (SPEC §3 rule 11): what it
   * changes is not known until then (without STRIPE_API_KEY it waits for the key).
   */
  | 'thin_event_not_fetched';

export interface NotFolded {
  event: BillingEvent;
  reason: NotFoldedReason;
}

export interface Fold {
  state: AccountState | null;
  /** One step per event folded, in the order given. */
  steps: FoldStep[];
  /** The first event that could not be folded: it and every later one were left out. */
  not_folded: NotFolded | null;
}

/** Null when `transition` can decide the event; else why not. */
export function whyNotFoldable(event: BillingEvent): NotFoldedReason | null {
  const kind = (event.data as { kind?: unknown } | null)?.kind;
  if (kind === 'stripe.thin_event') return 'thin_event_not_fetched';
  return typeof kind === 'string' && Object.hasOwn(EVIDENCE, kind) ? null : 'unknown_event_kind';
}

/**
 * Folds `events` (the account's stored, unprocessed events, oldest first) onto `state`. Stops at
 * the first event that cannot be folded rather than guess past it: later events of the account
 * may depend on it.
 */
export function foldEvents(state: AccountState | null, events: readonly BillingEvent[]): Fold {
  let current = state;
  const steps: FoldStep[] = [];
  for (const event of events) {
    const reason = whyNotFoldable(event);
    if (reason !== null) return { state: current, steps, not_folded: { event, reason } };
    const decision = transition(current, event);
    steps.push({ event, decision });
    current = decision.state;
  }
  return { state: current, steps, not_folded: null };
}

/** The stored form of a timer firing, as recordEvent inserts it (event_id aside). */
export function timerEventFields(input: {
  account_id: string;
  timer: TimerFired['timer'];
  due_at: string;
  /** The account's last event when the timer fired: a new firing after any change is a new event. */
  after_event_id: string | null;
}): Omit<BillingEvent, 'event_id'> & { data: TimerFired } {
  return {
    source: 'timer',
    dedupe_key: `timer:${input.account_id}:${input.timer}:${input.due_at}:${input.after_event_id ?? '-'}`,
    event_type: `timer.${input.timer}`,
    account_id: input.account_id,
    occurred_at: input.due_at,
    object_key: null,
    data: { kind: 'timer.fired', timer: input.timer, due_at: input.due_at },
  };
}

/** Deadlines a read honours in a row at most; each one moves the state's clock forward. */
const MAX_DEADLINES = 16;

/**
 * The deadlines that have passed by `now` while their timer has not fired (a cancel time, a trial
 * end, a grace end), each decided as the timer event the workflow would record for it. Such an
 * event is not stored: its `event_id` is its future dedupe key, never a billing_events id.
 */
export function passDeadlines(
  state: AccountState | null,
  now: Date,
): { state: AccountState | null; steps: FoldStep[] } {
  let current = state;
  const steps: FoldStep[] = [];
  for (let i = 0; i < MAX_DEADLINES && current !== null; i++) {
    const timer = nextTimer(current);
    if (timer === null || Date.parse(timer.due_at) > now.getTime()) break;
    const fields = timerEventFields({
      account_id: current.account_id,
      ...timer,
      after_event_id: current.last_event_id,
    });
    const event: BillingEvent = { event_id: fields.dedupe_key, ...fields };
    const decision = transition(current, event);
    // An obsolete timer changes nothing, and the workflow does not arm it again for this state.
    if (decision.outcome !== 'applied') break;
    steps.push({ event, decision });
    current = decision.state;
  }
  return { state: current, steps };
}

/** What a read answers from (SPEC §6): the projection as if the workflow had caught up by `now`. */
export interface ReadFold {
  state: AccountState | null;
  /** The pending events folded, in id order (each with its outcome, as the workflow will write it). */
  events: FoldStep[];
  /** Deadlines passed by `now` whose timers have not fired, honoured after the events. */
  deadlines: FoldStep[];
  not_folded: NotFolded | null;
}

/**
 * The projection with the account's stored but unapplied events folded on, then the deadlines
 * passed by `now`: the order the workflow takes when it catches up (a wake-up's batch first, then
 * the timer of a deadline already behind it).
 */
export function foldForRead(
  projection: AccountState | null,
  pending: readonly BillingEvent[],
  now: Date,
): ReadFold {
  const fold = foldEvents(projection, pending);
  const passed = passDeadlines(fold.state, now);
  return {
    state: passed.state,
    events: fold.steps,
    deadlines: passed.steps,
    not_folded: fold.not_folded,
  };
}

/**
 * When the account's status could next change with no new evidence: stored with the projection,
 * so that a read knows, without the objects, when a deadline is due to be honoured.
 */
export function nextDeadlineAt(state: AccountState | null): string | null {
  return nextTimer(state)?.due_at ?? null;
}
