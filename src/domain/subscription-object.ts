// A Stripe subscription object as the account holds it, and how evidence is put on it. Pure.
import type { Links } from './evidence-step';
import { keyedRecord, withKey } from './keyed-record';
import type { AccountObjects, InvoiceEvidence, StripeLinks, SubscriptionObject } from './types';

/** Fills in what state written before per-invoice evidence lacks. */
export function subscriptionOf(
  prev: Partial<SubscriptionObject> | undefined,
  firstSeen: string,
): SubscriptionObject {
  return {
    status: null,
    cancel_at: null,
    cancel_at_period_end: false,
    trial_end: null,
    plan: null,
    amount: null,
    version: null,
    event_id: null,
    latest_invoice: null,
    pending_update: false,
    collection_method: null,
    paused_reason: null,
    grace_ms: null,
    snapshot_seq: 0,
    invoices: keyedRecord<InvoiceEvidence>(),
    invoice_version: null,
    live_at: null,
    dunning_from: null,
    seq: 0,
    first_seen: firstSeen,
    ...prev,
  };
}

export function stripeLinks(d: StripeLinks): Links {
  return { stripe_customer_id: d.customer_id };
}

export function withSubscription(
  objects: AccountObjects,
  id: string,
  sub: SubscriptionObject,
): AccountObjects {
  return { ...objects, subscriptions: withKey(objects.subscriptions, id, sub) };
}
