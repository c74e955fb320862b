// The account status derived from what each provider object says (SPEC §3, "the rule"). Pure:
// the same objects at the same instant always give the same status, whatever order the events
// that described them arrived in.
import {
  type ObjectStanding,
  type Standing,
  STANDINGS,
  subscriptionStanding,
} from './subscription-standing';
import type { AccountObjects, MembershipObject, Status } from './types';

export { type ObjectStanding, STANDINGS, type Standing, subscriptionStanding };

export interface Derived {
  status: Status;
  scheduled_cancel_at: string | null;
  grace_until: string | null;
  /** Registration trial, or a trialing subscription's trial end if later. */
  trial_end: string | null;
  status_object: string | null;
  status_reason: string;
  /** The object standings ranked, the deciding one first (objects that count as absent last). */
  ranked: ObjectStanding[];
}

const ms = (iso: string): number => Date.parse(iso);
const latest = (a: string | null, b: string | null): string | null =>
  a === null ? b : b === null ? a : ms(a) >= ms(b) ? a : b;

const MEMBERSHIP: Record<MembershipObject['code'], { standing: Standing; reason: string }> = {
  '1': { standing: 'live', reason: 'myasp_registered' },
  '2': { standing: 'stopped', reason: 'myasp_stopped' },
  '3': { standing: 'live', reason: 'myasp_revived' },
  '4': { standing: 'ended', reason: 'myasp_cancelled' },
};

function membershipStanding(m: MembershipObject): ObjectStanding {
  return {
    object: `myasp:${m.user_id}`,
    provider: 'myasp',
    ...MEMBERSHIP[m.code],
    invoice: null,
    event_id: m.event_id,
    cancel_at: null,
    grace_until: null,
    first_seen: m.first_seen,
  };
}

function rank(a: ObjectStanding, b: ObjectStanding): number {
  const byStanding = STANDINGS.indexOf(a.standing) - STANDINGS.indexOf(b.standing);
  if (byStanding !== 0) return byStanding;
  const bySeen = ms(a.first_seen) - ms(b.first_seen);
  if (bySeen !== 0) return bySeen;
  return a.object < b.object ? -1 : a.object > b.object ? 1 : 0;
}

/** Registration trial, or a trialing subscription's own trial end if that is later. */
export function effectiveTrialEnd(objects: AccountObjects): string | null {
  let end = objects.registered_trial_end;
  for (const sub of Object.values(objects.subscriptions)) {
    if (sub.status === 'trialing') end = latest(end, sub.trial_end);
  }
  return end;
}

const STATUS_OF: Record<Exclude<Standing, 'none'>, Status> = {
  live: 'active',
  canceling: 'canceling',
  dunning: 'past_due',
  stopped: 'stopped',
  ended: 'canceled',
};

/** Statuses that only exist in a trial: a correction to one ends with the trial (rule 6). */
const TRIAL_STATUSES: ReadonlySet<Status> = new Set<Status>(['free', 'early_payment']);

function manualStatus(objects: AccountObjects, at: string): Derived | null {
  const m = objects.manual;
  if (m === null) return null;
  const trialEnd = effectiveTrialEnd(objects);
  if (TRIAL_STATUSES.has(m.status) && (trialEnd === null || ms(at) >= ms(trialEnd))) return null;
  const ended = m.status === 'canceling' && m.scheduled_cancel_at !== null;
  const over = ended && ms(m.scheduled_cancel_at as string) <= ms(at);
  return {
    status: over ? 'canceled' : m.status,
    scheduled_cancel_at: m.status === 'canceling' && !over ? m.scheduled_cancel_at : null,
    grace_until: null,
    trial_end: trialEnd,
    status_object: 'manual',
    status_reason: over ? 'manual_cancel_time_passed' : 'manual_correction',
    ranked: rankObjects(objects, at),
  };
}

/**
 * Why the deciding object decided, for the gate and the audit trail: its reason, and the invoice
 * when an invoice decided (`payment_failed:in_…`). Ids we made up for invoices of events stored
 * without one are not named.
 */
export function reasonOf(o: ObjectStanding): string {
  return o.invoice !== null && o.invoice.startsWith('in_') ? `${o.reason}:${o.invoice}` : o.reason;
}

export function rankObjects(objects: AccountObjects, at: string): ObjectStanding[] {
  const all = Object.entries(objects.subscriptions).map(([id, sub]) =>
    subscriptionStanding(id, sub, at),
  );
  if (objects.membership) all.push(membershipStanding(objects.membership));
  return all.sort(rank);
}

/** The account's status as of `at`, from every object it has seen (SPEC §3 rule 3). */
export function deriveStatus(objects: AccountObjects, at: string): Derived {
  const manual = manualStatus(objects, at);
  if (manual) return manual;
  const ranked = rankObjects(objects, at);
  const trialEnd = effectiveTrialEnd(objects);
  const inTrial = trialEnd !== null && ms(at) < ms(trialEnd);
  const best = ranked[0];
  if (best === undefined || best.standing === 'none') {
    return {
      status: inTrial ? 'free' : 'past_due',
      scheduled_cancel_at: null,
      grace_until: null,
      trial_end: trialEnd,
      status_object: 'trial',
      status_reason: inTrial ? 'in_trial' : trialEnd === null ? 'no_trial' : 'trial_over',
      ranked,
    };
  }
  const same = ranked.filter((o) => o.standing === best.standing);
  const status = best.standing === 'live' && inTrial ? 'early_payment' : STATUS_OF[best.standing];
  return {
    status,
    scheduled_cancel_at:
      best.standing === 'canceling'
        ? same.reduce<string | null>((acc, o) => latest(acc, o.cancel_at), null)
        : null,
    grace_until:
      best.standing === 'dunning'
        ? same.reduce<string | null>((acc, o) => latest(acc, o.grace_until), null)
        : null,
    trial_end: trialEnd,
    status_object: best.object,
    status_reason: reasonOf(best),
    ranked,
  };
}

export type DeadlineKind = 'trial_end' | 'cancel_at_period_end' | 'grace_end';

/**
 * The next instant after `at` at which the derivation could change with no new evidence: the
 * trial end, a subscription's cancel time, a grace end, an operator's scheduled cancel. The
 * workflow fires a timer there, so the account's evidence clock never lags behind a deadline.
 */
export function nextDeadline(
  objects: AccountObjects,
  at: string,
): { timer: DeadlineKind; due_at: string } | null {
  const after = (iso: string | null): iso is string => iso !== null && ms(iso) > ms(at);
  const found: { timer: DeadlineKind; due_at: string }[] = [];
  const trialEnd = effectiveTrialEnd(objects);
  if (after(trialEnd)) found.push({ timer: 'trial_end', due_at: trialEnd });
  for (const o of rankObjects(objects, at)) {
    if (o.standing === 'ended' || o.standing === 'none') continue;
    if (after(o.cancel_at)) found.push({ timer: 'cancel_at_period_end', due_at: o.cancel_at });
    if (after(o.grace_until)) found.push({ timer: 'grace_end', due_at: o.grace_until });
  }
  const manualCancel = objects.manual?.scheduled_cancel_at ?? null;
  if (after(manualCancel)) found.push({ timer: 'cancel_at_period_end', due_at: manualCancel });
  found.sort((a, b) => ms(a.due_at) - ms(b.due_at));
  return found[0] ?? null;
}
