// The account as the workflow holds it and billing_accounts stores it, with the provider objects
// its status is derived from. Pure types.
import type { Provider, Status } from './vocabulary';

/** What Stripe said last about one invoice of a subscription (SPEC §3 rule 7). */
export interface InvoiceEvidence {
  /**
   * What the newest event about it said; `void` takes it out of the running for "latest";
   * `named`: a snapshot named it as its latest invoice and no event has described it yet.
   */
  state: 'paid' | 'failed' | 'uncollectible' | 'void' | 'named';
  /**
   * The invoice's own `created`: the newest invoice is the subscription's latest. For a `named`
   * one, the time of the snapshot that named it (it was created by then).
   */
  created: string;
  /** `created` of the newest event about it: an older one is stale. */
  at: string;
  event_id: string;
  /** `subscription_create`, `subscription_cycle`, `subscription_update`, …; null if unknown. */
  billing_reason: string | null;
  /** `charge_automatically` or `send_invoice`; null if the event did not say. */
  collection_method: string | null;
  /** When a payment of it first failed (where a dunning spell can begin); null if none has. */
  failed_at: string | null;
  /** Dunning grace in force when that failure was stored (PAST_DUE_GRACE); null means none. */
  grace_ms: number | null;
  /** Arrival order among the subscription's evidence: settles equal seconds. */
  seq: number;
}

/** A `past_due`/`unpaid`/`paused` snapshot that may have begun a dunning spell (rule 10). */
export interface DunningMark {
  at: string;
  grace_ms: number | null;
}

/**
 * One Stripe subscription as the account knows it: its newest snapshot, and its newest invoices
 * by id (at most a few: the latest and the ones before it that could still become it).
 */
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
  /** The snapshot's `latest_invoice`. */
  latest_invoice: string | null;
  /** The snapshot shows a `pending_update` (a plan change made with `pending_if_incomplete`). */
  pending_update: boolean;
  /** The snapshot's `collection_method`; null when it did not say. */
  collection_method: string | null;
  /** `status_details.paused.subscription.type` of a `paused` snapshot; null otherwise. */
  paused_reason: string | null;
  /** Dunning grace stamped on the newest snapshot's event (PAST_DUE_GRACE). */
  grace_ms: number | null;
  /** `seq` of the newest snapshot. */
  snapshot_seq: number;
  /** invoice id -> what was said about it; bounded (subscription-evidence.ts). */
  invoices: Record<string, InvoiceEvidence>;
  /** `created` of the newest invoice event recorded: the `…#invoice` object version. */
  invoice_version: string | null;
  /** The newest snapshot time at which it stood live (active, trialing). */
  live_at: string | null;
  /** The first dunning snapshot after `live_at`. */
  dunning_from: DunningMark | null;
  /** Evidence recorded on it so far: orders evidence of equal seconds by arrival. */
  seq: number;
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
  /**
   * When the host app registered the account (POST /v1/accounts), whenever that came: null
   * while it has not (an account first seen from a webhook). Absent in state written before.
   */
  registered_at?: string | null;
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
