// What one event says about one provider object (SPEC §3 rules 1–2): each handler records the
// event's evidence on the object it describes, or finds it older than what the object already
// holds (stale). Deciding the account status from the objects is derive.ts's job. Pure.
import type {
  AccountObjects,
  AccountState,
  AuditAction,
  BillingEvent,
  EqualSecondConflict,
  EventData,
  ManualEvidence,
  MembershipObject,
  PaymentEvidence,
  StripeLinks,
  SubscriptionObject,
} from './types';

/** Account columns an event fills in when it names them (null leaves the column as it is). */
export interface Links {
  email?: string | null;
  stripe_customer_id?: string | null;
  myasp_user_id?: string | null;
  plan?: string | null;
  amount?: number | null;
}

export type EvidenceStep =
  | {
      kind: 'record';
      objects: AccountObjects;
      action: AuditAction;
      details: Record<string, unknown>;
      links: Links;
      /** Provider evidence supersedes an older manual correction. */
      from_provider: boolean;
      /** The snapshot disagrees with an earlier one of the same second (arrival order decided). */
      conflict?: EqualSecondConflict;
    }
  | { kind: 'stale'; object: string; newest: string }
  | { kind: 'ignore'; reason: string }
  | { kind: 'reject'; reason: string };

type Handler<K extends EventData['kind']> = (
  objects: AccountObjects,
  data: Extract<EventData, { kind: K }>,
  event: BillingEvent,
  state: AccountState | null,
) => EvidenceStep;

const ms = (iso: string): number => Date.parse(iso);

export function emptyObjects(registeredTrialEnd: string | null = null): AccountObjects {
  return {
    subscriptions: {},
    membership: null,
    manual: null,
    registered_trial_end: registeredTrialEnd,
  };
}

function newSubscription(firstSeen: string): SubscriptionObject {
  return {
    status: null,
    cancel_at: null,
    cancel_at_period_end: false,
    trial_end: null,
    plan: null,
    amount: null,
    version: null,
    event_id: null,
    payment: null,
    last_evidence: 'snapshot',
    first_seen: firstSeen,
  };
}

function stripeLinks(d: StripeLinks): Links {
  return { stripe_customer_id: d.customer_id };
}

function withSubscription(
  objects: AccountObjects,
  id: string,
  sub: SubscriptionObject,
): AccountObjects {
  return { ...objects, subscriptions: { ...objects.subscriptions, [id]: sub } };
}

interface Snapshot {
  status: string;
  cancel_at: string | null;
  cancel_at_period_end: boolean;
  trial_end: string | null;
}

const CONFLICT_FIELDS = ['status', 'cancel_at', 'cancel_at_period_end'] as const;

/**
 * Two provider snapshots of one subscription in the same `created` second that disagree on its
 * status or cancel: Stripe's seconds cannot order them, so arrival order decided and the provider
 * is asked where it can be. A reconcile event is the provider's answer: never flagged itself.
 */
function equalSecondConflict(
  id: string,
  prev: SubscriptionObject | undefined,
  snap: Snapshot,
  event: BillingEvent,
): EqualSecondConflict | undefined {
  if (event.source === 'reconcile' || prev?.version == null) return undefined;
  if (ms(event.occurred_at) !== ms(prev.version)) return undefined;
  const fields = CONFLICT_FIELDS.filter((f) => prev[f] !== snap[f]);
  if (fields.length === 0) return undefined;
  return { subscription_id: id, fields, with_event_id: prev.event_id };
}

function recordSnapshot(
  objects: AccountObjects,
  d: StripeLinks,
  snap: Snapshot,
  event: BillingEvent,
  action: AuditAction,
): EvidenceStep {
  const id = d.subscription_id;
  if (id === null) return { kind: 'ignore', reason: 'no_subscription' };
  const prev = objects.subscriptions[id];
  if (prev?.version != null && ms(event.occurred_at) < ms(prev.version)) {
    return { kind: 'stale', object: `stripe:${id}`, newest: prev.version };
  }
  const sub: SubscriptionObject = {
    ...(prev ?? newSubscription(event.occurred_at)),
    ...snap,
    plan: d.plan ?? prev?.plan ?? null,
    amount: d.amount ?? prev?.amount ?? null,
    version: event.occurred_at,
    event_id: event.event_id,
    last_evidence: 'snapshot',
  };
  const conflict = equalSecondConflict(id, prev, snap, event);
  return {
    kind: 'record',
    objects: withSubscription(objects, id, sub),
    action,
    details: {
      subscription_id: id,
      subscription_status: snap.status,
      cancel_at_period_end: snap.cancel_at_period_end,
      cancel_at: snap.cancel_at,
      ...(conflict ? { equal_second_conflict: conflict } : {}),
    },
    links: stripeLinks(d),
    from_provider: true,
    ...(conflict ? { conflict } : {}),
  };
}

