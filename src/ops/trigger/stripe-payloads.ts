// Stripe webhook events as Stripe sends them, for `npm run ops -- trigger`: the envelope, a
// subscription and an invoice, in both payload shapes the service accepts —
// legacy (api_version 2024-06-20: period on the subscription, the invoice's subscription at the
// top) and basil (2025-03-31.basil: period on each item, the invoice's subscription under
// `parent.subscription_details`). Only test-mode events (`livemode: false`).
import { randomBytes, randomUUID } from 'node:crypto';

export type PayloadShape = 'legacy' | 'basil';
export const PAYLOAD_SHAPES: readonly PayloadShape[] = ['legacy', 'basil'];
export const API_VERSIONS: Readonly<Record<PayloadShape, string>> = {
  legacy: '2024-06-20',
  basil: '2025-03-31.basil',
};

type Json = Record<string, unknown>;

/** A Stripe-looking id: `sub_1…` with 24 characters after the prefix. */
export function stripeId(prefix: string): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const body = [...randomBytes(23)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${prefix}_1${body}`;
}

export interface SubscriptionFacts {
  shape: PayloadShape;
  accountId: string;
  customerId: string;
  subscriptionId: string;
  /** Unix seconds of the event. */
  created: number;
  status: 'active' | 'trialing' | 'past_due' | 'canceled';
  periodEnd: number;
  cancelAtPeriodEnd?: boolean;
  trialEnd?: number | null;
  priceId?: string;
  amount?: number;
}

const MONTH_S = 30 * 86_400;

function price(f: SubscriptionFacts): Json {
  return {
    id: f.priceId ?? 'price_trigger_standard',
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    currency: 'jpy',
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: 'standard',
    product: 'prod_trigger_standard',
    recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' },
    type: 'recurring',
    unit_amount: f.amount ?? 1980,
  };
}

export function subscriptionObject(f: SubscriptionFacts): Json {
  const periodStart = f.periodEnd - MONTH_S;
  const scheduled = f.cancelAtPeriodEnd === true;
  const item: Json = {
    id: stripeId('si'),
    object: 'subscription_item',
    created: periodStart,
    metadata: {},
    price: price(f),
    quantity: 1,
    subscription: f.subscriptionId,
  };
  if (f.shape === 'basil') {
    item.current_period_start = periodStart;
    item.current_period_end = f.periodEnd;
  }
  const sub: Json = {
    id: f.subscriptionId,
    object: 'subscription',
    billing_cycle_anchor: periodStart,
    cancel_at: scheduled ? f.periodEnd : null,
    cancel_at_period_end: scheduled,
    canceled_at: scheduled || f.status === 'canceled' ? f.created : null,
    cancellation_details: {
      comment: null,
      feedback: null,
      reason: scheduled || f.status === 'canceled' ? 'cancellation_requested' : null,
    },
    collection_method: 'charge_automatically',
    created: periodStart,
    currency: 'jpy',
    customer: f.customerId,
    ended_at: f.status === 'canceled' ? f.created : null,
    items: {
      object: 'list',
      data: [item],
      has_more: false,
      total_count: 1,
      url: `/v1/subscription_items?subscription=${f.subscriptionId}`,
    },
    latest_invoice: stripeId('in'),
    livemode: false,
    metadata: { account_id: f.accountId },
    start_date: periodStart,
    status: f.status,
    trial_end: f.trialEnd ?? null,
    trial_start: f.trialEnd ? periodStart : null,
  };
  if (f.shape === 'legacy') {
    sub.current_period_start = periodStart;
    sub.current_period_end = f.periodEnd;
    sub.plan = { ...price(f), object: 'plan', amount: f.amount ?? 1980, interval: 'month' };
  } else {
    sub.billing_mode = { type: 'classic' };
  }
  return sub;
}

export function invoiceObject(f: SubscriptionFacts, paid: boolean): Json {
  const amount = f.amount ?? 1980;
  const periodStart = f.periodEnd - MONTH_S;
  const id = stripeId('in');
  const line: Json = {
    id: stripeId('il'),
    object: 'line_item',
    amount,
    currency: 'jpy',
    description: '1 × standard (at ¥1,980 / month)',
    livemode: false,
    metadata: {},
    period: { start: periodStart, end: f.periodEnd },
    quantity: 1,
  };
  const invoice: Json = {
    id,
    object: 'invoice',
    account_country: 'JP',
    amount_due: amount,
    amount_paid: paid ? amount : 0,
    amount_remaining: paid ? 0 : amount,
    attempt_count: 1,
    attempted: true,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    created: f.created,
    currency: 'jpy',
    customer: f.customerId,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_test/${id}`,
    livemode: false,
    metadata: {},
    next_payment_attempt: paid ? null : f.created + 3 * 86_400,
    period_end: periodStart,
    period_start: periodStart,
    status: paid ? 'paid' : 'open',
    status_transitions: { finalized_at: f.created, paid_at: paid ? f.created : null },
    subtotal: amount,
    total: amount,
  };
  if (f.shape === 'legacy') {
    line.price = price(f);
    line.subscription = f.subscriptionId;
    line.type = 'subscription';
    invoice.paid = paid;
    invoice.subscription = f.subscriptionId;
    invoice.subscription_details = { metadata: { account_id: f.accountId } };
    invoice.charge = stripeId('ch');
    invoice.payment_intent = stripeId('pi');
  } else {
    line.parent = {
      type: 'subscription_item_details',
      subscription_item_details: { subscription: f.subscriptionId, proration: false },
    };
    line.pricing = { type: 'price_details', price_details: { price: price(f).id } };
    invoice.parent = {
      type: 'subscription_details',
      subscription_details: {
        metadata: { account_id: f.accountId },
        subscription: f.subscriptionId,
      },
    };
  }
  invoice.lines = {
    object: 'list',
    data: [line],
    has_more: false,
    total_count: 1,
    url: `/v1/invoices/${id}/lines`,
  };
  return invoice;
}

export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Json; previous_attributes?: Json };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

export function stripeEvent(
  type: string,
  object: Json,
  shape: PayloadShape,
  created: number,
  previousAttributes?: Json,
): StripeEvent {
  // Events Stripe raises itself (renewals, dunning, period ends) carry no request.
  const byRequest = !type.startsWith('invoice.') && type !== 'customer.subscription.deleted';
  const requestId = byRequest ? stripeId('req') : null;
  return {
    id: stripeId('evt'),
    object: 'event',
    api_version: API_VERSIONS[shape],
    created,
    data: previousAttributes ? { object, previous_attributes: previousAttributes } : { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: requestId, idempotency_key: requestId ? randomUUID() : null },
    type,
  };
}
