// The account state machine as it was before the status was derived per provider object. Kept
// only so that workflow histories recorded before the `derived-status` patch replay exactly: the
// account workflow uses it for events it processed before that patch marker. New decisions come
// from transition.ts. Remove it with the patch (deprecatePatch) once no such history is running.
// The per-event rules are in legacy-event-handlers.ts; this file adds the bookkeeping.
import { type Handler, HANDLERS } from './legacy-event-handlers';
import type {
  AccountState,
  AuditAction,
  BillingEvent,
  Decision,
  EventData,
  Provider,
} from './types';

/** An account with no events yet: the columns the projection had before per-object status. */
export function emptyAccountColumns(accountId: string, provider: Provider): AccountState {
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
  };
}

function ms(iso: string): number {
  return Date.parse(iso);
}

function newerChange(state: AccountState | null, event: BillingEvent): string | null {
  if (state === null || event.object_key === null) return null;
  const last = state.object_versions[event.object_key];
  return last !== undefined && ms(event.occurred_at) < ms(last) ? last : null;
}

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
    ...(event.data.kind === 'manual.correction' ? { reason: event.data.reason } : {}),
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
  const action: AuditAction =
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

const BOOKKEEPING: (keyof AccountState)[] = [
  'last_event_id',
  'last_event_ts',
  'status_since',
  'status_event_id',
  'object_versions',
];

function sameAccount(a: AccountState, b: AccountState): boolean {
  return (Object.keys(a) as (keyof AccountState)[])
    .filter((k) => !BOOKKEEPING.includes(k))
    .every((k) => a[k] === b[k]);
}

/** Decide what one event does to one account, by the rules before the derived-status patch. */
export function legacyTransition(state: AccountState | null, event: BillingEvent): Decision {
  const newer = newerChange(state, event);
  if (newer !== null) {
    return unchanged(state, event, 'stale', 'older_than_last_change', { last_change_at: newer });
  }
  const handler = HANDLERS[event.data.kind] as Handler<EventData['kind']>;
  const step = handler(state, event.data, event);
  if (step.kind !== 'change') {
    const outcome = step.kind === 'reject' ? 'rejected' : 'ignored';
    return unchanged(state, event, outcome, step.reason);
  }
  const before = state ?? emptyAccountColumns(event.account_id, 'none');
  const merged: AccountState = { ...before, ...step.patch };
  const isManual = event.data.kind === 'manual.correction';
  if (state !== null && !isManual && sameAccount(state, merged)) {
    return unchanged(state, event, 'ignored', 'no_change');
  }
  const statusChanged = state === null || state.status !== merged.status;
  const next: AccountState = {
    ...merged,
    last_event_id: event.event_id,
    last_event_ts: event.occurred_at,
    status_since: statusChanged ? event.occurred_at : merged.status_since,
    status_event_id: statusChanged ? event.event_id : merged.status_event_id,
    object_versions:
      event.object_key === null
        ? merged.object_versions
        : { ...merged.object_versions, [event.object_key]: event.occurred_at },
  };
  return {
    outcome: 'applied',
    state: next,
    audit: {
      action: step.action,
      ...actorOf(event),
      details: { ...baseDetails(event), ...(statusChanged ? {} : { status_unchanged: true }) },
    },
  };
}

/** The one durable timer an account needed next, by the rules before the derived-status patch. */
export function legacyNextTimer(
  state: AccountState | null,
): { timer: 'trial_end' | 'cancel_at_period_end' | 'grace_end'; due_at: string } | null {
  if (state === null) return null;
  const candidates: {
    timer: 'trial_end' | 'cancel_at_period_end' | 'grace_end';
    due_at: string;
  }[] = [];
  if (state.trial_end && (state.status === 'free' || state.status === 'early_payment')) {
    candidates.push({ timer: 'trial_end', due_at: state.trial_end });
  }
  if (state.scheduled_cancel_at && state.status === 'canceling') {
    candidates.push({ timer: 'cancel_at_period_end', due_at: state.scheduled_cancel_at });
  }
  if (state.grace_until && state.status === 'past_due') {
    candidates.push({ timer: 'grace_end', due_at: state.grace_until });
  }
  candidates.sort((a, b) => ms(a.due_at) - ms(b.due_at));
  return candidates[0] ?? null;
}
