// The account's decision for one event (SPEC §2–§3) as one pure function: record the event's
// evidence on its provider object (evidence.ts), then derive the status from every object
// (derive.ts). No wall clock, no IO: the same events in the same order always give the same
// projection, which is what makes `rebuild-projection` exact and the workflow deterministic.
import { type Derived, deriveStatus, nextDeadline } from './derive';
import { emptyObjects, EVIDENCE } from './evidence';
import type { EvidenceStep, Links } from './evidence-step';
import { keyedRecord } from './keyed-record';
import type {
  AccountObjects,
  AccountState,
  BillingEvent,
  Decision,
  EventData,
  Provider,
  SubscriptionObject,
  TimerKind,
} from './types';

const EPOCH = '1970-01-01T00:00:00.000Z';
const ms = (iso: string): number => Date.parse(iso);
const latest = (a: string | null | undefined, b: string): string =>
  a == null || ms(b) > ms(a) ? b : a;

/** An account with no events yet. */
export function emptyAccount(accountId: string, provider: Provider): AccountState {
  return {
    account_id: accountId,
    provider,
    status: 'free',
    provider_status: null,
    plan: null,
    amount: null,
    email: null,
    myasp_user_id: null,
    stripe_customer_id: null,
    stripe_subscription_id: null,
    trial_end: null,
    scheduled_cancel_at: null,
    grace_until: null,
    status_since: null,
    status_event_id: null,
    last_event_id: null,
    last_event_ts: null,
    object_versions: {},
    objects: emptyObjects(),
    as_of: null,
    status_object: null,
    status_reason: null,
  };
}

// ---------------------------------------------------------------------------------------------
// The decision

function actorOf(event: BillingEvent): Pick<Decision['audit'], 'actor_role' | 'actor'> {
  if (event.data.kind === 'manual.correction') {
    return { actor_role: 'operator', actor: event.data.actor };
  }
  return { actor_role: 'system', actor: event.source };
}

function baseDetails(event: BillingEvent): Record<string, unknown> {
  return {
    event_type: event.event_type,
    dedupe_key: event.dedupe_key,
    source: event.source,
    occurred_at: event.occurred_at,
    ...(event.data.kind === 'timer.fired'
      ? { timer: event.data.timer, due_at: event.data.due_at }
      : {}),
  };
}

function unchanged(
  state: AccountState | null,
  event: BillingEvent,
  outcome: 'stale' | 'ignored' | 'rejected',
  reason: string,
  extra: Record<string, unknown> = {},
): Decision {
  const action =
    outcome === 'stale'
      ? 'billing.event_stale'
      : outcome === 'rejected'
        ? 'billing.event_rejected'
        : 'billing.event_ignored';
  return {
    outcome,
    state,
    audit: { action, ...actorOf(event), details: { ...baseDetails(event), reason, ...extra } },
  };
}

function mergeLinks(base: AccountState, links: Links): AccountState {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(links) as (keyof Links)[]) {
    const value = links[key];
    if (value !== null && value !== undefined) out[key] = value;
  }
  return { ...base, ...(out as Partial<AccountState>) };
}

/** The per-object versions, as object_key → newest `created` (invoices under `…#invoice`). */
function versionsOf(objects: AccountObjects): Record<string, string> {
  const versions = keyedRecord<string>();
  for (const id of Object.keys(objects.subscriptions)) {
    const sub = objects.subscriptions[id] as SubscriptionObject;
    const key = `stripe:${id}`;
    if (sub.version !== null) versions[key] = sub.version;
    if (sub.invoice_version != null) versions[`${key}#invoice`] = sub.invoice_version;
  }
  if (objects.membership)
    versions[`myasp:${objects.membership.user_id}`] = objects.membership.version;
  return versions;
}

