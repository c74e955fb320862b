// What every daily-check item gets: the database, the instant the check runs "as of", the
// thresholds in force, a Temporal probe shared by the items that need it, and the fixed limits
// the items judge by (DAILY_CHECK_THRESHOLDS, below).
import type pg from 'pg';

import type { Thresholds } from './thresholds';

/**
 * What the operator checks need of Temporal: whether it answers, and which namespace was asked.
 * Given by the caller (src/temporal/client.ts `temporalProbe`), so the checks import no client.
 */
export interface TemporalProbe {
  namespace: string;
  reachable(timeoutMs: number): Promise<boolean>;
}

export interface DailyCheckCtx {
  pool: pg.Pool;
  now: Date;
  thresholds: Thresholds;
  /** The actions the gate may deny (GATED_ACTIONS); the gate probe asks about `confirm`. */
  gatedActions: readonly string[];
  temporal?: TemporalProbe;
  /** One probe per run, shared by the items that need it; null when no connection was given. */
  temporalReachable: () => Promise<boolean | null>;
  /** Whether STRIPE_API_KEY is set; null when the caller does not know (the CLI). */
  stripeApiKeySet: boolean | null;
}

export const ago = (ctx: DailyCheckCtx, ms: number): string =>
  new Date(ctx.now.getTime() - ms).toISOString();

export const percent = (share: number): string => `${+(share * 100).toFixed(1)}%`;

// Thresholds, and why:
// - QUIET_PROVIDER_MS 24 h: a small SaaS can have quiet hours, but a whole day without a single
//   Stripe or MyASP webhook usually means an endpoint, secret or firewall changed. Warn, since a
//   genuinely quiet day is possible.
// - Events today = 0: the checklist's first query; a day without a single event (webhook,
//   registration, timer) means nothing reaches us. Warn.
// - REJECTION_WINDOW_MS 24 h: the webhook error rate (rejections ÷ all webhooks that arrived)
//   over the last day; above `webhook_error_rate_max` (5 %) a secret or a MyASP form is likely
//   wrong. Warn, because rejected requests were never acknowledged and the provider retries.
// - The status distribution, the mass-stop alarm and the gate probe judge by the thresholds in
//   src/ops/thresholds.ts (the checklist's numbers; operators change them with
//   `npm run ops -- thresholds set`).
// - BACKLOG_AGE_MS 5 min: the webhook path signals at once and the sweeper retries every few
//   seconds (backing off to at most 5 min), so an event still unprocessed after 5 min means
//   Temporal or the worker is not doing its job. Fail: entitlements are stale.
// - BACKLOG_WARN_MS 1 min: events normally reach their workflow within seconds; a minute means
//   delivery is struggling before it is failing. Warn. Any backlog while Temporal is unreachable
//   fails at once, whatever its age: nothing is being processed.
// - Dead letters: any event that cannot be delivered fails the check until an operator retries
//   it (`npm run ops -- dead-letters`); its account's entitlements are stale.
// - OVERDUE_CANCEL_MS 1 h: the cancel timer fires at scheduled_cancel_at; an hour of slack covers
//   worker restarts. Still `canceling` after that means a timer did not fire. Warn.
// - TEMPORAL_TIMEOUT_MS 5 s: a reachable frontend answers GetSystemInfo in milliseconds.
// "Today" is the calendar day in Japan, where the operators of this service work.
export const DAILY_CHECK_THRESHOLDS = {
  QUIET_PROVIDER_MS: 24 * 3_600_000,
  REJECTION_WINDOW_MS: 24 * 3_600_000,
  BACKLOG_AGE_MS: 5 * 60_000,
  BACKLOG_WARN_MS: 60_000,
  OVERDUE_CANCEL_MS: 3_600_000,
  TEMPORAL_TIMEOUT_MS: 5_000,
  DAY_TIME_ZONE: 'Asia/Tokyo',
} as const;
