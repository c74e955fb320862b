// What Stripe events say about a subscription object (SPEC §3 rules 1, 2, 7, 8): a snapshot of the
// subscription (created, updated, paused, resumed, deleted, reconciled) or what an invoice or a
// Checkout session says about one of its invoices, each recorded on the subscription it names, or
// stale against what that object already holds. How the object then stands is
// subscription-standing.ts's job. Pure.
import type { EvidenceHandler as Handler, EvidenceStep, Links } from './evidence-step';
import { keyedRecord, withKey } from './keyed-record';
import { FINAL_STATUSES, snapshotKind, stageOf } from './subscription-standing';
import type {
  AccountObjects,
  AuditAction,
  BillingEvent,
  DunningMark,
  EqualSecondConflict,
  InvoiceEvidence,
  InvoiceFacts,
  StripeCheckoutCompleted,
  StripeLinks,
  SubscriptionFacts,
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

/** Fills in what state written before per-invoice evidence lacks. */
function subscriptionOf(
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
  latest_invoice: string | null;
  pending_update: boolean;
  collection_method: string | null;
  paused_reason: string | null;
  grace_ms: number | null;
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

/** Where a dunning spell can begin or must end, as this snapshot says (rule 10). */
function markSpell(sub: SubscriptionObject, snap: Snapshot, at: string): SubscriptionObject {
  const kind = snapshotKind(snap.status, snap.paused_reason);
  if (FINAL_STATUSES.has(snap.status)) {
    // Final: nothing said about its invoices can matter any more, so none is kept.
    return { ...sub, invoices: keyedRecord<InvoiceEvidence>(), dunning_from: null };
  }
  if (kind === 'live') {
    const liveAt = sub.live_at === null || ms(at) > ms(sub.live_at) ? at : sub.live_at;
    const from = sub.dunning_from;
    return {
      ...sub,
      live_at: liveAt,
      dunning_from: from !== null && ms(from.at) <= ms(liveAt) ? null : from,
    };
  }
  if (kind !== 'dunning' || (sub.live_at !== null && ms(at) <= ms(sub.live_at))) return sub;
  const mark: DunningMark = { at, grace_ms: snap.grace_ms };
  const from = sub.dunning_from;
  return { ...sub, dunning_from: from === null || ms(at) < ms(from.at) ? mark : from };
}

/** Equal seconds never move a subscription back along its lifecycle; `canceled` is final (rule 8). */
function snapshotRefused(
  id: string,
  prev: SubscriptionObject | undefined,
  snap: Snapshot,
  event: BillingEvent,
): EvidenceStep | null {
  if (prev?.version == null) return null;
  const d = ms(event.occurred_at) - ms(prev.version);
  const object = `stripe:${id}`;
  if (d < 0) return { kind: 'stale', object, newest: prev.version };
  if (d === 0 && stageOf(snap.status) < stageOf(prev.status)) {
    return { kind: 'stale', object, newest: prev.version, reason: 'behind_in_lifecycle' };
  }
  const ended = prev.status !== null && FINAL_STATUSES.has(prev.status);
  if (ended && snap.status !== prev.status) return { kind: 'ignore', reason: 'subscription_ended' };
  return null;
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
  const refused = snapshotRefused(id, prev, snap, event);
  if (refused) return refused;
  const base = subscriptionOf(prev, event.occurred_at);
  const seq = base.seq + 1;
  const sub = markSpell(
    {
      ...base,
      ...snap,
      plan: d.plan ?? base.plan,
      amount: d.amount ?? base.amount,
      version: event.occurred_at,
      event_id: event.event_id,
      snapshot_seq: seq,
      seq,
    },
    snap,
    event.occurred_at,
  );
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
      ...(snap.pending_update ? { pending_update: true } : {}),
      ...(snap.paused_reason ? { paused_reason: snap.paused_reason } : {}),
      ...(conflict ? { equal_second_conflict: conflict } : {}),
    },
    links: stripeLinks(d),
    from_provider: true,
    ...(conflict ? { conflict } : {}),
  };
}

