// Stripe checkout sessions: whose account a session is, and checkout.session.completed (and its
// async_payment_succeeded/_failed, for payments that come later: konbini, bank transfer), which
// start a subscription when the session was in subscription mode and its payment came. Pure.
import type Stripe from 'stripe';

import type { AccountHint, StripeLinks } from '../types';
import type { Interpreted } from './interpreted';
import {
  accountIdIn,
  field,
  idOf,
  isoFromSeconds,
  type Json,
  record,
  text,
  whole,
} from './read-json';
import { scheduledCancelAt, subscriptionFacts, subscriptionLinks } from './subscription';

/** metadata.account_id wins over client_reference_id (SPEC §3 account resolution order). */
export function checkoutHint(session: Json): AccountHint {
  const expanded = record(field<Stripe.Checkout.Session>(session, 'subscription'));
  return {
    explicit_account_id:
      accountIdIn(field<Stripe.Checkout.Session>(session, 'metadata')) ??
      accountIdIn(field<Stripe.Subscription>(expanded, 'metadata')) ??
      text(field<Stripe.Checkout.Session>(session, 'client_reference_id'))?.trim() ??
      null,
    stripe_customer_id: idOf(field<Stripe.Checkout.Session>(session, 'customer')),
    myasp_user_id: null,
  };
}

export function checkoutCompleted(session: Json, type: string): Interpreted {
  const subscription = field<Stripe.Checkout.Session>(session, 'subscription');
  const subscriptionId = idOf(subscription);
  const mode = field<Stripe.Checkout.Session>(session, 'mode');
  if (mode !== 'subscription' || subscriptionId === null) {
    return { data: { kind: 'unhandled' }, account_hint: checkoutHint(session) };
  }
  const expanded = record(subscription);
  const fromSubscription = expanded ? subscriptionLinks(expanded) : null;
  const links: StripeLinks = {
    customer_id:
      idOf(field<Stripe.Checkout.Session>(session, 'customer')) ??
      fromSubscription?.customer_id ??
      null,
    subscription_id: subscriptionId,
    plan: fromSubscription?.plan ?? null,
    amount:
      fromSubscription?.amount ?? whole(field<Stripe.Checkout.Session>(session, 'amount_total')),
  };
  const status = expanded ? text(field<Stripe.Subscription>(expanded, 'status')) : null;
  const created = whole(field<Stripe.Checkout.Session>(session, 'created'));
  return {
    data: {
      kind: 'stripe.subscription_started',
      stripe_type: type,
      subscription_status: status,
      payment_status: text(field<Stripe.Checkout.Session>(session, 'payment_status')),
      invoice_id: idOf(field<Stripe.Checkout.Session>(session, 'invoice')),
      session_created: created === null || created < 0 ? null : isoFromSeconds(created),
      ...(expanded && status !== null
        ? { cancel_at: scheduledCancelAt(expanded), ...subscriptionFacts(expanded) }
        : {}),
      ...links,
    },
    account_hint: checkoutHint(session),
  };
}
