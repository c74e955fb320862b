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
import type Stripe from 'stripe';
import { AppError } from './errors';
import type {
  AccountHint,
  EventData,
  NormalizedEvent,
  ReconciledSubscription,
  StripeLinks,
  SubscriptionFacts,
  Unhandled,
} from './types';

export interface NormalizeStripeOptions {
  /** Dunning grace to stamp on `invoice.payment_failed` (PAST_DUE_GRACE); null = none. */
  pastDueGraceMs: number | null;
}

type Json = Readonly<Record<string, unknown>>;

/** Fields that exist only in payloads of API versions before 2025-03-31.basil. */
interface LegacySubscription {
  current_period_end: number;
}
interface LegacyInvoice {
  subscription: string | Stripe.Subscription | null;
  subscription_details: { metadata: Stripe.Metadata | null } | null;
}
interface LegacyInvoiceLine {
  price: Stripe.Price | null;
  proration: boolean;
}

type LegacySubscriptionDetails = NonNullable<LegacyInvoice['subscription_details']>;
type InvoiceParent = NonNullable<Stripe.Invoice['parent']>;
type InvoiceSubscriptionDetails = NonNullable<InvoiceParent['subscription_details']>;
type LineParent = NonNullable<Stripe.InvoiceLineItem['parent']>;
type LineSubscriptionItemDetails = NonNullable<LineParent['subscription_item_details']>;
type LineInvoiceItemDetails = NonNullable<LineParent['invoice_item_details']>;
type LinePricing = NonNullable<Stripe.InvoiceLineItem['pricing']>;
type LinePriceDetails = NonNullable<LinePricing['price_details']>;

// ---------------------------------------------------------------------------------------------
// Reading untrusted JSON. `field<T>` checks the key against the SDK (or legacy) type at compile
// time and reads only own properties, so "constructor" and friends never leak in.