function recordPayment(
  objects: AccountObjects,
  d: StripeLinks,
  state: PaymentEvidence['state'],
  graceMs: number | null,
  event: BillingEvent,
  action: AuditAction,
): EvidenceStep {
  const id = d.subscription_id;
  // A one-off invoice belongs to no subscription: it says nothing about the account's standing.
  if (id === null) return { kind: 'ignore', reason: 'invoice_without_subscription' };
  const prev = objects.subscriptions[id];
  if (prev?.payment && ms(event.occurred_at) < ms(prev.payment.at)) {
    return { kind: 'stale', object: `stripe:${id}#invoice`, newest: prev.payment.at };
  }
  const stillFailing = state === 'failed' && prev?.payment?.state === 'failed';
  const payment: PaymentEvidence = {
    state,
    at: event.occurred_at,
    event_id: event.event_id,
    failing_since:
      state === 'failed'
        ? stillFailing
          ? (prev?.payment?.failing_since ?? event.occurred_at)
          : event.occurred_at
        : null,
    grace_ms: state === 'failed' ? graceMs : null,
  };
  const base = prev ?? newSubscription(event.occurred_at);
  // Invoices carry tax and prorations: they fill in the price only where no snapshot did.
  const sub: SubscriptionObject = {
    ...base,
    plan: base.plan ?? d.plan,
    amount: base.amount ?? d.amount,
    payment,
    last_evidence: 'payment',
  };
  return {
    kind: 'record',
    objects: withSubscription(objects, id, sub),
    action,
    details: { subscription_id: id, invoice: state },
    links: stripeLinks(d),
    from_provider: true,
  };
}

const subscriptionStarted: Handler<'stripe.subscription_started'> = (objects, d, event) => {
  const action: AuditAction =
    d.stripe_type === 'checkout.session.completed'
      ? 'billing.checkout_completed'
      : 'billing.subscription_created';
  if (d.subscription_status !== null || d.stripe_type !== 'checkout.session.completed') {
    return recordSnapshot(
      objects,
      d,
      {
        status: d.subscription_status ?? 'active',
        cancel_at: d.cancel_at ?? null,
        cancel_at_period_end: d.cancel_at_period_end ?? false,
        trial_end: d.trial_end ?? null,
      },
      event,
      action,
    );
  }
  // A completed checkout that was paid (or needed no payment) is the subscription's first payment.
  if (d.payment_status === 'unpaid') return { kind: 'ignore', reason: 'checkout_unpaid' };
  return recordPayment(objects, d, 'paid', null, event, action);
};

const subscriptionUpdated: Handler<'stripe.subscription_updated'> = (objects, d, event) =>
  recordSnapshot(
    objects,
    d,
    {
      status: d.subscription_status,
      cancel_at: d.cancel_at,
      cancel_at_period_end: d.cancel_at_period_end ?? false,
      trial_end: d.trial_end ?? null,
    },
    event,
    'billing.subscription_updated',
  );

const subscriptionDeleted: Handler<'stripe.subscription_deleted'> = (objects, d, event) =>
  recordSnapshot(
    objects,
    d,
    {
      status: d.subscription_status ?? 'canceled',
      cancel_at: null,
      cancel_at_period_end: false,
      trial_end: null,
    },
    event,
    'billing.subscription_deleted',
  );

const paymentFailed: Handler<'stripe.payment_failed'> = (objects, d, event) =>
  recordPayment(objects, d, 'failed', d.past_due_grace_ms, event, 'billing.payment_failed');

const paymentSucceeded: Handler<'stripe.payment_succeeded'> = (objects, d, event) =>
  recordPayment(
    objects,
    d,
    'paid',
    null,
    event,
    event.event_type === 'invoice.paid' ? 'billing.invoice_paid' : 'billing.payment_succeeded',
  );

