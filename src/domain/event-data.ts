// The inputs each kind of event carries (EventData and its members). Pure types.
import type { Status } from './vocabulary';

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
  | StripeInvoiceClosed
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
  /** The id of the subscription's latest invoice. */
  latest_invoice?: string | null;
  /** A `pending_update` is shown: a plan change waits for its invoice to be paid. */
  pending_update?: boolean;
  /** `charge_automatically` or `send_invoice`. */
  collection_method?: string | null;
  /** Why a `paused` subscription is paused (`status_details.paused.subscription.type`). */
  paused_reason?: string | null;
}

/** What an invoice says about itself (absent in events stored by older versions). */
export interface InvoiceFacts {
  invoice_id?: string | null;
  /** The invoice's own `created`; ISO-8601. */
  invoice_created?: string | null;
  /** `subscription_create`, `subscription_cycle`, `subscription_update`, `manual`, … */
  billing_reason?: string | null;
  /** `charge_automatically` or `send_invoice`. */
  collection_method?: string | null;
}

/** Dunning grace in force when the event was stored (PAST_DUE_GRACE); null means none. */
export interface DunningGrace {
  past_due_grace_ms?: number | null;
}

export interface StripeCheckoutCompleted extends StripeLinks, SubscriptionFacts, DunningGrace {
  kind: 'stripe.subscription_started';
  /**
   * `customer.subscription.created`, `checkout.session.completed`,
   * `checkout.session.async_payment_succeeded` or `checkout.session.async_payment_failed`.
   */
  stripe_type: string;
  /** The subscription's status when the event carries the subscription (created, or expanded). */
  subscription_status: string | null;
  /** A checkout session's `payment_status` (`paid`, `unpaid`, `no_payment_required`). */
  payment_status?: string | null;
  /** When a cancel is scheduled on the carried subscription; ISO-8601. */
  cancel_at?: string | null;
  /** A checkout session's first invoice (`invoice`). */
  invoice_id?: string | null;
  /** A checkout session's own `created`: no later than its first invoice's; ISO-8601. */
  session_created?: string | null;
}

export interface StripeSubscriptionChanged extends StripeLinks, SubscriptionFacts, DunningGrace {
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

export interface StripeInvoicePaymentFailed extends StripeLinks, InvoiceFacts {
  kind: 'stripe.payment_failed';
  /** Dunning grace in force when the event was stored (PAST_DUE_GRACE); null means none. */
  past_due_grace_ms: number | null;
}

export interface StripeInvoicePaid extends StripeLinks, InvoiceFacts {
  kind: 'stripe.payment_succeeded';
}

/** `invoice.voided` or `invoice.marked_uncollectible`. */
export interface StripeInvoiceClosed extends StripeLinks, InvoiceFacts {
  kind: 'stripe.invoice_closed';
  closed_as: 'void' | 'uncollectible';
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
