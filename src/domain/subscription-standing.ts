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

/** One kept invoice, its times parsed once per derivation. */
interface Row {
  id: string;
  inv: InvoiceEvidence;
  created: number;
  at: number;
}

/** A subscription as one derivation reads it, with its kept invoices. */
interface Known {
  sub: SubscriptionObject;
  rows: Row[];
  version: number | null;
}

function known(sub: SubscriptionObject): Known {
  const invoices = sub.invoices;
  const rows: Row[] = [];
  for (const id of Object.keys(invoices)) {
    const inv = invoices[id] as InvoiceEvidence;
    rows.push({ id, inv, created: ms(inv.created), at: ms(inv.at) });
  }
  return { sub, rows, version: sub.version === null ? null : ms(sub.version) };
}

/** a is newer than b: by the invoice's own `created`, equal seconds by arrival. */
function newerInvoice(a: Row, b: Row): boolean {
  return a.created > b.created || (a.created === b.created && a.inv.seq > b.inv.seq);
}

/** The snapshot names a latest invoice the account has no record of (state written before). */
function unknownNamed(k: Known, except: string | null): boolean {
  const named = k.sub.latest_invoice;
  return named !== null && named !== except && !k.rows.some((r) => r.id === named);
}

/**
 * Whether invoice `row` was the subscription's latest at `at`: no other invoice it knows, created
 * after it and by then, was still standing (not voided by then), and the snapshot of that time did
 * not name a newer one.
 */
function latestAt(k: Known, row: Row, at: number): boolean {
  for (const o of k.rows) {
    if (o === row || (o.inv.state === 'void' && o.at <= at)) continue;
    if (newerInvoice(o, row) && o.created <= at) return false;
  }
  const v = k.version;
  return !(unknownNamed(k, row.id) && v !== null && row.created <= v && v <= at);
}

/**
 * The subscription's latest invoice (rule 7): the newest invoice seen for it or named by its
 * snapshot, voided ones dropping out. One only named (no event yet) corrects nothing.
 */
function latestInvoice(k: Known): Row | null {
  let best: Row | null = null;
  for (const r of k.rows) {
    if (r.inv.state !== 'void' && (best === null || newerInvoice(r, best))) best = r;
  }
  if (k.version === null || !unknownNamed(k, null)) return best;
  // The named invoice existed at the snapshot's time, so only one created after that is newer.
  return best !== null && best.created > k.version ? best : null;
}

