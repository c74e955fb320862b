// The account as the workflow holds it and billing_accounts stores it, with the provider objects
// its status is derived from. Pure types.
import type { Provider, Status } from './vocabulary';

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
  /** The provider objects the status is derived from. */
  objects: AccountObjects;
  /** The newest time the account has evidence for: the status is derived as of this instant. */
  as_of: string | null;
  /** The object that decided the status: `stripe:sub_…`, `myasp:<user>`, `manual` or `trial`. */
  status_object: string | null;
  /** Why that object decided it: `subscription_active`, `payment_failed`, `trial_over`, … */
  status_reason: string | null;
}
