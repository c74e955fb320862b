import type pg from 'pg';

import type { Logger } from '../src/log';
import type { ApplyStoredEvent } from '../src/services/reconcile/findings';
import type { StripeSubscriptionsApi } from '../src/services/stripe-api';

/** What every activity may touch: injected, never module singletons. */
export interface ActivityDeps {
  pool: pg.Pool;
  logger: Logger;
  /** Stripe's API for reconciliation; absent without STRIPE_API_KEY (nothing is ever fetched). */
  stripe?: StripeActivityDeps | null;
  /** Notifications to the host app: whether private addresses may be notified (SPEC §10). */
  notify?: { allowPrivate: boolean; timeoutMs?: number };
}

export interface StripeActivityDeps {
  /** A Stripe client (stripe-node with the 429 backoff); built in src/runtime.ts. */
  api(onRateLimited?: (waitMs: number) => void): StripeSubscriptionsApi;
  /** Hands a stored reconcile event to its account workflow (built in src/runtime.ts). */
  apply: ApplyStoredEvent;
  /** Accounts reconciled at the same time (RECONCILE_CONCURRENCY). */
  concurrency: number;
}
