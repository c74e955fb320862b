// What Stripe events say about a subscription object (SPEC §3 rules 1–2): a snapshot of the
// subscription (created, updated, deleted, reconciled) or an invoice's payment, each recorded on
// the subscription it names, or stale against what that object already holds. Pure.
import type { EvidenceHandler as Handler, EvidenceStep, Links } from './evidence-step';
import { withKey } from './keyed-record';
import type {
  AccountObjects,
  AuditAction,
  BillingEvent,
  EqualSecondConflict,
  PaymentEvidence,
  ReconciledSubscription,
  StripeLinks,
  StripeSubscriptionChanged,
  SubscriptionObject,
} from './types';

const ms = (iso: string): number => Date.parse(iso);

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
  return { ...objects, subscriptions: withKey(objects.subscriptions, id, sub) };
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

export const subscriptionStarted: Handler<'stripe.subscription_started'> = (objects, d, event) => {
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

/** The subscription as an update or a fetch describes it. */
function describedSnapshot(d: StripeSubscriptionChanged | ReconciledSubscription): Snapshot {
  return {
    status: d.subscription_status,
    cancel_at: d.cancel_at,
    cancel_at_period_end: d.cancel_at_period_end ?? false,
    trial_end: d.trial_end ?? null,
  };
}

export const subscriptionUpdated: Handler<'stripe.subscription_updated'> = (objects, d, event) =>
  recordSnapshot(objects, d, describedSnapshot(d), event, 'billing.subscription_updated');

export const subscriptionDeleted: Handler<'stripe.subscription_deleted'> = (objects, d, event) =>
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

export const paymentFailed: Handler<'stripe.payment_failed'> = (objects, d, event) =>
  recordPayment(objects, d, 'failed', d.past_due_grace_ms, event, 'billing.payment_failed');

export const paymentSucceeded: Handler<'stripe.payment_succeeded'> = (objects, d, event) =>
  recordPayment(
    objects,
    d,
    'paid',
    null,
    event,
    event.event_type === 'invoice.paid' ? 'billing.invoice_paid' : 'billing.payment_succeeded',
  );

/** What the provider's API held at the fetch time: a full subscription snapshot (reconciliation). */
export const subscriptionReconciled: Handler<'reconcile.subscription'> = (objects, d, event) => {
  const step = recordSnapshot(objects, d, describedSnapshot(d), event, 'billing.reconciled');
  if (step.kind !== 'record') return step;
  return { ...step, details: { ...step.details, provider: 'stripe', differences: d.differences } };
};
