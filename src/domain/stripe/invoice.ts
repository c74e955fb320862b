// Stripe invoices: which subscription, price and amount an invoice (either API shape) names,
// whose account it is, and the handlers of the invoice payment events. Pure.
import type Stripe from 'stripe';

import type { AccountHint, InvoiceFacts, StripeLinks } from '../types';
import type { Interpreted, NormalizeStripeOptions } from './interpreted';
import {
  accountIdIn,
  field,
  firstOf,
  idOf,
  isoFromSeconds,
  type Json,
  listData,
  record,
  text,
  whole,
} from './read-json';

/** Fields that exist only in payloads of API versions before 2025-03-31.basil. */
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

/** Which invoice, when it was made, why, and how it is paid (SPEC §3 rule 7). */
function invoiceFacts(invoice: Json): Required<InvoiceFacts> {
  const created = whole(field<Stripe.Invoice>(invoice, 'created'));
  return {
    invoice_id: text(field<Stripe.Invoice>(invoice, 'id')),
    invoice_created: created === null || created < 0 ? null : isoFromSeconds(created),
    billing_reason: text(field<Stripe.Invoice>(invoice, 'billing_reason')),
    collection_method: text(field<Stripe.Invoice>(invoice, 'collection_method')),
  };
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
// Handlers

export function paymentFailed(
  invoice: Json,
  _type: string,
  opts: NormalizeStripeOptions,
): Interpreted {
  return {
    data: {
      kind: 'stripe.payment_failed',
      past_due_grace_ms: opts.pastDueGraceMs,
      ...invoiceFacts(invoice),
      ...invoiceLinks(invoice, 'amount_due'),
    },
    account_hint: invoiceHint(invoice),
  };
}

export function paymentSucceeded(invoice: Json): Interpreted {
  return {
    data: {
      kind: 'stripe.payment_succeeded',
      ...invoiceFacts(invoice),
      ...invoiceLinks(invoice, 'amount_paid'),
    },
    account_hint: invoiceHint(invoice),
  };
}

/** invoice.voided and invoice.marked_uncollectible. */
export function invoiceClosed(invoice: Json, type: string): Interpreted {
  return {
    data: {
      kind: 'stripe.invoice_closed',
      closed_as: type === 'invoice.voided' ? 'void' : 'uncollectible',
      ...invoiceFacts(invoice),
      ...invoiceLinks(invoice, 'amount_due'),
    },
    account_hint: invoiceHint(invoice),
  };
}
