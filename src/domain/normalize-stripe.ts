// Turns a verified, JSON-parsed Stripe event into the NormalizedEvent we store and deliver.
// Pure: no IO, no clock. Imported by workflow code, so the `stripe` package is used for its types
// only (`import type` is erased at compile time).
//
// Both payload shapes are read (SPEC §3):
//  - legacy (API versions before 2025-03-31.basil): `subscription.current_period_end`,
//    `invoice.subscription`, `invoice.subscription_details.metadata`, line `subscription`/`price`;
//  - basil and later: `subscription.items.data[].current_period_end`,
//    `invoice.parent.subscription_details.{subscription,metadata}`,
//    line `parent.subscription_item_details.subscription` and `pricing.price_details.price`.
//
// Rules that are ours, not Stripe's:
//  - plan   = the price id (never lookup_key or nickname: those are mutable labels, and basil
//             invoice lines carry only the price id, so the id is the one value every event has).
//             Subscriptions: first item with a price. Invoices: first non-proration line with a
//             price, else the first line with a price.
//  - amount = integer minor units (yen for JPY). Subscriptions: the recurring charge,
//             Σ price.unit_amount × quantity over items (null if any item has no unit_amount, e.g.
//             tiered/metered). Invoices: amount_paid when paid, amount_due when payment failed.
//             Checkout sessions: from the subscription when it is expanded, else amount_total.
//  - cancel time = `cancel_at` when set (Stripe fills it in for cancel_at_period_end too), else the
//             period end when `cancel_at_period_end`; with several item periods, the latest one
//             (an earlier real end still arrives as `customer.subscription.deleted`).
//
// The pieces: stripe/read-json.ts reads untrusted JSON; stripe/subscription.ts, stripe/invoice.ts
// and stripe/checkout.ts interpret each kind of object; this file reads the envelope and picks
// the handler from the table below.
import type Stripe from 'stripe';

import { checkoutCompleted, checkoutHint } from './stripe/checkout';
import type { Handler, NormalizeStripeOptions } from './stripe/interpreted';
import { invoiceClosed, paymentFailed, paymentSucceeded } from './stripe/invoice';
import {
  accountIdIn,
  field,
  idOf,
  isoFromSeconds,
  type Json,
  malformed,
  record,
  text,
  whole,
} from './stripe/read-json';
import {
  requiredStatus,
  scheduledCancelAt,
  subscriptionDeleted,
  subscriptionFacts,
  subscriptionHint,
  subscriptionLinks,
  subscriptionStarted,
  subscriptionUpdated,
} from './stripe/subscription';
import type { AccountHint, NormalizedEvent, ReconciledSubscription } from './types';

export type { NormalizeStripeOptions } from './stripe/interpreted';

