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

export const EVENT_SOURCES = ['stripe', 'myasp', 'api', 'manual', 'timer', 'reconcile'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const OUTCOMES = ['applied', 'duplicate', 'stale', 'ignored', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type Provider = 'stripe' | 'myasp' | 'none';

/**
 * What the pure transition reads from an event. It is derived from the provider payload when the
 * webhook is stored (see normalize-stripe.ts / normalize-myasp.ts) and kept in `billing_events.data`, so a
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
  | ReconciledSubscription
  | ReconciledMembership
  | Unhandled;

/** Fields every Stripe-derived event may carry to link the account to Stripe objects. */
export interface StripeLinks {
  customer_id: string | null;
  subscription_id: string | null;
  plan: string | null;
  amount: number | null;
}

/** What a subscription object says about itself (absent in events stored by older versions). */
export interface SubscriptionFacts {
  /** `cancel_at_period_end` as Stripe sent it. */
  cancel_at_period_end?: boolean;
  /** The subscription's own trial end while it is trialing; ISO-8601. */
  trial_end?: string | null;
}

export interface StripeCheckoutCompleted extends StripeLinks, SubscriptionFacts {
  kind: 'stripe.subscription_started';
  /** `checkout.session.completed` or `customer.subscription.created`. */
  stripe_type: string;
  /** The subscription's status when the event carries the subscription (created, or expanded). */
  subscription_status: string | null;
  /** A checkout session's `payment_status` (`paid`, `unpaid`, `no_payment_required`). */
  payment_status?: string | null;
  /** When a cancel is scheduled on the carried subscription; ISO-8601. */
  cancel_at?: string | null;
}

export interface StripeSubscriptionChanged extends StripeLinks, SubscriptionFacts {
  kind: 'stripe.subscription_updated';
  subscription_status: string;
  /** When the subscription will end, if a cancel is scheduled; ISO-8601. */
  cancel_at: string | null;
}

export interface StripeSubscriptionDeleted extends StripeLinks {
  kind: 'stripe.subscription_deleted';
  /** The status the deleted subscription carries (`canceled`, or `incomplete_expired`). */
  subscription_status?: string | null;
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

/**
 * A subscription as Stripe's API returned it when reconciliation fetched it: a full snapshot at
 * the fetch time (the event's `occurred_at`), recorded because it differed from what the account
 * knew (a webhook was lost, or two disagreed in the same second).
 */
export interface ReconciledSubscription extends StripeLinks, SubscriptionFacts {
  kind: 'reconcile.subscription';
  subscription_status: string;
  /** When the subscription will end, if a cancel is scheduled; ISO-8601. */
  cancel_at: string | null;
  /** The fields of the account's subscription object that differed from the fetched one. */
  differences: string[];
}

/** A MyASP member as an exported member list showed it, differing from the account's membership. */
export interface ReconciledMembership {
  kind: 'reconcile.membership';
  myasp_user_id: string;
  provider_status: '1' | '2' | '3' | '4';
  differences: string[];
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

/** The newest invoice evidence about one subscription. */
export interface PaymentEvidence {
  state: 'paid' | 'failed';
  /** `created` of the invoice event. */
  at: string;
  event_id: string;
  /** Since when payments have failed with no success in between: the dunning start. */
  failing_since: string | null;
  /** Dunning grace in force when the failure was stored (PAST_DUE_GRACE); null means none. */
  grace_ms: number | null;
}

/** One Stripe subscription as the account knows it: its newest snapshot and newest invoice. */
export interface SubscriptionObject {
  /** Stripe's status in the newest subscription snapshot; null while only invoices were seen. */
  status: string | null;
  cancel_at: string | null;
  cancel_at_period_end: boolean;
  trial_end: string | null;
  plan: string | null;
  amount: number | null;
  /** `created` of the event that carried the newest snapshot; null while there is none. */
  version: string | null;
  /** billing_events.id of that event. */
  event_id: string | null;
  payment: PaymentEvidence | null;
  /** Which kind of evidence was recorded last: settles equal seconds in arrival order. */
  last_evidence: 'snapshot' | 'payment';
  /** When the account first heard of it: picks the deciding subscription among equals. */
  first_seen: string;
}

/** The MyASP membership as the account knows it: the newest status code and its `ts`. */
export interface MembershipObject {
  user_id: string;
  code: '1' | '2' | '3' | '4';
  version: string;
  event_id: string;
  /** When the account first heard of it: orders it among objects of equal standing. */
  first_seen: string;
}

/** An operator's correction: evidence at its time, until newer provider evidence arrives. */
export interface ManualEvidence {
  status: Status;
  scheduled_cancel_at: string | null;
  at: string;
  event_id: string;
}

/** Every provider object the account has seen; the status is derived from all of them. */
export interface AccountObjects {
  subscriptions: Record<string, SubscriptionObject>;
  membership: MembershipObject | null;
  manual: ManualEvidence | null;
  /** The trial the account was registered with (POST /v1/accounts). */
  registered_trial_end: string | null;
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
  /** object_key -> `created` of the newest evidence recorded for that object. */
  object_versions: Record<string, string>;
  /**
   * The provider objects the status is derived from. Absent or null in state written before the
   * status was derived per object (transition.ts seeds it from the columns then).
   */
  objects?: AccountObjects | null;
  /** The newest time the account has evidence for: the status is derived as of this instant. */
  as_of?: string | null;
  /** The object that decided the status: `stripe:sub_…`, `myasp:<user>`, `manual` or `trial`. */
  status_object?: string | null;
  /** Why that object decided it: `subscription_active`, `payment_failed`, `trial_over`, … */
  status_reason?: string | null;
}

/** Audit action names, as written to `audit_logs.action`. */
export type AuditAction =
  | 'billing.account_registered'
  | 'billing.subscription_started'
  | 'billing.subscription_created'
  | 'billing.checkout_completed'
  | 'billing.subscription_updated'
  | 'billing.subscription_deleted'
  | 'billing.invoice_paid'
  | 'billing.payment_succeeded'
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
  | 'billing.reconciled'
  | 'billing.event_ignored'
  | 'billing.event_stale'
  | 'billing.event_rejected'
  | 'gate.override_set'
  | 'gate.override_cleared'
  | 'gate.override_expired';

/**
 * Two snapshots of one subscription carrying the same `created` second that disagree (SPEC §3
 * rule 2): applied in arrival order, and where Stripe can be asked its answer settles them.
 */
export interface EqualSecondConflict {
  subscription_id: string;
  /** The snapshot fields the two events disagree on. */
  fields: string[];
  /** billing_events.id of the earlier-arrived event of the same second. */
  with_event_id: string | null;
}

export interface Decision {
  outcome: Outcome;
  /** The state after the event; equal to the input state unless outcome is `applied`. */
  state: AccountState | null;
  /** Set when this event disagrees with an earlier one of the same second about its subscription. */
  equal_second_conflict?: EqualSecondConflict;
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
