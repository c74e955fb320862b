// An event as stored and delivered, and a verified provider payload before its account is
// resolved. Pure types.
import type { EventData } from './event-data';
import type { EventSource } from './vocabulary';

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
  /** A subscription already linked to an account (a thin event names only its object). */
  stripe_subscription_id?: string | null;
  myasp_user_id: string | null;
}
