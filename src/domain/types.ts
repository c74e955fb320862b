// Shared vocabulary of the billing domain. Pure types only: this file is imported by workflow
// code, so it must not import anything with side effects.

export const STATUSES = [
  'free',
  'early_payment',
  'active',
  'canceling',
  'past_due',
  'stopped',
  'canceled',
] as const;
export type Status = (typeof STATUSES)[number];

export const EVENT_SOURCES = ['stripe', 'myasp', 'api', 'manual', 'timer'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const OUTCOMES = ['applied', 'duplicate', 'stale', 'ignored', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type Provider = 'stripe' | 'myasp' | 'none';

/**
 * What the pure transition reads from an event. It is derived from the provider payload when the
 * webhook is stored (see normalize-stripe.ts / myasp.ts) and kept in `billing_events.data`, so a
 * rebuild folds exactly the inputs the workflow saw.
 */
export type EventData =
  | StripeCheckoutCompleted
  | StripeSubscriptionChanged
  | StripeSubscriptionDeleted
  | StripeInvoicePaymentFailed
  | StripeInvoicePaid
  | MyaspStatusChanged
  | AccountRegistered
  | ManualCorrection
  | TimerFired
  | Unhandled;

/** Fields every Stripe-derived event may carry to link the account to Stripe objects. */
export interface StripeLinks {
  customer_id: string | null;
  subscription_id: string | null;
  plan: string | null;
  amount: number | null;
}

export interface StripeCheckoutCompleted extends StripeLinks {
  kind: 'stripe.subscription_started';
  /** `checkout.session.completed` or `customer.subscription.created`. */
  stripe_type: string;
  subscription_status: string | null;
}

export interface StripeSubscriptionChanged extends StripeLinks {
  kind: 'stripe.subscription_updated';
  subscription_status: string;
  /** When the subscription will end, if a cancel is scheduled; ISO-8601. */
  cancel_at: string | null;
}

export interface StripeSubscriptionDeleted extends StripeLinks {
  kind: 'stripe.subscription_deleted';
}

export interface StripeInvoicePaymentFailed extends StripeLinks {
  kind: 'stripe.payment_failed';
  /** Dunning grace in force when the event was stored (PAST_DUE_GRACE); null means none. */
  past_due_grace_ms: number | null;
}

export interface StripeInvoicePaid extends StripeLinks {
  kind: 'stripe.payment_succeeded';
}

export interface MyaspStatusChanged {
  kind: 'myasp.status_changed';
  myasp_user_id: string;
  /** Raw MyASP status code, 1–4. */
  provider_status: '1' | '2' | '3' | '4';
  email: string | null;
  plan: string | null;
  amount: number | null;
}

export interface AccountRegistered {
  kind: 'account.registered';
  trial_end: string | null;
  email: string | null;
  stripe_customer_id: string | null;
  myasp_user_id: string | null;
}

export interface ManualCorrection {
  kind: 'manual.correction';
  status: Status;
  reason: string;
  actor: string;
  /** Required when correcting to `canceling`. */
  scheduled_cancel_at: string | null;
}

export type TimerKind = 'trial_end' | 'cancel_at_period_end' | 'grace_end';

export interface TimerFired {
  kind: 'timer.fired';
  timer: TimerKind;
  /** The deadline the timer was set for; ISO-8601. */
  due_at: string;
}

export interface Unhandled {
  kind: 'unhandled';
}

/** An event as stored and as delivered to the account workflow. */
export interface BillingEvent {
  /** billing_events.id */
  event_id: string;
  source: EventSource;
  dedupe_key: string;
  event_type: string;
  account_id: string;
  /** When the provider says it happened; ISO-8601. Orders events on the same object. */
  occurred_at: string;
  /**
   * The object whose history this event belongs to (e.g. `stripe:sub_123`, `myasp:42`); an event
   * older than the last one that changed the same object is stale. Null: never stale.
   */
  object_key: string | null;
  data: EventData;
}

/** The account projection as the workflow holds it and `billing_accounts` stores it. */
export interface AccountState {
  account_id: string;
  provider: Provider;
  status: Status;
  provider_status: string | null;
  plan: string | null;
  amount: number | null;
  email: string | null;
  myasp_user_id: string | null;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  trial_end: string | null;
  scheduled_cancel_at: string | null;
  /** End of the dunning grace while past_due; null when no grace applies. */
  grace_until: string | null;
  /** When the current status began, and the event that set it. */
  status_since: string | null;
  status_event_id: string | null;
  last_event_id: string | null;
  last_event_ts: string | null;
  /** object_key -> occurred_at of the last event that changed that object. */
  object_versions: Record<string, string>;
}

/** Audit action names, as written to `audit_logs.action`. */
export type AuditAction =
  | 'billing.account_registered'
  | 'billing.subscription_started'
  | 'billing.subscription_updated'
  | 'billing.cancel_scheduled'
  | 'billing.cancel_withdrawn'
  | 'billing.payment_failed'
  | 'billing.payment_recovered'
  | 'billing.canceled'
  | 'billing.canceled_at_period_end'
  | 'billing.trial_ended'
  | 'billing.grace_ended'
  | 'billing.myasp_status_changed'
  | 'billing.manual_correction'
  | 'billing.event_ignored'
  | 'billing.event_stale'
  | 'billing.event_rejected'
  | 'gate.override_set'
  | 'gate.override_cleared'
  | 'gate.override_expired';

export interface Decision {
  outcome: Outcome;
  /** The state after the event; equal to the input state unless outcome is `applied`. */
  state: AccountState | null;
  audit: {
    action: AuditAction;
    actor_role: 'system' | 'operator';
    actor: string;
    details: Record<string, unknown>;
  };
}

/**
 * A verified provider payload turned into what we store and deliver, before the account is
 * resolved (resolution may need a database lookup of existing links).
 */
export interface NormalizedEvent {
  source: EventSource;
  dedupe_key: string;
  event_type: string;
  occurred_at: string;
  object_key: string | null;
  data: EventData;
  account_hint: AccountHint;
}

/** Account resolution inputs, strongest first (SPEC §3 "Account resolution"). */
export interface AccountHint {
  /** metadata.account_id on the object or its subscription details, or a checkout session's client_reference_id. */
  explicit_account_id: string | null;
  stripe_customer_id: string | null;
  myasp_user_id: string | null;
}