/** For events we do not interpret: still enough to find the account the event is stored under. */
function genericHint(object: Json): AccountHint {
  if (field<Stripe.Checkout.Session>(object, 'object') === 'checkout.session') {
    return checkoutHint(object);
  }
  const isCustomer = field<Stripe.Customer>(object, 'object') === 'customer';
  return {
    explicit_account_id: accountIdIn(field<{ metadata: Stripe.Metadata }>(object, 'metadata')),
    stripe_customer_id: isCustomer
      ? text(field<Stripe.Customer>(object, 'id'))
      : idOf(field<{ customer: string }>(object, 'customer')),
    myasp_user_id: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Handlers, one per event type we interpret

interface HandlerEntry {
  /** The `object` value data.object must have. */
  object: 'checkout.session' | 'subscription' | 'invoice';
  handle: Handler;
}

const HANDLED: ReadonlyArray<readonly [Stripe.Event['type'], HandlerEntry]> = [
  ['checkout.session.completed', { object: 'checkout.session', handle: checkoutCompleted }],
  [
    'checkout.session.async_payment_succeeded',
    { object: 'checkout.session', handle: checkoutCompleted },
  ],
  [
    'checkout.session.async_payment_failed',
    { object: 'checkout.session', handle: checkoutCompleted },
  ],
  ['customer.subscription.created', { object: 'subscription', handle: subscriptionStarted }],
  ['customer.subscription.updated', { object: 'subscription', handle: subscriptionUpdated }],
  ['customer.subscription.paused', { object: 'subscription', handle: subscriptionUpdated }],
  ['customer.subscription.resumed', { object: 'subscription', handle: subscriptionUpdated }],
  ['customer.subscription.deleted', { object: 'subscription', handle: subscriptionDeleted }],
  ['invoice.payment_failed', { object: 'invoice', handle: paymentFailed }],
  ['invoice.paid', { object: 'invoice', handle: paymentSucceeded }],
  ['invoice.payment_succeeded', { object: 'invoice', handle: paymentSucceeded }],
  ['invoice.voided', { object: 'invoice', handle: invoiceClosed }],
  ['invoice.marked_uncollectible', { object: 'invoice', handle: invoiceClosed }],
];

/** A Map, not an object literal: a type named "constructor" must not find a handler. */
const HANDLERS: ReadonlyMap<string, HandlerEntry> = new Map(HANDLED);

/** The event types this module interprets; every other type normalizes to `unhandled`. */
export const HANDLED_STRIPE_EVENT_TYPES: readonly string[] = HANDLED.map(([type]) => type);

// ---------------------------------------------------------------------------------------------

interface Envelope {
  id: string;
  type: string;
  occurredAt: string;
  object: Json;
}

function readEnvelope(event: unknown): Envelope {
  const root = record(event);
  if (root === null) throw malformed('A Stripe event must be a JSON object.');
  const id = text(field<Stripe.Event>(root, 'id'));
  if (id === null || !id.startsWith('evt_')) {
    throw malformed('A Stripe event needs an id starting with "evt_".');
  }
  const type = text(field<Stripe.Event>(root, 'type'));
  if (type === null) throw malformed('A Stripe event needs a type.');
  const object = record(
    field<Stripe.Event.Data>(record(field<Stripe.Event>(root, 'data')), 'object'),
  );
  if (object === null) throw malformed('A Stripe event needs a data.object.');
  const created = whole(field<Stripe.Event>(root, 'created'));
  const occurredAt = created === null || created < 0 ? null : isoFromSeconds(created);
  if (occurredAt === null) throw malformed('A Stripe event needs created as whole Unix seconds.');
  return { id, type, occurredAt, object };
}

function checkObject(entry: HandlerEntry, env: Envelope): string {
  const kind = field<{ object: string }>(env.object, 'object');
  if (kind !== undefined && kind !== entry.object) {
    throw malformed(
      `A ${env.type} event must carry a ${entry.object}, not ${JSON.stringify(kind)}.`,
    );
  }
  const id = text(field<{ id: string }>(env.object, 'id'));
  if (id === null) throw malformed(`The ${entry.object} in a ${env.type} event has no id.`);
  return id;
}

/** Verified Stripe event JSON → what we store and deliver; throws AppError('malformed_event'). */
export function normalizeStripeEvent(
  event: unknown,
  opts: NormalizeStripeOptions,
): NormalizedEvent {
  const env = readEnvelope(event);
  const entry = HANDLERS.get(env.type);
  const objectId = entry ? checkObject(entry, env) : null;
  const { data, account_hint } = entry
    ? entry.handle(env.object, env.type, opts)
    : {
        data: { kind: 'unhandled' } as const,
        account_hint: genericHint(env.object),
      };
  const subscriptionId = data.kind === 'unhandled' ? null : data.subscription_id;
  return {
    source: 'stripe',
    dedupe_key: `stripe:${env.id}`,
    event_type: env.type,
    occurred_at: env.occurredAt,
    object_key: data.kind === 'unhandled' ? null : `stripe:${subscriptionId ?? objectId}`,
    data,
    account_hint,
  };
}

/** A subscription fetched from Stripe's API, read the way its webhooks are read. */
export interface FetchedSubscription {
  data: Omit<ReconciledSubscription, 'differences'>;
  /** `metadata.account_id` when the subscription names its account. */
  explicit_account_id: string | null;
}

/**
 * A subscription object as `GET /v1/subscriptions` returns it (either API shape) → the snapshot
 * reconciliation compares and records; throws AppError('malformed_event') when it has no id.
 */
export function readFetchedSubscription(subscription: unknown): FetchedSubscription {
  const sub = record(subscription);
  if (sub === null) throw malformed('A fetched subscription must be a JSON object.');
  const links = subscriptionLinks(sub);
  if (links.subscription_id === null) throw malformed('A fetched subscription has no id.');
  return {
    data: {
      kind: 'reconcile.subscription',
      subscription_status: requiredStatus(sub),
      cancel_at: scheduledCancelAt(sub),
      ...subscriptionFacts(sub),
      ...links,
    },
    explicit_account_id: subscriptionHint(sub).explicit_account_id,
  };
}