const myaspStatusChanged: Handler<'myasp.status_changed'> = (objects, d, event) => {
  const prev = objects.membership;
  if (prev && ms(event.occurred_at) < ms(prev.version)) {
    return { kind: 'stale', object: `myasp:${prev.user_id}`, newest: prev.version };
  }
  const membership: MembershipObject = {
    user_id: d.myasp_user_id,
    code: d.provider_status,
    version: event.occurred_at,
    event_id: event.event_id,
    first_seen: prev?.first_seen ?? event.occurred_at,
  };
  return {
    kind: 'record',
    objects: { ...objects, membership },
    action: 'billing.myasp_status_changed',
    details: { myasp_user_id: d.myasp_user_id, provider_status: d.provider_status },
    links: { email: d.email, myasp_user_id: d.myasp_user_id, plan: d.plan, amount: d.amount },
    from_provider: true,
  };
};

const registerAccount: Handler<'account.registered'> = (objects, d, _event, state) => {
  if (state !== null) return { kind: 'ignore', reason: 'already_registered' };
  return {
    kind: 'record',
    objects: { ...objects, registered_trial_end: d.trial_end },
    action: 'billing.account_registered',
    details: { trial_end: d.trial_end },
    links: {
      email: d.email,
      stripe_customer_id: d.stripe_customer_id,
      myasp_user_id: d.myasp_user_id,
    },
    from_provider: false,
  };
};

const correctManually: Handler<'manual.correction'> = (objects, d, event) => {
  if (d.status === 'canceling' && d.scheduled_cancel_at === null) {
    return { kind: 'reject', reason: 'canceling_needs_scheduled_cancel_at' };
  }
  const manual: ManualEvidence = {
    status: d.status,
    scheduled_cancel_at: d.status === 'canceling' ? d.scheduled_cancel_at : null,
    at: event.occurred_at,
    event_id: event.event_id,
  };
  return {
    kind: 'record',
    objects: { ...objects, manual },
    action: 'billing.manual_correction',
    details: { reason: d.reason, corrected_to: d.status },
    links: {},
    from_provider: false,
  };
};

const TIMER_ACTIONS: Record<'trial_end' | 'cancel_at_period_end' | 'grace_end', AuditAction> = {
  trial_end: 'billing.trial_ended',
  cancel_at_period_end: 'billing.canceled_at_period_end',
  grace_end: 'billing.grace_ended',
};

/** A deadline passed: no new evidence, the status is derived again at that instant. */
const timerFired: Handler<'timer.fired'> = (objects, d, _event, state) => {
  if (state === null) return { kind: 'ignore', reason: 'no_account' };
  return {
    kind: 'record',
    objects,
    action: TIMER_ACTIONS[d.timer],
    details: {},
    links: {},
    from_provider: false,
  };
};

/** What the provider's API held at the fetch time: a full subscription snapshot (reconciliation). */
const subscriptionReconciled: Handler<'reconcile.subscription'> = (objects, d, event) => {
  const step = recordSnapshot(
    objects,
    d,
    {
      status: d.subscription_status,
      cancel_at: d.cancel_at,
      cancel_at_period_end: d.cancel_at_period_end ?? false,
      trial_end: d.trial_end ?? null,
    },
    event,
    'billing.reconciled',
  );
  if (step.kind !== 'record') return step;
  return { ...step, details: { ...step.details, provider: 'stripe', differences: d.differences } };
};

/** What a MyASP member export said about the membership (reconciliation). */
const membershipReconciled: Handler<'reconcile.membership'> = (objects, d, event, state) => {
  const step = myaspStatusChanged(
    objects,
    { ...d, kind: 'myasp.status_changed', email: null, plan: null, amount: null },
    event,
    state,
  );
  if (step.kind !== 'record') return step;
  return {
    ...step,
    action: 'billing.reconciled',
    details: { ...step.details, provider: 'myasp', differences: d.differences },
  };
};

export const EVIDENCE: { [K in EventData['kind']]: Handler<K> } = {
  'stripe.subscription_started': subscriptionStarted,
  'stripe.subscription_updated': subscriptionUpdated,
  'stripe.subscription_deleted': subscriptionDeleted,
  'stripe.payment_failed': paymentFailed,
  'stripe.payment_succeeded': paymentSucceeded,
  'myasp.status_changed': myaspStatusChanged,
  'account.registered': registerAccount,
  'manual.correction': correctManually,
  'timer.fired': timerFired,
  'reconcile.subscription': subscriptionReconciled,
  'reconcile.membership': membershipReconciled,
  unhandled: () => ({ kind: 'ignore', reason: 'unhandled_event_type' }),
};
