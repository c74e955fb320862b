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

export function isGated(action: string, gatedActions: readonly string[]): boolean {
  return !NEVER_GATED.has(action) && gatedActions.includes(action);
}

function provenanceText(a: GateAccount): string {
  const since = a.status_since ? ` since ${a.status_since}` : '';
  const by = a.status_event_ref ? ` by ${a.status_event_ref}` : '';
  return `${a.status}${since}${by}`;
}

function matchingOverride(input: GateInput): GateOverride | undefined {
  const now = input.now.getTime();
  return input.overrides.find(
    (o) =>
      (o.account_id === null || o.account_id === input.accountId) &&
      (o.actions.length === 0 || o.actions.includes(input.action)) &&
      Date.parse(o.expires_at) > now,
  );
}

export function decideGate(input: GateInput): GateDecision {
  const { account, action } = input;
  const provenance = account
    ? {
        status: account.status,
        since: account.status_since,
        event: account.status_event_ref,
        grace_until: account.grace_until,
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
  const override = matchingOverride(input);
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
