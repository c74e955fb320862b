// Stripe subscriptions: what a subscription object says about its links, cancel and trial, and
// the handlers of the customer.subscription.* events. Pure.
import type Stripe from 'stripe';

import type { AccountHint, StripeLinks, SubscriptionFacts } from '../types';
import type { Interpreted, NormalizeStripeOptions } from './interpreted';
import {
  accountIdIn,
  field,
  firstOf,
  idOf,
  isoFromSeconds,
  type Json,
  listData,
  malformed,
  record,
  text,
  whole,
} from './read-json';

/** Fields that exist only in payloads of API versions before 2025-03-31.basil. */
interface LegacySubscription {
  current_period_end: number;
}

function subscriptionItems(sub: Json): Json[] {
  return listData(field<Stripe.Subscription>(sub, 'items'));
}

function recurringAmount(items: readonly Json[]): number | null {
  if (items.length === 0) return null;
  let total = 0;
  for (const item of items) {
    const unit = whole(
      field<Stripe.Price>(record(field<Stripe.SubscriptionItem>(item, 'price')), 'unit_amount'),
    );
    const quantity = whole(field<Stripe.SubscriptionItem>(item, 'quantity')) ?? 1;
    if (unit === null) return null;
    total += unit * quantity;
  }
  return total;
}

export function subscriptionLinks(sub: Json): StripeLinks {
  const items = subscriptionItems(sub);
  return {
    customer_id: idOf(field<Stripe.Subscription>(sub, 'customer')),
    subscription_id: text(field<Stripe.Subscription>(sub, 'id')),
    plan: firstOf(items, (item) => idOf(field<Stripe.SubscriptionItem>(item, 'price'))),
    amount: recurringAmount(items),
  };
}

/** Legacy: on the subscription. Basil: on each item; the latest one wins. */
function periodEnd(sub: Json): number | null {
  const legacy = whole(field<LegacySubscription>(sub, 'current_period_end'));
  if (legacy !== null) return legacy;
  const ends = subscriptionItems(sub)
    .map((item) => whole(field<Stripe.SubscriptionItem>(item, 'current_period_end')))
    .filter((end): end is number => end !== null);
  return ends.length > 0 ? Math.max(...ends) : null;
}

export function scheduledCancelAt(sub: Json): string | null {
  const cancelAt = whole(field<Stripe.Subscription>(sub, 'cancel_at'));
  if (cancelAt !== null) return isoFromSeconds(cancelAt);
  if (field<Stripe.Subscription>(sub, 'cancel_at_period_end') !== true) return null;
  const end = periodEnd(sub);
  if (end === null) {
    throw malformed(
      'The subscription says cancel_at_period_end but carries no current_period_end.',
    );
  }
  return isoFromSeconds(end);
}

type StatusDetails = NonNullable<Stripe.Subscription['status_details']>;
type PausedDetails = StatusDetails['paused'];

/** `status_details.paused.subscription.type`: why a `paused` subscription is paused. */
function pausedReason(sub: Json): string | null {
  const details = record(field<Stripe.Subscription>(sub, 'status_details'));
  const paused = record(field<StatusDetails>(details, 'paused'));
  const of = record(field<PausedDetails>(paused, 'subscription'));
  return text(field<PausedDetails['subscription']>(of, 'type'));
}

/** What the subscription says about its cancel, trial, invoices and pause, beyond its status. */
export function subscriptionFacts(sub: Json): Required<SubscriptionFacts> {
  const trialEnd = whole(field<Stripe.Subscription>(sub, 'trial_end'));
  return {
    cancel_at_period_end: field<Stripe.Subscription>(sub, 'cancel_at_period_end') === true,
    trial_end: trialEnd === null ? null : isoFromSeconds(trialEnd),
    latest_invoice: idOf(field<Stripe.Subscription>(sub, 'latest_invoice')),
    pending_update: record(field<Stripe.Subscription>(sub, 'pending_update')) !== null,
    collection_method: text(field<Stripe.Subscription>(sub, 'collection_method')),
    paused_reason: pausedReason(sub),
  };
}

export function subscriptionHint(sub: Json): AccountHint {
  return {
    explicit_account_id: accountIdIn(field<Stripe.Subscription>(sub, 'metadata')),
    stripe_customer_id: idOf(field<Stripe.Subscription>(sub, 'customer')),
    myasp_user_id: null,
  };
}

export function requiredStatus(sub: Json): string {
  const status = text(field<Stripe.Subscription>(sub, 'status'));
  if (status === null) throw malformed('The subscription in data.object has no status.');
  return status;
}

// ---------------------------------------------------------------------------------------------
// Handlers

export function subscriptionStarted(
  sub: Json,
  type: string,
  opts: NormalizeStripeOptions,
): Interpreted {
  return {
    data: {
      kind: 'stripe.subscription_started',
      stripe_type: type,
      subscription_status: text(field<Stripe.Subscription>(sub, 'status')),
      cancel_at: scheduledCancelAt(sub),
      past_due_grace_ms: opts.pastDueGraceMs,
      ...subscriptionFacts(sub),
      ...subscriptionLinks(sub),
    },
    account_hint: subscriptionHint(sub),
  };
}

/** customer.subscription.updated, .paused and .resumed: snapshots of the subscription. */
export function subscriptionUpdated(
  sub: Json,
  _type: string,
  opts: NormalizeStripeOptions,
): Interpreted {
  return {
    data: {
      kind: 'stripe.subscription_updated',
      subscription_status: requiredStatus(sub),
      cancel_at: scheduledCancelAt(sub),
      past_due_grace_ms: opts.pastDueGraceMs,
      ...subscriptionFacts(sub),
      ...subscriptionLinks(sub),
    },
    account_hint: subscriptionHint(sub),
  };
}

export function subscriptionDeleted(sub: Json): Interpreted {
  return {
    data: {
      kind: 'stripe.subscription_deleted',
      subscription_status: text(field<Stripe.Subscription>(sub, 'status')),
      ...subscriptionLinks(sub),
    },
    account_hint: subscriptionHint(sub),
  };
}
