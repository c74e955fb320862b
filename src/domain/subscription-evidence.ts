// What Stripe events say about a subscription object (SPEC §3 rules 1, 2, 8): a snapshot of the
// subscription (created, updated, paused, resumed, deleted, reconciled), recorded on the
// subscription it names, or stale against what that object already holds. What invoices and
// Checkout sessions say is invoice-evidence.ts's; how the object then stands is
// subscription-standing.ts's. Pure.
import type { EvidenceHandler as Handler, EvidenceStep } from './evidence-step';
import { CHECKOUT_ACTIONS, checkoutSession, withNamedInvoice } from './invoice-evidence';
import { keyedRecord } from './keyed-record';
import { stripeLinks, subscriptionOf, withSubscription } from './subscription-object';
import { FINAL_STATUSES, snapshotKind, stageOf } from './subscription-standing';
import type {
  AccountObjects,
  AuditAction,
  BillingEvent,
  DunningMark,
  EqualSecondConflict,
  InvoiceEvidence,
  StripeLinks,
  SubscriptionFacts,
  SubscriptionObject,
} from './types';

const ms = (iso: string): number => Date.parse(iso);

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
  const described: SubscriptionObject = {
    ...base,
    ...snap,
    plan: d.plan ?? base.plan,
    amount: d.amount ?? base.amount,
    version: event.occurred_at,
    event_id: event.event_id,
    snapshot_seq: seq,
    seq,
  };
  const sub = markSpell(
    withNamedInvoice(described, snap.latest_invoice, event.occurred_at),
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

/** What the provider's API held at the fetch time: a full subscription snapshot (reconciliation). */
export const subscriptionReconciled: Handler<'reconcile.subscription'> = (objects, d, event) => {
  const step = recordSnapshot(objects, d, describedSnapshot(d), event, 'billing.reconciled');
  if (step.kind !== 'record') return step;
  return { ...step, details: { ...step.details, provider: 'stripe', differences: d.differences } };
};
