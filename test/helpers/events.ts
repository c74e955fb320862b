// Store events the way the HTTP layer does, with defaults and overrides.
import type pg from 'pg';

import { insertEvent, type StoredEvent, toBillingEvent } from '../../src/db/queries/billing-events';
import { normalizeStripeEvent } from '../../src/domain/normalize-stripe';
import type { BillingEvent, EventData, EventSource } from '../../src/domain/types';
import type { StripeEventJson } from '../fixtures/stripe';

let counter = 0;

export interface StoreOptions {
  account_id: string;
  occurred_at: string;
  source?: EventSource;
  dedupe_key?: string;
  event_type?: string;
  object_key?: string | null;
}

export async function storeEvent(
  pool: pg.Pool,
  data: EventData,
  o: StoreOptions,
): Promise<BillingEvent> {
  counter += 1;
  const source =
    o.source ??
    (data.kind.startsWith('stripe') ? 'stripe' : data.kind.startsWith('myasp') ? 'myasp' : 'api');
  const { event } = await insertEvent(pool, {
    source,
    dedupe_key:
      o.dedupe_key ?? `test:${o.account_id}:${counter}:${Math.random().toString(36).slice(2)}`,
    event_type: o.event_type ?? data.kind,
    account_id: o.account_id,
    occurred_at: o.occurred_at,
    object_key:
      o.object_key === undefined
        ? data.kind.startsWith('stripe')
          ? 'stripe:sub_1'
          : null
        : o.object_key,
    payload: data,
    data,
  });
  return toBillingEvent(event);
}

const links = { customer_id: 'cus_1', subscription_id: 'sub_1', plan: 'price_pro', amount: 1980 };

export const data = {
  registered: (trial_end: string | null): EventData => ({
    kind: 'account.registered',
    trial_end,
    email: null,
    stripe_customer_id: null,
    myasp_user_id: null,
  }),
  started: (): EventData => ({
    kind: 'stripe.subscription_started',
    stripe_type: 'customer.subscription.created',
    subscription_status: 'active',
    ...links,
  }),
  cancelScheduled: (cancel_at: string): EventData => ({
    kind: 'stripe.subscription_updated',
    subscription_status: 'active',
    cancel_at,
    ...links,
  }),
  cancelWithdrawn: (): EventData => ({
    kind: 'stripe.subscription_updated',
    subscription_status: 'active',
    cancel_at: null,
    ...links,
  }),
  paymentFailed: (past_due_grace_ms: number | null = null): EventData => ({
    kind: 'stripe.payment_failed',
    past_due_grace_ms,
    ...links,
  }),
  paid: (): EventData => ({ kind: 'stripe.payment_succeeded', ...links }),
  deleted: (): EventData => ({ kind: 'stripe.subscription_deleted', ...links }),
};

export function isoAfter(baseMs: number, days: number): string {
  return new Date(baseMs + days * 86_400_000).toISOString();
}

/**
 * A signed Stripe payload committed the way the webhook route commits it, for `accountId`, and
 * nothing else: no delivery (a process that died right after its commit, or an older version's row).
 */
export async function storeStripePayload(
  pool: pg.Pool,
  accountId: string,
  payload: StripeEventJson,
  pastDueGraceMs: number | null = null,
): Promise<StoredEvent> {
  const n = normalizeStripeEvent(payload, { pastDueGraceMs });
  const { event } = await insertEvent(pool, {
    source: n.source,
    dedupe_key: n.dedupe_key,
    event_type: n.event_type,
    account_id: accountId,
    occurred_at: n.occurred_at,
    object_key: n.object_key,
    payload,
    data: n.data,
  });
  return event;
}
