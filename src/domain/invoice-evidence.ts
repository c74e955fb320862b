// What invoices and Checkout sessions say about a subscription's invoices (SPEC §3 rules 7–8):
// paid, failed, voided or written off, recorded per invoice id on the subscription it names, or
// stale against what that invoice already holds. Bounded: a subscription keeps its newest few.
// Pure.
import type { EvidenceHandler as Handler, EvidenceStep } from './evidence-step';
import { keyedRecord, withKey } from './keyed-record';
import { stripeLinks, subscriptionOf, withSubscription } from './subscription-object';
import { FINAL_STATUSES } from './subscription-standing';
import type {
  AccountObjects,
  AuditAction,
  BillingEvent,
  InvoiceEvidence,
  InvoiceFacts,
  StripeCheckoutCompleted,
  StripeLinks,
  SubscriptionObject,
} from './types';

const ms = (iso: string): number => Date.parse(iso);

/**
 * Invoices kept per subscription. The rules need the latest invoice, the few before it that
 * become the latest when it is voided, and the failures and payments that mark where the current
 * dunning spell began: a spell of more unpaid renewals than this ends in Stripe (canceled or
 * `unpaid`, which stops invoicing) long before. The oldest by `created` go first.
 */
export const INVOICES_KEPT = 6;

/** An invoice's place in its own lifecycle: equal seconds never move it back. */
const INVOICE_STAGE: Record<InvoiceEvidence['state'], number> = {
  named: -1,
  failed: 0,
  uncollectible: 1,
  paid: 2,
  void: 2,
};

/** The kept invoices with `inv` added, the oldest dropped beyond INVOICES_KEPT. */
function keptInvoices(
  invoices: Readonly<Record<string, InvoiceEvidence>>,
  id: string,
  inv: InvoiceEvidence,
): Record<string, InvoiceEvidence> {
  const all = withKey(invoices, id, inv);
  const ids = Object.keys(all);
  if (ids.length <= INVOICES_KEPT) return all;
  // One comes at a time, so the oldest (by `created`, then arrival) few go; each parsed once.
  const age = ids.map((key) => {
    const kept = all[key] as InvoiceEvidence;
    return { key, created: ms(kept.created), seq: kept.seq };
  });
  age.sort((a, b) => b.created - a.created || b.seq - a.seq);
  const dropped = new Set(age.slice(INVOICES_KEPT).map((a) => a.key));
  const kept = keyedRecord<InvoiceEvidence>();
  for (const key of ids) if (!dropped.has(key)) kept[key] = all[key] as InvoiceEvidence;
  return kept;
}

/**
 * The subscription with the invoice its snapshot names as latest, kept as `named` until an event
 * describes it: an older invoice paid after it existed was not the latest then (rule 10).
 */
export function withNamedInvoice(
  sub: SubscriptionObject,
  id: string | null,
  at: string,
): SubscriptionObject {
  if (id === null || sub.invoices[id] !== undefined) return sub;
  const named: InvoiceEvidence = {
    state: 'named',
    created: at,
    at,
    event_id: sub.event_id ?? '',
    billing_reason: null,
    collection_method: null,
    failed_at: null,
    grace_ms: null,
    seq: sub.seq,
  };
  return { ...sub, invoices: keptInvoices(sub.invoices, id, named) };
}

interface InvoiceSaid {
  state: InvoiceEvidence['state'];
  /** The invoice id; events stored without one stand for an invoice of their own. */
  invoice_id: string;
  /** The invoice's own `created` when the event says it; a Checkout session's as a bound. */
  created: string | null;
  /** Whether `created` is the invoice's own (an invoice event) or only a bound (a session). */
  exact: boolean;
  facts: InvoiceFacts;
  grace_ms: number | null;
}

function invoiceRefused(
  id: string,
  prev: SubscriptionObject | undefined,
  said: InvoiceSaid,
  event: BillingEvent,
): EvidenceStep | null {
  if (prev?.status != null && FINAL_STATUSES.has(prev.status)) {
    return { kind: 'ignore', reason: 'subscription_ended' };
  }
  const known = prev?.invoices?.[said.invoice_id];
  if (known === undefined || known.state === 'named') return null;
  const d = ms(event.occurred_at) - ms(known.at);
  const object = `stripe:${id}#${said.invoice_id}`;
  if (d < 0) return { kind: 'stale', object, newest: known.at };
  if (d === 0 && INVOICE_STAGE[said.state] < INVOICE_STAGE[known.state]) {
    return { kind: 'stale', object, newest: known.at, reason: 'behind_in_lifecycle' };
  }
  return null;
}

function invoiceEvidence(
  known: InvoiceEvidence | undefined,
  said: InvoiceSaid,
  event: BillingEvent,
  seq: number,
): InvoiceEvidence {
  const at = event.occurred_at;
  const failedNow =
    said.state === 'failed' && (known?.failed_at == null || ms(at) < ms(known.failed_at));
  const created = said.exact
    ? (said.created ?? known?.created ?? at)
    : (known?.created ?? said.created ?? at);
  return {
    state: said.state,
    created,
    at,
    event_id: event.event_id,
    billing_reason: said.facts.billing_reason ?? known?.billing_reason ?? null,
    collection_method: said.facts.collection_method ?? known?.collection_method ?? null,
    failed_at: failedNow ? at : (known?.failed_at ?? null),
    grace_ms: failedNow ? said.grace_ms : (known?.grace_ms ?? null),
    seq,
  };
}

