// What each Stripe event handler returns, and what it may be given. Pure types.
import type { AccountHint, EventData, StripeLinks, Unhandled } from '../types';
import type { Json } from './read-json';

export interface NormalizeStripeOptions {
  /** Dunning grace to stamp on `invoice.payment_failed` (PAST_DUE_GRACE); null = none. */
  pastDueGraceMs: number | null;
}

/** The Stripe members of EventData, each carrying StripeLinks, or `unhandled`. */
export type StripeEventData = Extract<EventData, StripeLinks> | Unhandled;

export interface Interpreted {
  data: StripeEventData;
  account_hint: AccountHint;
}
export type Handler = (object: Json, type: string, opts: NormalizeStripeOptions) => Interpreted;
