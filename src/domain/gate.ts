// The entitlement gate (SPEC §2): which actions an account may take now. Pure.
import type { NotFoldedReason } from './fold';
import type { Status, TimerKind } from './types';

export const CONFIRM_ALLOWED: ReadonlySet<Status> = new Set<Status>([
  'free',
  'early_payment',
  'active',
  'canceling',
]);

/** The account facts the gate needs, read from the projection. */
export interface GateAccount {
  status: Status;
  status_since: string | null;
  /** The provider's id of the event that set the status (e.g. `evt_123`), for provenance. */
  status_event_ref: string | null;
  /** billing_events.id of that event; null for a passed deadline whose timer has not fired. */
  status_event_id?: string | null;
  grace_until: string | null;
  /** The object that decided the status (`stripe:sub_123`, `myasp:42`, `manual`, `trial`). */
  status_object?: string | null;
  /** Why, in a word (`subscription_active`, `payment_failed`, `trial_over`, …). */
  status_reason?: string | null;
  /**
   * The status comes from what the workflow has not applied yet (SPEC §6): a stored event folded
   * by the read, or a deadline passed whose timer has not fired.
   */
  status_pending?: 'event' | 'deadline' | null;
}

/**
 * How a read (the gate, GET /v1/accounts/:id) was folded, as its answer says (SPEC §6 "Read your
 * writes"): it answers as if the account's workflow had applied every acknowledged event.
 */
export interface ReadFoldSummary {
  /** Stored events the account's workflow has not applied yet, included in this answer. */
  pending_events_folded: number;
  /** Deadlines passed whose timers have not fired yet, honoured in this answer, oldest first. */
  deadlines_passed: { timer: TimerKind; due_at: string }[];
  /**
   * The first pending event this answer could not include, or null. It and every later pending
   * event are left out: the answer reflects the events before it.
   */
  pending_event_not_folded: {
    event_id: string;
    /** The provider's id (`evt_…`). */
    event: string;
    event_type: string;
    reason: NotFoldedReason | 'too_many_pending';
  } | null;
  /** billing_events.id of the newest event the answer is based on (applied or folded). */
  as_of_event_id: string | null;
}

export const NOTHING_FOLDED: Omit<ReadFoldSummary, 'as_of_event_id'> = {
  pending_events_folded: 0,
  deadlines_passed: [],
  pending_event_not_folded: null,
};

export interface GateOverride {
  id: string;
  /** null: every account. */
  account_id: string | null;
  actions: string[];
  reason: string;
  expires_at: string;
}

export interface GateDecision extends ReadFoldSummary {
  allowed: boolean;
  action: string;
  status: Status | null;
  /** Stable, machine-readable: `not_gated`, `status:<s>`, `grace:<until>`, `override:<id>`, `no_billing_account`. */
  reason: string;
  /** A sentence for people: where the answer comes from. */
  message: string;
  provenance: {
    status: Status;
    since: string | null;
    event: string | null;
    /** billing_events.id of the event that set the status (null: a deadline not recorded yet). */
    event_id: string | null;
    grace_until: string | null;
    object: string | null;
    reason: string | null;
    /** The deciding event or deadline is not applied by the workflow yet (folded by this read). */
    pending: boolean;
    /** The invoice that decided (`in_…`), when an invoice did. */
    invoice: string | null;
  } | null;
}

export interface GateInput {
  accountId: string;
  action: string;
  account: GateAccount | null;
  gatedActions: readonly string[];
  overrides: readonly GateOverride[];
  now: Date;
  /** How the account was read; absent: from the projection alone. */
  read?: ReadFoldSummary;
}

/** Actions that are never gated, whatever the configuration says (SPEC §2). */
export const NEVER_GATED: ReadonlySet<string> = new Set(['propose', 'vote']);

/** Gate actions are compared case-insensitively (SPEC §3): `Confirm` is `confirm`. */
export function normalizeAction(action: string): string {
  return action.trim().toLowerCase();
}

export function isGated(action: string, gatedActions: readonly string[]): boolean {
  const a = normalizeAction(action);
  return !NEVER_GATED.has(a) && gatedActions.some((g) => normalizeAction(g) === a);
}

const REASON_WORDS: Record<string, string> = {
  payment_failed: 'payment failed',
  invoice_paid: 'invoice paid',
  invoice_uncollectible: 'invoice marked uncollectible',
  first_payment_failed: 'first payment failed',
  pause_requested: "paused at the customer's request",
  trial_ended_without_payment_method: 'paused: trial ended without a payment method',
  cancel_scheduled: 'cancel scheduled',
  canceled_at_period_end: 'canceled at period end',
  subscription_canceled: 'subscription canceled',
  trial_over: 'trial over',
  in_trial: 'in trial',
  no_trial: 'no trial and no subscription',
  manual_correction: 'manual correction',
  myasp_registered: 'status 1 (registered)',
  myasp_stopped: 'status 2 (stopped)',
  myasp_revived: 'status 3 (revived)',
  myasp_cancelled: 'status 4 (cancelled)',
};