function recordInvoice(
  objects: AccountObjects,
  d: StripeLinks,
  said: InvoiceSaid,
  event: BillingEvent,
  action: AuditAction,
): EvidenceStep {
  const id = d.subscription_id;
  // A one-off invoice belongs to no subscription: it says nothing about the account's standing.
  if (id === null) return { kind: 'ignore', reason: 'invoice_without_subscription' };
  const prev = objects.subscriptions[id];
  const refused = invoiceRefused(id, prev, said, event);
  if (refused) return refused;
  const base = subscriptionOf(prev, event.occurred_at);
  const seq = base.seq + 1;
  const inv = invoiceEvidence(base.invoices[said.invoice_id], said, event, seq);
  const newest = base.invoice_version;
  // Invoices carry tax and prorations: they fill in the price only where no snapshot did.
  const sub: SubscriptionObject = {
    ...base,
    plan: base.plan ?? d.plan,
    amount: base.amount ?? d.amount,
    invoices: keptInvoices(base.invoices, said.invoice_id, inv),
    invoice_version: newest === null || ms(inv.at) > ms(newest) ? inv.at : newest,
    seq,
  };
  return {
    kind: 'record',
    objects: withSubscription(objects, id, sub),
    action,
    details: {
      subscription_id: id,
      invoice: said.state,
      invoice_id: said.invoice_id,
      ...(inv.billing_reason ? { billing_reason: inv.billing_reason } : {}),
    },
    links: stripeLinks(d),
    from_provider: true,
  };
}

/** What an invoice event says; events stored before invoice ids were kept name their own. */
function invoiceSaid(
  d: InvoiceFacts,
  state: InvoiceEvidence['state'],
  event: BillingEvent,
  graceMs: number | null,
): InvoiceSaid {
  return {
    state,
    invoice_id: d.invoice_id ?? `event:${event.event_id}`,
    created: d.invoice_created ?? null,
    exact: true,
    facts: d,
    grace_ms: graceMs,
  };
}

export const CHECKOUT_ACTIONS: Readonly<Record<string, AuditAction>> = {
  'checkout.session.completed': 'billing.checkout_completed',
  'checkout.session.async_payment_succeeded': 'billing.checkout_payment_succeeded',
  'checkout.session.async_payment_failed': 'billing.checkout_payment_failed',
};

/**
 * A Checkout session's payment is the subscription's first invoice: paid (or nothing to pay),
 * failed (an asynchronous payment that never came), or still awaited (konbini, bank transfer),
 * which only links the customer and the subscription.
 */
export function checkoutSession(
  objects: AccountObjects,
  d: StripeCheckoutCompleted,
  event: BillingEvent,
  action: AuditAction,
): EvidenceStep {
  const id = d.subscription_id;
  if (id === null) return { kind: 'ignore', reason: 'no_subscription' };
  const failed = d.stripe_type === 'checkout.session.async_payment_failed';
  const paid = d.payment_status === 'paid' || d.payment_status === 'no_payment_required';
  if (!failed && !paid) {
    const prev = objects.subscriptions[id];
    return {
      kind: 'record',
      objects: prev
        ? objects
        : withSubscription(objects, id, subscriptionOf(undefined, event.occurred_at)),
      action,
      details: { subscription_id: id, awaiting_payment: true },
      links: stripeLinks(d),
      from_provider: false,
    };
  }
  const said: InvoiceSaid = {
    state: failed ? 'failed' : 'paid',
    invoice_id: d.invoice_id ?? `event:${event.event_id}`,
    created: d.session_created ?? null,
    exact: false,
    facts: { billing_reason: 'subscription_create' },
    grace_ms: null,
  };
  return recordInvoice(objects, d, said, event, action);
}

export const paymentFailed: Handler<'stripe.payment_failed'> = (objects, d, event) =>
  recordInvoice(
    objects,
    d,
    invoiceSaid(d, 'failed', event, d.past_due_grace_ms),
    event,
    'billing.payment_failed',
  );

export const paymentSucceeded: Handler<'stripe.payment_succeeded'> = (objects, d, event) =>
  recordInvoice(
    objects,
    d,
    invoiceSaid(d, 'paid', event, null),
    event,
    event.event_type === 'invoice.paid' ? 'billing.invoice_paid' : 'billing.payment_succeeded',
  );

/** Voided (it drops out of "latest") or marked uncollectible (it ends dunning). */
export const invoiceClosed: Handler<'stripe.invoice_closed'> = (objects, d, event) =>
  recordInvoice(
    objects,
    d,
    invoiceSaid(d, d.closed_as, event, null),
    event,
    d.closed_as === 'void' ? 'billing.invoice_voided' : 'billing.invoice_marked_uncollectible',
  );