/** The invoice evidence is newer than the snapshot (rule 7), equal seconds as rule 8 says. */
function newerThanSnapshot(k: Known, row: Row): boolean {
  if (k.version === null) return true;
  if (row.at !== k.version) return row.at > k.version;
  // A paid invoice of the same second as an `incomplete` snapshot: Checkout, in any order.
  if (row.inv.state === 'paid' && k.sub.status === 'incomplete') return true;
  return row.inv.seq > k.sub.snapshot_seq;
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

interface SubscriptionBase {
  standing: Standing;
  reason: string;
  event_id: string | null;
  invoice: string | null;
  /** false: dunning that never has grace (a trial ended without a payment method). */
  graceable: boolean;
}

function byInvoice(row: Row) {
  return { event_id: row.inv.event_id, invoice: row.id, graceable: true };
}

/** What newer evidence about the latest invoice makes of the subscription; null: nothing. */
function invoiceCorrection(k: Known, latest: Row | null): SubscriptionBase | null {
  const sub = k.sub;
  if (sub.status === 'paused' && sub.paused_reason === PAUSE_REQUESTED) return null;
  if (latest === null || !newerThanSnapshot(k, latest)) return null;
  const inv = latest.inv;
  if (inv.state === 'paid')
    return { standing: 'live', reason: 'invoice_paid', ...byInvoice(latest) };
  if (inv.state === 'uncollectible') {
    return { standing: 'live', reason: 'invoice_uncollectible', ...byInvoice(latest) };
  }
  if (inv.state !== 'failed') return null;
  // Paid against an invoice: live from creation, and a failure starts nothing.
  if (chargedBySendInvoice(sub, inv)) {
    return sub.status === null
      ? { standing: 'live', reason: 'send_invoice', ...byInvoice(latest) }
      : null;
  }
  if (inv.billing_reason === 'subscription_create' || sub.status === 'incomplete') {
    return { standing: 'none', reason: 'first_payment_failed', ...byInvoice(latest) };
  }
  if (!failureCounts(sub, inv)) return null;
  return { standing: 'dunning', reason: 'payment_failed', ...byInvoice(latest) };
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
function subscriptionBase(k: Known, latest: Row | null): SubscriptionBase {
  const sub = k.sub;
  const snapshot = { event_id: sub.event_id, invoice: null, graceable: true };
  if (sub.status === 'canceled') {
    return { standing: 'ended', reason: 'subscription_canceled', ...snapshot };
  }
  if (sub.status === 'incomplete_expired') {
    return { standing: 'none', reason: 'subscription_incomplete_expired', ...snapshot };
  }
  const corrected = invoiceCorrection(k, latest);
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
function liveUntil(k: Known): number {
  let live = k.sub.live_at === null ? -Infinity : ms(k.sub.live_at);
  for (const r of k.rows) {
    const paid = r.inv.state === 'paid' || r.inv.state === 'uncollectible';
    if (paid && r.at > live && latestAt(k, r, r.at)) live = r.at;
  }
  return live;
}

/**
 * The start of the current dunning spell (rule 10): the first evidence of dunning — a counted
 * payment failure of the then-latest invoice, or a `past_due`/`unpaid`/`paused` snapshot — after
 * the subscription last stood live, with the grace stamped on that evidence.
 */
function dunningSpell(k: Known): { since: number; grace_ms: number } | null {
  const sub = k.sub;
  const after = liveUntil(k);
  const marks: { at: number; grace_ms: number | null }[] = [];
  if (sub.dunning_from != null) {
    marks.push({ at: ms(sub.dunning_from.at), grace_ms: sub.dunning_from.grace_ms });
  }
  if (k.version !== null && snapshotKind(sub.status, sub.paused_reason) === 'dunning') {
    marks.push({ at: k.version, grace_ms: sub.grace_ms ?? null });
  }
  for (const r of k.rows) {
    const inv = r.inv;
    if (inv.failed_at === null || inv.state === 'void' || !failureCounts(sub, inv)) continue;
    const failedAt = ms(inv.failed_at);
    if (latestAt(k, r, failedAt)) marks.push({ at: failedAt, grace_ms: inv.grace_ms });
  }
  const spell = marks.filter((m) => m.at > after).sort((a, b) => a.at - b.at);
  const first = spell[0];
  const grace = spell.find((m) => m.grace_ms !== null)?.grace_ms ?? null;
  return first === undefined || grace === null ? null : { since: first.at, grace_ms: grace };
}

/** A paid invoice dated at or after the cancel time: the subscription renewed, so it did not end. */
function effectiveCancelAt(sub: SubscriptionObject, latest: Row | null): string | null {
  if (sub.cancel_at === null) return null;
  if (latest?.inv.state === 'paid' && latest.at >= ms(sub.cancel_at)) return null;
  return sub.cancel_at;
}

function graceUntil(k: Known, base: SubscriptionBase, at: string): string | null {
  if (base.standing !== 'dunning' || !base.graceable) return null;
  const spell = dunningSpell(k);
  if (spell === null) return null;
  const until = spell.since + spell.grace_ms;
  return until > ms(at) ? new Date(until).toISOString() : null;
}

export function subscriptionStanding(
  id: string,
  sub: SubscriptionObject,
  at: string,
): ObjectStanding {
  const k = known(sub);
  const latest = latestInvoice(k);
  const base = subscriptionBase(k, latest);
  const cancelAt = effectiveCancelAt(sub, latest);
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
    grace_until: graceUntil(k, base, at),
  };
}