/** The deciding evidence in brackets: the provider's event id, and whether it is applied yet. */
function evidenceText(a: GateAccount): string {
  if (a.status_pending === 'deadline') return ' (deadline passed; its timer has not fired yet)';
  if (!a.status_event_ref) return '';
  return a.status_pending === 'event'
    ? ` (${a.status_event_ref}, acknowledged, not yet applied)`
    : ` (${a.status_event_ref})`;
}

/** A status reason splits into its word and the invoice that decided: `payment_failed:in_1`. */
function splitReason(reason: string | null | undefined): {
  word: string | null;
  invoice: string | null;
} {
  if (!reason) return { word: null, invoice: null };
  const at = reason.indexOf(':');
  return at < 0
    ? { word: reason, invoice: null }
    : { word: reason.slice(0, at), invoice: reason.slice(at + 1) };
}

/**
 * Where the status comes from, for people: "active by stripe:sub_123 since … (evt_…)",
 * "past_due: stripe:sub_9 payment failed (invoice in_7) since … (evt_…)", "past_due by manual
 * correction …".
 */
function provenanceText(a: GateAccount): string {
  const since = a.status_since ? ` since ${a.status_since}` : '';
  const ref = evidenceText(a);
  const object = a.status_object ?? null;
  if (object === null) {
    return `${a.status}${since}${a.status_event_ref ? ` by ${a.status_event_ref}` : ''}`;
  }
  const { word, invoice } = splitReason(a.status_reason);
  const why = word ? (REASON_WORDS[word] ?? word.replace(/_/g, ' ')) : null;
  const onInvoice = invoice ? ` (invoice ${invoice})` : '';
  if (object === 'manual') return `${a.status} by manual correction${since}${ref}`;
  if (object === 'trial') return `${a.status}: ${why ?? 'trial'}${since}${ref}`;
  if (CONFIRM_ALLOWED.has(a.status)) {
    const decided = invoice ? `: ${why ?? 'invoice'}${onInvoice}` : '';
    return `${a.status} by ${object}${decided}${since}${ref}`;
  }

  return `${a.status}: ${object}${why ? ` ${why}` : ''}${onInvoice}${since}${ref}`;
}

function matchingOverride(input: GateInput, action: string): GateOverride | undefined {
  const now = input.now.getTime();
  return input.overrides.find(
    (o) =>
      (o.account_id === null || o.account_id === input.accountId) &&
      (o.actions.length === 0 || o.actions.some((a) => normalizeAction(a) === action)) &&
      Date.parse(o.expires_at) > now,
  );
}

type Verdict = Pick<GateDecision, 'allowed' | 'reason' | 'message'>;

/** The policy of SPEC §2 over the account as read. */
function verdict(input: GateInput, action: string): Verdict {
  const { account } = input;
  const described = account ? provenanceText(account) : 'no billing account';
  if (!isGated(action, input.gatedActions)) {
    return {
      allowed: true,
      reason: 'not_gated',
      message: `${action} is never gated (${described}).`,
    };
  }
  const override = matchingOverride(input, action);
  if (override) {
    return {
      allowed: true,
      reason: `override:${override.id}`,
      message: `Allowed by gate override ${override.id} until ${override.expires_at} (${override.reason}); account is ${described}.`,
    };
  }
  if (!account) {
    return {
      allowed: false,
      reason: 'no_billing_account',
      message: `${input.accountId} has no billing account, so ${action} is denied.`,
    };
  }
  if (CONFIRM_ALLOWED.has(account.status)) {
    return { allowed: true, reason: `status:${account.status}`, message: `${described}.` };
  }
  const grace = account.status === 'past_due' && account.grace_until;
  if (grace && Date.parse(grace) > input.now.getTime()) {
    return {
      allowed: true,
      reason: `grace:${grace}`,
      message: `${described}; grace until ${grace}.`,
    };
  }
  return {
    allowed: false,
    reason: `status:${account.status}`,
    message: `${described}, so ${action} is denied.`,
  };
}

/** What the message adds when a pending event could not be folded: the answer may lag behind it. */
function notFoldedText(read: ReadFoldSummary): string {
  const e = read.pending_event_not_folded;
  if (e === null) return '';
  return ` Pending event ${e.event} (${e.event_type}) could not be included yet (${e.reason}); this answer reflects the events before it.`;
}

export function decideGate(input: GateInput): GateDecision {
  const { account } = input;
  const action = normalizeAction(input.action);
  const provenance = account
    ? {
        status: account.status,
        since: account.status_since,
        event: account.status_event_ref,
        event_id: account.status_event_id ?? null,
        grace_until: account.grace_until,
        object: account.status_object ?? null,
        reason: account.status_reason ?? null,
        pending: (account.status_pending ?? null) !== null,
        invoice: splitReason(account.status_reason).invoice,
      }
    : null;
  const read = input.read ?? { ...NOTHING_FOLDED, as_of_event_id: null };
  const v = verdict(input, action);
  return {
    allowed: v.allowed,
    action,
    status: account?.status ?? null,
    reason: v.reason,
    message: v.message + notFoldedText(read),
    provenance,
    ...read,
  };
}
