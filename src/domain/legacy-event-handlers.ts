// The per-event rules of the account state machine as it was before the status was derived per
// provider object: one handler per kind of event, frozen. Only legacy-transition.ts uses them, to
// replay workflow histories recorded before the `derived-status` patch; never change a rule here.
import type {
  AccountState,
  AuditAction,
  BillingEvent,
  EventData,
  Status,
  StripeLinks,
} from './types';

/** What a handler decides; bookkeeping (last event, status_since, versions) is added after. */
export type Step =
  | { kind: 'change'; patch: Partial<AccountState>; action: AuditAction }
  | { kind: 'ignore'; reason: string }
  | { kind: 'reject'; reason: string };

export type Handler<K extends EventData['kind']> = (
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

export const HANDLERS: { [K in EventData['kind']]: Handler<K> } = {
  'stripe.subscription_started': startSubscription,
  'stripe.subscription_updated': updateSubscription,
  'stripe.subscription_deleted': deleteSubscription,
  'stripe.payment_failed': paymentFailed,
  'stripe.payment_succeeded': paymentSucceeded,
  'myasp.status_changed': myaspStatusChanged,
  'account.registered': registerAccount,
  'manual.correction': correctManually,
  'timer.fired': timerFired,
  // Reconciliation and closed invoices came after the status was derived per object: old
  // histories never carry them.
  'stripe.invoice_closed': () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
  'reconcile.subscription': () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
  'reconcile.membership': () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
  unhandled: () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
};
