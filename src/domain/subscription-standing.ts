// How one Stripe subscription stands (SPEC §3 rules 3, 7, 8, 10): its newest snapshot, corrected
// by newer evidence about its latest invoice, and since when its current dunning spell runs.
// Pure: the same object at the same instant always stands the same way.
import type { InvoiceEvidence, SubscriptionObject } from './types';

/** How one object stands, most permissive first; `none` is an object that counts as absent. */
export const STANDINGS = ['live', 'canceling', 'dunning', 'stopped', 'ended', 'none'] as const;
export type Standing = (typeof STANDINGS)[number];

export interface ObjectStanding {
  /** `stripe:sub_…` or `myasp:<user>`. */
  object: string;
  provider: 'stripe' | 'myasp';
  standing: Standing;
  /** A word for the gate and the audit trail: `subscription_active`, `payment_failed`, … */
  reason: string;
  /** The invoice whose evidence decided (`in_…`), when an invoice did. */
  invoice: string | null;
  /** The event that carried the deciding evidence. */
  event_id: string | null;
  cancel_at: string | null;
  grace_until: string | null;
  /** Orders objects of equal standing: the one first seen decides. */
  first_seen: string;
}

const ms = (iso: string): number => Date.parse(iso);

/** Stripe's lifecycle: equal seconds never move a subscription to an earlier stage (rule 8). */
const STAGE: Readonly<Record<string, number>> = {
  incomplete: 0,
  trialing: 1,
  active: 1,
  past_due: 1,
  unpaid: 1,
  paused: 1,
  canceled: 2,
  incomplete_expired: 2,
};
export const stageOf = (status: string | null): number =>
  status === null ? 0 : (STAGE[status] ?? 1);

/** Statuses after which a subscription id never changes again. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['canceled', 'incomplete_expired']);
const LIVE_STATUSES: ReadonlySet<string> = new Set(['active', 'trialing']);

/** Why a `paused` subscription is paused: the customer asked, or its trial ended without a card. */
const PAUSE_REQUESTED = 'pause_requested';
const PAUSED_AT_TRIAL_END = 'trial_end_without_payment_method';

export type SnapshotKind = 'live' | 'dunning' | 'other';

/** What a snapshot's status alone says, for the dunning spell (rule 10). */
export function snapshotKind(
  status: string | null,
  pausedReason: string | null | undefined,
): SnapshotKind {
  if (status === null) return 'other';
  if (LIVE_STATUSES.has(status)) return 'live';
  if (status === 'past_due' || status === 'unpaid') return 'dunning';
  if (status !== 'paused') return 'other';
  return pausedReason === PAUSE_REQUESTED || pausedReason === PAUSED_AT_TRIAL_END
    ? 'other'
    : 'dunning';
}

type Entry = readonly [string, InvoiceEvidence];

const NO_INVOICES: Readonly<Record<string, InvoiceEvidence>> = Object.freeze({});

/** The kept invoices; none in state written before invoices were kept per id. */
const invoicesOf = (sub: SubscriptionObject): Readonly<Record<string, InvoiceEvidence>> =>
  sub.invoices ?? NO_INVOICES;

/** a is newer than b: by the invoice's own `created`, equal seconds by arrival. */
function newerInvoice(a: InvoiceEvidence, b: InvoiceEvidence): boolean {
  const d = ms(a.created) - ms(b.created);
  return d > 0 || (d === 0 && a.seq > b.seq);
}

/**
 * Whether invoice `id` was the subscription's latest at `at`: no other invoice it knows, created
 * after it and by then, was still standing (not voided by then), and the snapshot of that time did
 * not name a newer one.
 */
function latestAt(sub: SubscriptionObject, id: string, inv: InvoiceEvidence, at: string): boolean {
  const invoices = invoicesOf(sub);
  for (const other of Object.keys(invoices)) {
    const o = invoices[other] as InvoiceEvidence;
    if (other === id || (o.state === 'void' && ms(o.at) <= ms(at))) continue;
    if (newerInvoice(o, inv) && ms(o.created) <= ms(at)) return false;
  }
  const named = sub.latest_invoice ?? null;
  const unknownNamed = named !== null && named !== id && invoices[named] === undefined;
  return !(
    unknownNamed &&
    sub.version !== null &&
    ms(inv.created) <= ms(sub.version) &&
    ms(sub.version) <= ms(at)
  );
}

/**
 * The subscription's latest invoice (rule 7): the newer of the snapshot's `latest_invoice` and
 * the newest invoice seen for it, voided ones dropping out. An entry with no evidence is one the
 * snapshot names and no event has described yet: it corrects nothing.
 */
