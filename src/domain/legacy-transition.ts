// The account state machine as it was before the status was derived per provider object. Kept
// only so that workflow histories recorded before the `derived-status` patch replay exactly: the
// account workflow uses it for events it processed before that patch marker. New decisions come
// from transition.ts. Remove it with the patch (deprecatePatch) once no such history is running.
import type {
  AccountState,
  AuditAction,
  BillingEvent,
  Decision,
  EventData,
  Provider,
  Status,
  StripeLinks,
} from './types';

/** What a handler decides; bookkeeping (last event, status_since, versions) is added after. */
type Step =
  | { kind: 'change'; patch: Partial<AccountState>; action: AuditAction }
  | { kind: 'ignore'; reason: string }
  | { kind: 'reject'; reason: string };

type Handler<K extends EventData['kind']> = (
  state: AccountState | null,
  data: Extract<EventData, { kind: K }>,
  event: BillingEvent,
) => Step;

const MYASP_STATUS: Record<string, Status> = {
  '1': 'active',
  '2': 'stopped',
  '3': 'active',
  '4': 'canceled',
};

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

function inTrial(state: AccountState | null, at: string): boolean {
  return state?.trial_end != null && ms(at) < ms(state.trial_end);
}

/** The status an account returns to when nothing is wrong any more (cancel withdrawn, paid). */
function restoredStatus(state: AccountState | null, at: string, hasSubscription: boolean): Status {
  if (!inTrial(state, at)) return 'active';
  return hasSubscription ? 'early_payment' : 'free';
}

function links(d: StripeLinks, state: AccountState | null): Partial<AccountState> {
  return {
    provider: 'stripe',
    stripe_customer_id: d.customer_id ?? state?.stripe_customer_id ?? null,
    stripe_subscription_id: d.subscription_id ?? state?.stripe_subscription_id ?? null,
    plan: d.plan ?? state?.plan ?? null,
    amount: d.amount ?? state?.amount ?? null,
  };
}

/** Invoices carry tax and prorations: they link ids but keep the subscription's price as amount. */
function invoiceLinks(d: StripeLinks, state: AccountState | null): Partial<AccountState> {
  return { ...links(d, state), amount: state?.amount ?? d.amount };
}

function addMs(iso: string, delta: number): string {
  return new Date(ms(iso) + delta).toISOString();
}

const startSubscription: Handler<'stripe.subscription_started'> = (state, d, e) => {
  const keep =
    state !== null &&
    state.stripe_subscription_id === d.subscription_id &&
    (state.status === 'canceling' || state.status === 'past_due');
  const incomplete = d.subscription_status === 'incomplete';
  const status =
    keep || incomplete ? (state?.status ?? 'free') : restoredStatus(state, e.occurred_at, true);
  return {
    kind: 'change',
    patch: { ...links(d, state), status, grace_until: keep ? (state?.grace_until ?? null) : null },
    action: 'billing.subscription_started',
  };
};

const updateSubscription: Handler<'stripe.subscription_updated'> = (state, d, e) => {
  const base = links(d, state);
  const sameEndedSubscription =
    state?.status === 'canceled' && state.stripe_subscription_id === d.subscription_id;
  if (sameEndedSubscription) return { kind: 'ignore', reason: 'subscription_already_ended' };
  const s = d.subscription_status;
  if (s === 'past_due' || s === 'unpaid') {
    const grace = state?.status === 'past_due' ? state.grace_until : null;
    return {
      kind: 'change',
      patch: { ...base, status: 'past_due', grace_until: grace },
      action: 'billing.payment_failed',
    };
  }
  if (s === 'canceled' || s === 'incomplete_expired') {
    return { kind: 'change', patch: { ...base, ...ended() }, action: 'billing.canceled' };
  }
  if (d.cancel_at !== null) {
    return {
      kind: 'change',
      patch: { ...base, status: 'canceling', scheduled_cancel_at: d.cancel_at, grace_until: null },
      action: 'billing.cancel_scheduled',
    };
  }
  return updateWithoutCancel(state, base, e.occurred_at, s);
};

function updateWithoutCancel(
  state: AccountState | null,
  base: Partial<AccountState>,
  at: string,
  subscriptionStatus: string,
): Step {
  const restored = { ...base, scheduled_cancel_at: null, grace_until: null };
  const status = restoredStatus(state, at, true);
  if (state?.status === 'canceling') {
    return { kind: 'change', patch: { ...restored, status }, action: 'billing.cancel_withdrawn' };
  }
  const paying = subscriptionStatus === 'active' || subscriptionStatus === 'trialing';
  if (state?.status === 'past_due' && paying) {
    return { kind: 'change', patch: { ...restored, status }, action: 'billing.payment_recovered' };
  }
  if ((state === null || state.status === 'free') && paying) {
    return {
      kind: 'change',
      patch: { ...restored, status },
      action: 'billing.subscription_started',
    };
  }
  return { kind: 'change', patch: base, action: 'billing.subscription_updated' };
}

function ended(): Partial<AccountState> {
  return { status: 'canceled', scheduled_cancel_at: null, grace_until: null };
}