/** The columns the derivation decides. */
function derivedColumns(
  base: AccountState,
  objects: AccountObjects,
  d: Derived,
): Partial<AccountState> {
  const firstSubscription = d.ranked.find((o) => o.provider === 'stripe');
  const decider = d.ranked.find((o) => o.object === d.status_object);
  const subscriptionId = firstSubscription?.object.slice('stripe:'.length) ?? null;
  const priced = subscriptionId ? objects.subscriptions[subscriptionId] : undefined;
  return {
    status: d.status,
    scheduled_cancel_at: d.scheduled_cancel_at,
    grace_until: d.grace_until,
    trial_end: d.trial_end,
    status_object: d.status_object,
    status_reason: d.status_reason,
    provider: decider?.provider ?? d.ranked[0]?.provider ?? base.provider,
    stripe_subscription_id: subscriptionId ?? base.stripe_subscription_id,
    provider_status: objects.membership?.code ?? base.provider_status,
    plan: priced?.plan ?? base.plan,
    amount: priced?.amount ?? base.amount,
  };
}

function decideRecorded(
  before: AccountState | null,
  event: BillingEvent,
  step: Extract<EvidenceStep, { kind: 'record' }>,
): Decision {
  const base = before ?? emptyAccount(event.account_id, 'none');
  let objects = step.objects;
  const manual = objects.manual;
  if (step.from_provider && manual && ms(event.occurred_at) > ms(manual.at)) {
    objects = { ...objects, manual: null };
  }
  const asOf = latest(base.as_of, event.occurred_at);
  const derived = deriveStatus(objects, asOf);
  const linked = mergeLinks(base, step.links);
  const columns = derivedColumns(linked, objects, derived);
  // A timer for a deadline the account has already passed says nothing new. One that moves the
  // evidence clock past a deadline is applied even when the status stays the same.
  const due = event.data.kind === 'timer.fired' ? event.data.due_at : null;
  if (before !== null && due !== null && before.as_of != null && ms(due) <= ms(before.as_of)) {
    return unchanged(before, event, 'ignored', 'timer_obsolete');
  }
  const statusChanged = before === null || before.status !== columns.status;
  // The linked row with the derived columns and this event's marks, in one object.
  const next: AccountState = {
    ...linked,
    ...columns,
    objects,
    as_of: asOf,
    object_versions: versionsOf(objects),
    last_event_id: event.event_id,
    last_event_ts: event.occurred_at,
    status_since: statusChanged ? event.occurred_at : linked.status_since,
    status_event_id: statusChanged ? event.event_id : linked.status_event_id,
  };
  return {
    outcome: 'applied',
    state: next,
    ...(step.conflict ? { equal_second_conflict: step.conflict } : {}),
    audit: {
      action: step.action,
      ...actorOf(event),
      details: {
        ...baseDetails(event),
        ...step.details,
        status_object: derived.status_object,
        status_reason: derived.status_reason,
        ...(statusChanged ? {} : { status_unchanged: true }),
      },
    },
  };
}

/** Decide what one event does to one account. */
export function transition(state: AccountState | null, event: BillingEvent): Decision {
  const handler = EVIDENCE[event.data.kind] as (
    objects: AccountObjects,
    data: EventData,
    event: BillingEvent,
    state: AccountState | null,
  ) => EvidenceStep;
  const step = handler(state?.objects ?? emptyObjects(), event.data, event, state);
  switch (step.kind) {
    case 'stale':
      return unchanged(state, event, 'stale', step.reason ?? 'older_than_newest_evidence', {
        object: step.object,
        newest_evidence_at: step.newest,
      });
    case 'ignore':
      return unchanged(state, event, 'ignored', step.reason);
    case 'reject':
      return unchanged(state, event, 'rejected', step.reason);
    case 'record':
      return decideRecorded(state, event, step);
  }
}

/**
 * The one durable timer an account needs next: the next deadline after the instant its status
 * was derived at (SPEC §3 rule 4).
 */
export function nextTimer(state: AccountState | null): { timer: TimerKind; due_at: string } | null {
  if (state === null) return null;
  return nextDeadline(state.objects, state.as_of ?? EPOCH);
}