export function latestInvoice(sub: SubscriptionObject): Entry | null {
  const invoices = invoicesOf(sub);
  let best: Entry | null = null;
  for (const id of Object.keys(invoices)) {
    const inv = invoices[id] as InvoiceEvidence;
    if (inv.state !== 'void' && (best === null || newerInvoice(inv, best[1]))) best = [id, inv];
  }
  const named = sub.latest_invoice ?? null;
  if (named === null || invoices[named] !== undefined || sub.version === null) return best;
  // The named invoice existed at the snapshot's time, so only one created after that is newer.
  return best !== null && ms(best[1].created) > ms(sub.version) ? best : null;
}

/** The invoice evidence is newer than the snapshot (rule 7), equal seconds as rule 8 says. */
function newerThanSnapshot(sub: SubscriptionObject, inv: InvoiceEvidence): boolean {
  if (sub.version === null) return true;
  const d = ms(inv.at) - ms(sub.version);
  if (d !== 0) return d > 0;
  // A paid invoice of the same second as an `incomplete` snapshot: Checkout, in any order.
  if (inv.state === 'paid' && sub.status === 'incomplete') return true;
  return inv.seq > sub.snapshot_seq;
}

function chargedBySendInvoice(sub: SubscriptionObject, inv: InvoiceEvidence): boolean {
  return (inv.collection_method ?? sub.collection_method) === 'send_invoice';
}

/** A failure of this invoice moves the subscription into dunning (rule 7). */
function failureCounts(sub: SubscriptionObject, inv: InvoiceEvidence): boolean {
  if (chargedBySendInvoice(sub, inv)) return false;
  if (inv.billing_reason === 'subscription_create') return false;
  return !(inv.billing_reason === 'subscription_update' && sub.pending_update);
}

export interface SubscriptionBase {
  standing: Standing;
  reason: string;
  event_id: string | null;
  invoice: string | null;
  /** false: dunning that never has grace (a trial ended without a payment method). */
  graceable: boolean;
}

function byInvoice(id: string, inv: InvoiceEvidence) {
  return { event_id: inv.event_id, invoice: id, graceable: true };
}

/** What newer evidence about the latest invoice makes of the subscription; null: nothing. */
function invoiceCorrection(sub: SubscriptionObject): SubscriptionBase | null {
  if (sub.status === 'paused' && sub.paused_reason === PAUSE_REQUESTED) return null;
  const latest = latestInvoice(sub);
  if (latest === null || !newerThanSnapshot(sub, latest[1])) return null;
  const [id, inv] = latest;
  if (inv.state === 'paid')
    return { standing: 'live', reason: 'invoice_paid', ...byInvoice(id, inv) };
  if (inv.state === 'uncollectible') {
    return { standing: 'live', reason: 'invoice_uncollectible', ...byInvoice(id, inv) };
  }
  if (inv.state !== 'failed') return null;
  // Paid against an invoice: live from creation, and a failure starts nothing.
  if (chargedBySendInvoice(sub, inv)) {
    return sub.status === null
      ? { standing: 'live', reason: 'send_invoice', ...byInvoice(id, inv) }
      : null;
  }
  if (inv.billing_reason === 'subscription_create' || sub.status === 'incomplete') {
    return { standing: 'none', reason: 'first_payment_failed', ...byInvoice(id, inv) };
  }
  if (!failureCounts(sub, inv)) return null;
  return { standing: 'dunning', reason: 'payment_failed', ...byInvoice(id, inv) };
}

function pausedBase(sub: SubscriptionObject, snapshot: Pick<SubscriptionBase, 'event_id'>) {
  const common = { ...snapshot, invoice: null };
  if (sub.paused_reason === PAUSE_REQUESTED) {
    return { standing: 'stopped', reason: 'pause_requested', ...common, graceable: true } as const;
  }
  if (sub.paused_reason === PAUSED_AT_TRIAL_END) {
    return {
      standing: 'dunning',
      reason: 'trial_ended_without_payment_method',
      ...common,
      graceable: false,
    } as const;
  }
  return {
    standing: 'dunning',
    reason: 'subscription_paused',
    ...common,
    graceable: true,
  } as const;
}