function field<T>(obj: Json | null, key: Extract<keyof T, string>): unknown {
  return obj !== null && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function record(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function whole(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

/** An expandable reference: the id string, or the expanded object's id. */
function idOf(value: unknown): string | null {
  return text(value) ?? text(field<{ id: string }>(record(value), 'id'));
}

/** The records in a Stripe list object (`{object: 'list', data: [...]}`). */
function listData(value: unknown): Json[] {
  const data = field<Stripe.ApiList<unknown>>(record(value), 'data');
  return Array.isArray(data) ? data.map(record).filter((r): r is Json => r !== null) : [];
}

function firstOf<T>(items: readonly Json[], pick: (item: Json) => T | null): T | null {
  for (const item of items) {
    const found = pick(item);
    if (found !== null) return found;
  }
  return null;
}

function accountIdIn(metadata: unknown): string | null {
  return text(field<{ account_id: string }>(record(metadata), 'account_id'))?.trim() ?? null;
}

function isoFromSeconds(seconds: number): string | null {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function malformed(message: string): AppError {
  return new AppError('malformed_event', message, 400);
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

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

function subscriptionLinks(sub: Json): StripeLinks {
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

function scheduledCancelAt(sub: Json): string | null {
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

/** What the subscription says about its cancel and trial, beyond its status. */
function subscriptionFacts(sub: Json): Required<SubscriptionFacts> {
  const trialEnd = whole(field<Stripe.Subscription>(sub, 'trial_end'));
  return {
    cancel_at_period_end: field<Stripe.Subscription>(sub, 'cancel_at_period_end') === true,
    trial_end: trialEnd === null ? null : isoFromSeconds(trialEnd),
  };
}

function subscriptionHint(sub: Json): AccountHint {
  return {
    explicit_account_id: accountIdIn(field<Stripe.Subscription>(sub, 'metadata')),
    stripe_customer_id: idOf(field<Stripe.Subscription>(sub, 'customer')),
    myasp_user_id: null,
  };
}

function requiredStatus(sub: Json): string {
  const status = text(field<Stripe.Subscription>(sub, 'status'));
  if (status === null) throw malformed('The subscription in data.object has no status.');
  return status;
}

// ---------------------------------------------------------------------------------------------
// Invoices

function invoiceSubscriptionDetails(invoice: Json): Json | null {
  const parent = record(field<Stripe.Invoice>(invoice, 'parent'));
  return record(field<InvoiceParent>(parent, 'subscription_details'));
}

function lineSubscriptionItemDetails(line: Json): Json | null {
  const parent = record(field<Stripe.InvoiceLineItem>(line, 'parent'));
  return record(field<LineParent>(parent, 'subscription_item_details'));
}

function lineSubscriptionId(line: Json): string | null {
  const parent = record(field<Stripe.InvoiceLineItem>(line, 'parent'));
  const invoiceItem = record(field<LineParent>(parent, 'invoice_item_details'));
  return (
    text(field<LineSubscriptionItemDetails>(lineSubscriptionItemDetails(line), 'subscription')) ??
    text(field<LineInvoiceItemDetails>(invoiceItem, 'subscription')) ??
    idOf(field<Stripe.InvoiceLineItem>(line, 'subscription'))
  );
}

function linePriceId(line: Json): string | null {
  const pricing = record(field<Stripe.InvoiceLineItem>(line, 'pricing'));
  const details = record(field<LinePricing>(pricing, 'price_details'));
  return (
    idOf(field<LinePriceDetails>(details, 'price')) ?? idOf(field<LegacyInvoiceLine>(line, 'price'))
  );
}

function isProration(line: Json): boolean {
  const basil = field<LineSubscriptionItemDetails>(lineSubscriptionItemDetails(line), 'proration');
  return basil === true || field<LegacyInvoiceLine>(line, 'proration') === true;
}

function invoiceLines(invoice: Json): Json[] {
  return listData(field<Stripe.Invoice>(invoice, 'lines'));
}

/** Basil parent first, then the legacy top-level field, then whatever the lines say. */
function invoiceSubscription(invoice: Json): unknown {
  const basil = field<InvoiceSubscriptionDetails>(
    invoiceSubscriptionDetails(invoice),
    'subscription',
  );
  return basil ?? field<LegacyInvoice>(invoice, 'subscription');
}

function invoiceLinks(invoice: Json, amountField: 'amount_paid' | 'amount_due'): StripeLinks {
  const lines = invoiceLines(invoice);
  const regular = lines.filter((line) => !isProration(line));
  return {
    customer_id: idOf(field<Stripe.Invoice>(invoice, 'customer')),
    subscription_id: idOf(invoiceSubscription(invoice)) ?? firstOf(lines, lineSubscriptionId),
    plan: firstOf(regular, linePriceId) ?? firstOf(lines, linePriceId),
    amount: whole(field<Stripe.Invoice>(invoice, amountField)),
  };
}

/** invoice.metadata, then the subscription metadata snapshot (basil, legacy), then an expanded subscription. */
function invoiceHint(invoice: Json): AccountHint {
  const legacyDetails = record(field<LegacyInvoice>(invoice, 'subscription_details'));
  const expanded = record(invoiceSubscription(invoice));
  return {
    explicit_account_id:
      accountIdIn(field<Stripe.Invoice>(invoice, 'metadata')) ??
      accountIdIn(
        field<InvoiceSubscriptionDetails>(invoiceSubscriptionDetails(invoice), 'metadata'),
      ) ??
      accountIdIn(field<LegacySubscriptionDetails>(legacyDetails, 'metadata')) ??
      accountIdIn(field<Stripe.Subscription>(expanded, 'metadata')),
    stripe_customer_id: idOf(field<Stripe.Invoice>(invoice, 'customer')),
    myasp_user_id: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Checkout sessions and anything else

/** metadata.account_id wins over client_reference_id (SPEC §3 account resolution order). */
function checkoutHint(session: Json): AccountHint {
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

/** The Stripe members of EventData, each carrying StripeLinks, or `unhandled`. */
type StripeEventData = Extract<EventData, StripeLinks> | Unhandled;

interface Interpreted {
  data: StripeEventData;
  account_hint: AccountHint;
}
type Handler = (object: Json, type: string, opts: NormalizeStripeOptions) => Interpreted;

function checkoutCompleted(session: Json, type: string): Interpreted {
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
  return {
    data: {
      kind: 'stripe.subscription_started',
      stripe_type: type,
      subscription_status: status,
      payment_status: text(field<Stripe.Checkout.Session>(session, 'payment_status')),
      ...(expanded && status !== null
        ? { cancel_at: scheduledCancelAt(expanded), ...subscriptionFacts(expanded) }
        : {}),
      ...links,
    },
    account_hint: checkoutHint(session),
  };
}

function subscriptionStarted(sub: Json, type: string): Interpreted {
  return {
    data: {
      kind: 'stripe.subscription_started',
      stripe_type: type,
      subscription_status: text(field<Stripe.Subscription>(sub, 'status')),
      cancel_at: scheduledCancelAt(sub),
      ...subscriptionFacts(sub),
      ...subscriptionLinks(sub),
    },
    account_hint: subscriptionHint(sub),
  };
}

function subscriptionUpdated(sub: Json): Interpreted {
  return {
    data: {
      kind: 'stripe.subscription_updated',
      subscription_status: requiredStatus(sub),
      cancel_at: scheduledCancelAt(sub),
      ...subscriptionFacts(sub),
      ...subscriptionLinks(sub),
    },
    account_hint: subscriptionHint(sub),
  };
}

function subscriptionDeleted(sub: Json): Interpreted {
  return {
    data: {
      kind: 'stripe.subscription_deleted',
      subscription_status: text(field<Stripe.Subscription>(sub, 'status')),
      ...subscriptionLinks(sub),
    },
    account_hint: subscriptionHint(sub),
  };
}

function paymentFailed(invoice: Json, _type: string, opts: NormalizeStripeOptions): Interpreted {
  return {
    data: {
      kind: 'stripe.payment_failed',
      past_due_grace_ms: opts.pastDueGraceMs,
      ...invoiceLinks(invoice, 'amount_due'),
    },
    account_hint: invoiceHint(invoice),
  };
}

function paymentSucceeded(invoice: Json): Interpreted {
  return {
    data: {
      kind: 'stripe.payment_succeeded',
      ...invoiceLinks(invoice, 'amount_paid'),
    },
    account_hint: invoiceHint(invoice),
  };
}

interface HandlerEntry {
  /** The `object` value data.object must have. */
  object: 'checkout.session' | 'subscription' | 'invoice';
  handle: Handler;
}

const HANDLED: ReadonlyArray<readonly [Stripe.Event['type'], HandlerEntry]> = [
  ['checkout.session.completed', { object: 'checkout.session', handle: checkoutCompleted }],
  ['customer.subscription.created', { object: 'subscription', handle: subscriptionStarted }],
  ['customer.subscription.updated', { object: 'subscription', handle: subscriptionUpdated }],
  ['customer.subscription.deleted', { object: 'subscription', handle: subscriptionDeleted }],
  ['invoice.payment_failed', { object: 'invoice', handle: paymentFailed }],
  ['invoice.paid', { object: 'invoice', handle: paymentSucceeded }],
  ['invoice.payment_succeeded', { object: 'invoice', handle: paymentSucceeded }],
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