/** An invoice's place in its own lifecycle: equal seconds never move it back. */
const INVOICE_STAGE: Record<InvoiceEvidence['state'], number> = {
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
  const newest = new Set(
    [...ids]
      .sort((a, b) => {
        const x = all[a] as InvoiceEvidence;
        const y = all[b] as InvoiceEvidence;
        return ms(y.created) - ms(x.created) || y.seq - x.seq;
      })
      .slice(0, INVOICES_KEPT),
  );
  const kept = keyedRecord<InvoiceEvidence>();
  for (const key of ids) if (newest.has(key)) kept[key] = all[key] as InvoiceEvidence;
  return kept;
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
  if (known === undefined) return null;
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

const CHECKOUT_ACTIONS: Readonly<Record<string, AuditAction>> = {
  'checkout.session.completed': 'billing.checkout_completed',
  'checkout.session.async_payment_succeeded': 'billing.checkout_payment_succeeded',
  'checkout.session.async_payment_failed': 'billing.checkout_payment_failed',
};

/**
 * A Checkout session's payment is the subscription's first invoice: paid (or nothing to pay),
 * failed (an asynchronous payment that never came), or still awaited (konbini, bank transfer),
 * which only links the customer and the subscription.
 */
function checkoutSession(
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

export const subscriptionStarted: Handler<'stripe.subscription_started'> = (objects, d, event) => {
  const checkout = CHECKOUT_ACTIONS[d.stripe_type];
  if (d.subscription_status !== null || checkout === undefined) {
    return recordSnapshot(
      objects,
      d,
      describedSnapshot({ ...d, subscription_status: d.subscription_status ?? 'active' }),
      event,
      checkout ?? 'billing.subscription_created',
    );
  }
  return checkoutSession(objects, d, event, checkout);
};

/** What a subscription event or a fetch says of the subscription. */
type Described = SubscriptionFacts & {
  subscription_status: string;
  cancel_at?: string | null;
  past_due_grace_ms?: number | null;
};

/** The subscription as an update or a fetch describes it. */
function describedSnapshot(d: Described): Snapshot {
  return {
    status: d.subscription_status,
    cancel_at: d.cancel_at ?? null,
    cancel_at_period_end: d.cancel_at_period_end ?? false,
    trial_end: d.trial_end ?? null,
    latest_invoice: d.latest_invoice ?? null,
    pending_update: d.pending_update ?? false,
    collection_method: d.collection_method ?? null,
    paused_reason: d.subscription_status === 'paused' ? (d.paused_reason ?? null) : null,
    grace_ms: d.past_due_grace_ms ?? null,
  };
}

const UPDATE_ACTIONS: Readonly<Record<string, AuditAction>> = {
  'customer.subscription.paused': 'billing.subscription_paused',
  'customer.subscription.resumed': 'billing.subscription_resumed',
};

export const subscriptionUpdated: Handler<'stripe.subscription_updated'> = (objects, d, event) =>
  recordSnapshot(
    objects,
    d,
    describedSnapshot(d),
    event,
    UPDATE_ACTIONS[event.event_type] ?? 'billing.subscription_updated',
  );

export const subscriptionDeleted: Handler<'stripe.subscription_deleted'> = (objects, d, event) =>
  recordSnapshot(
    objects,
    d,
    describedSnapshot({ subscription_status: d.subscription_status ?? 'canceled' }),
    event,
    'billing.subscription_deleted',
  );

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

/** What the provider's API held at the fetch time: a full subscription snapshot (reconciliation). */
export const subscriptionReconciled: Handler<'reconcile.subscription'> = (objects, d, event) => {
  const step = recordSnapshot(objects, d, describedSnapshot(d), event, 'billing.reconciled');
  if (step.kind !== 'record') return step;
  return { ...step, details: { ...step.details, provider: 'stripe', differences: d.differences } };
};