/** What the subscription says before its cancel time is considered. */
export function subscriptionBase(sub: SubscriptionObject): SubscriptionBase {
  const snapshot = { event_id: sub.event_id, invoice: null, graceable: true };
  if (sub.status === 'canceled') {
    return { standing: 'ended', reason: 'subscription_canceled', ...snapshot };
  }
  if (sub.status === 'incomplete_expired') {
    return { standing: 'none', reason: 'subscription_incomplete_expired', ...snapshot };
  }
  const corrected = invoiceCorrection(sub);
  if (corrected) return corrected;
  const status = sub.status ?? 'unknown';
  if (status === 'paused') return pausedBase(sub, snapshot);
  const kind = snapshotKind(sub.status, sub.paused_reason);
  if (kind === 'live') return { standing: 'live', reason: `subscription_${status}`, ...snapshot };
  if (kind === 'dunning') {
    return { standing: 'dunning', reason: `subscription_${status}`, ...snapshot };
  }
  return { standing: 'none', reason: `subscription_${status}`, ...snapshot };
}

/** The newest evidence of the subscription standing live: a snapshot, or its latest invoice paid. */
function liveUntil(sub: SubscriptionObject): number {
  let live = sub.live_at == null ? -Infinity : ms(sub.live_at);
  const invoices = invoicesOf(sub);
  for (const id of Object.keys(invoices)) {
    const inv = invoices[id] as InvoiceEvidence;
    const paid = inv.state === 'paid' || inv.state === 'uncollectible';
    if (paid && ms(inv.at) > live && latestAt(sub, id, inv, inv.at)) live = ms(inv.at);
  }
  return live;
}

/**
 * The current dunning spell (rule 10): it begins at the first evidence of dunning — a counted
 * payment failure of the then-latest invoice, or a `past_due`/`unpaid`/`paused` snapshot — after
 * the subscription last stood live, with the grace stamped on that evidence.
 */
export function dunningSpell(sub: SubscriptionObject): { since: string; grace_ms: number } | null {
  const after = liveUntil(sub);
  const marks: { at: string; grace_ms: number | null }[] = [];
  if (sub.dunning_from != null) marks.push(sub.dunning_from);
  if (sub.version !== null && snapshotKind(sub.status, sub.paused_reason) === 'dunning') {
    marks.push({ at: sub.version, grace_ms: sub.grace_ms ?? null });
  }
  const invoices = invoicesOf(sub);
  for (const id of Object.keys(invoices)) {
    const inv = invoices[id] as InvoiceEvidence;
    if (inv.failed_at === null || inv.state === 'void' || !failureCounts(sub, inv)) continue;
    if (latestAt(sub, id, inv, inv.failed_at))
      marks.push({ at: inv.failed_at, grace_ms: inv.grace_ms });
  }
  const spell = marks.filter((m) => ms(m.at) > after).sort((a, b) => ms(a.at) - ms(b.at));
  const first = spell[0];
  const grace = spell.find((m) => m.grace_ms !== null)?.grace_ms ?? null;
  return first === undefined || grace === null ? null : { since: first.at, grace_ms: grace };
}

/** A paid invoice dated at or after the cancel time: the subscription renewed, so it did not end. */
function effectiveCancelAt(sub: SubscriptionObject): string | null {
  if (sub.cancel_at === null) return null;
  const latest = latestInvoice(sub)?.[1];
  if (latest?.state === 'paid' && ms(latest.at) >= ms(sub.cancel_at)) return null;
  return sub.cancel_at;
}

function graceUntil(sub: SubscriptionObject, base: SubscriptionBase, at: string): string | null {
  if (base.standing !== 'dunning' || !base.graceable) return null;
  const spell = dunningSpell(sub);
  if (spell === null) return null;
  const until = new Date(ms(spell.since) + spell.grace_ms).toISOString();
  return ms(until) > ms(at) ? until : null;
}

export function subscriptionStanding(
  id: string,
  sub: SubscriptionObject,
  at: string,
): ObjectStanding {
  const base = subscriptionBase(sub);
  const cancelAt = effectiveCancelAt(sub);
  const common = {
    object: `stripe:${id}`,
    provider: 'stripe' as const,
    first_seen: sub.first_seen,
  };
  const ends = base.standing !== 'ended' && base.standing !== 'none' && cancelAt !== null;
  if (ends && ms(cancelAt) <= ms(at)) {
    return {
      ...common,
      standing: 'ended',
      reason: 'canceled_at_period_end',
      invoice: null,
      event_id: sub.event_id,
      cancel_at: cancelAt,
      grace_until: null,
    };
  }
  const canceling = base.standing === 'live' && cancelAt !== null;
  return {
    ...common,
    standing: canceling ? 'canceling' : base.standing,
    reason: canceling ? 'cancel_scheduled' : base.reason,
    invoice: canceling ? null : base.invoice,
    event_id: base.event_id,
    cancel_at: cancelAt,
    grace_until: graceUntil(sub, base, at),
  };
}
