// The entitlement gate (SPEC §2): which actions an account may take now. Pure.
import type { Status } from './types';

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
  grace_until: string | null;
  /** The object that decided the status (`stripe:sub_123`, `myasp:42`, `manual`, `trial`). */
  status_object?: string | null;
  /** Why, in a word (`subscription_active`, `payment_failed`, `trial_over`, …). */
  status_reason?: string | null;
}

export interface GateOverride {
  id: string;
  /** null: every account. */
  account_id: string | null;
  actions: string[];
  reason: string;
  expires_at: string;
}

export interface GateDecision {
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
    grace_until: string | null;
    object: string | null;
    reason: string | null;
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
  const ref = a.status_event_ref ? ` (${a.status_event_ref})` : '';
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

export function decideGate(input: GateInput): GateDecision {
  const { account } = input;
  const action = normalizeAction(input.action);
  const provenance = account
    ? {
        status: account.status,
        since: account.status_since,
        event: account.status_event_ref,
        grace_until: account.grace_until,
        object: account.status_object ?? null,
        reason: account.status_reason ?? null,
        invoice: splitReason(account.status_reason).invoice,
      }
    : null;
  const base = { action, status: account?.status ?? null, provenance };
  const described = account ? provenanceText(account) : 'no billing account';
  if (!isGated(action, input.gatedActions)) {
    return {
      ...base,
      allowed: true,
      reason: 'not_gated',
      message: `${action} is never gated (${described}).`,
    };
  }
  const override = matchingOverride(input, action);
  if (override) {
    return {
      ...base,
      allowed: true,
      reason: `override:${override.id}`,
      message: `Allowed by gate override ${override.id} until ${override.expires_at} (${override.reason}); account is ${described}.`,
    };
  }
  if (!account) {
    return {
      ...base,
      allowed: false,
      reason: 'no_billing_account',
      message: `${input.accountId} has no billing account, so ${action} is denied.`,
    };
  }
  if (CONFIRM_ALLOWED.has(account.status)) {
    return { ...base, allowed: true, reason: `status:${account.status}`, message: `${described}.` };
  }
  const grace = account.status === 'past_due' && account.grace_until;
  if (grace && Date.parse(grace) > input.now.getTime()) {
    return {
      ...base,
      allowed: true,
      reason: `grace:${grace}`,
      message: `${described}; grace until ${grace}.`,
    };
  }
  return {
    ...base,
    allowed: false,
    reason: `status:${account.status}`,
    message: `${described}, so ${action} is denied.`,
  };
}