const deleteSubscription: Handler<'stripe.subscription_deleted'> = (state, d) => ({
  kind: 'change',
  patch: { ...links(d, state), ...ended() },
  action: 'billing.canceled',
});

const paymentFailed: Handler<'stripe.payment_failed'> = (state, d, e) => {
  if (state?.status === 'canceled') return { kind: 'ignore', reason: 'account_canceled' };
  const since =
    state?.status === 'past_due' ? (state.status_since ?? e.occurred_at) : e.occurred_at;
  const grace = d.past_due_grace_ms === null ? null : addMs(since, d.past_due_grace_ms);
  const keepGrace = state?.status === 'past_due' ? (state.grace_until ?? grace) : grace;
  const stillInGrace = keepGrace !== null && ms(keepGrace) > ms(e.occurred_at) ? keepGrace : null;
  return {
    kind: 'change',
    patch: { ...invoiceLinks(d, state), status: 'past_due', grace_until: stillInGrace },
    action: 'billing.payment_failed',
  };
};

const paymentSucceeded: Handler<'stripe.payment_succeeded'> = (state, d, e) => {
  const status = restoredStatus(state, e.occurred_at, true);
  if (state?.status === 'past_due') {
    return {
      kind: 'change',
      patch: { ...invoiceLinks(d, state), status, grace_until: null },
      action: 'billing.payment_recovered',
    };
  }
  if ((state === null || state.status === 'free') && d.subscription_id !== null) {
    return {
      kind: 'change',
      patch: { ...invoiceLinks(d, state), status },
      action: 'billing.subscription_started',
    };
  }
  return { kind: 'ignore', reason: 'no_change' };
};

const myaspStatusChanged: Handler<'myasp.status_changed'> = (state, d) => ({
  kind: 'change',
  patch: {
    provider: 'myasp',
    status: MYASP_STATUS[d.provider_status] ?? 'active',
    provider_status: d.provider_status,
    myasp_user_id: d.myasp_user_id,
    email: d.email ?? state?.email ?? null,
    plan: d.plan ?? state?.plan ?? null,
    amount: d.amount ?? state?.amount ?? null,
    scheduled_cancel_at: null,
    grace_until: null,
  },
  action: 'billing.myasp_status_changed',
});

const registerAccount: Handler<'account.registered'> = (state, d) => {
  if (state !== null) return { kind: 'ignore', reason: 'already_registered' };
  return {
    kind: 'change',
    patch: {
      status: 'free',
      trial_end: d.trial_end,
      email: d.email,
      stripe_customer_id: d.stripe_customer_id,
      myasp_user_id: d.myasp_user_id,
    },
    action: 'billing.account_registered',
  };
};

const correctManually: Handler<'manual.correction'> = (_state, d) => {
  if (d.status === 'canceling' && d.scheduled_cancel_at === null) {
    return { kind: 'reject', reason: 'canceling_needs_scheduled_cancel_at' };
  }
  return {
    kind: 'change',
    patch: {
      status: d.status,
      scheduled_cancel_at: d.status === 'canceling' ? d.scheduled_cancel_at : null,
      grace_until: null,
    },
    action: 'billing.manual_correction',
  };
};

const timerFired: Handler<'timer.fired'> = (state, d) => {
  if (state === null) return { kind: 'ignore', reason: 'no_account' };
  const step = TIMER_HANDLERS[d.timer](state, d.due_at);
  return step ?? { kind: 'ignore', reason: 'timer_obsolete' };
};

const TIMER_HANDLERS: Record<
  'trial_end' | 'cancel_at_period_end' | 'grace_end',
  (s: AccountState, due: string) => Step | null
> = {
  trial_end: (s, due) => {
    if (s.trial_end !== due) return null;
    if (s.status === 'free') return change({ status: 'past_due' }, 'billing.trial_ended');
    if (s.status === 'early_payment') return change({ status: 'active' }, 'billing.trial_ended');
    return null;
  },
  cancel_at_period_end: (s, due) =>
    s.status === 'canceling' && s.scheduled_cancel_at === due
      ? change(ended(), 'billing.canceled_at_period_end')
      : null,
  grace_end: (s, due) =>
    s.status === 'past_due' && s.grace_until === due
      ? change({ grace_until: null }, 'billing.grace_ended')
      : null,
};

function change(patch: Partial<AccountState>, action: AuditAction): Step {
  return { kind: 'change', patch, action };
}

const HANDLERS: { [K in EventData['kind']]: Handler<K> } = {
  'stripe.subscription_started': startSubscription,
  'stripe.subscription_updated': updateSubscription,
  'stripe.subscription_deleted': deleteSubscription,
  'stripe.payment_failed': paymentFailed,
  'stripe.payment_succeeded': paymentSucceeded,
  'myasp.status_changed': myaspStatusChanged,
  'account.registered': registerAccount,
  'manual.correction': correctManually,
  'timer.fired': timerFired,
  // Reconciliation came after the status was derived per object: old histories never carry it.
  'reconcile.subscription': () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
  'reconcile.membership': () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
  unhandled: () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
};

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
