// Activity groups with named timeouts and retry policies.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

import type { Activities } from '../activities';
import { FAILURE_TYPES } from '../src/domain/failure-types';

/**
 * How long one attempt of the account's database work may take before Temporal retries it. A
 * worker that dies mid-attempt is noticed only when this runs out, so it is short: a few
 * statements under DB_STATEMENT_TIMEOUT_MS (5 s) each. An attempt cut short is safe to repeat
 * (reading the row; storing a timer event is idempotent on its dedupe key).
 */
export const BILLING_DB_START_TO_CLOSE_MS = 10_000;

/**
 * Database work of the account workflow besides its batches: reading the row, storing a fired
 * timer. Retried until it succeeds (PostgreSQL down is a transient fault: the deadline waits, it
 * is never dropped).
 */
export const billingDb = proxyActivities<Pick<Activities, 'loadAccount' | 'recordEvent'>>({
  startToCloseTimeout: BILLING_DB_START_TO_CLOSE_MS,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * The account's batch: all its pending events in one transaction, as a local activity. Why local
 * (docs/decisions.md): it runs in the worker that holds the workflow task, so a wake-up costs one
 * workflow task and a marker instead of a task-queue round trip and three more history events —
 * measured 1.7–1.9× the events/s of a normal activity. The trade-offs hold here: the transaction
 * is short (a bounded batch), and a retried attempt is harmless (only NULL outcomes are taken,
 * under an advisory lock per account). Retries beyond `localRetryThreshold` become durable timers,
 * so a PostgreSQL outage still waits with backoff instead of spinning.
 */
export const billingBatch = proxyLocalActivities<Pick<Activities, 'applyPendingEvents'>>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/** Gate override bookkeeping. */
export const overrideDb = proxyActivities<Pick<Activities, 'expireOverride'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * Asking Stripe about a subscription whose same-second events disagreed. Retried a few times
 * (Stripe unreachable, 429 beyond the client's own backoff); after that the conflict stays as
 * arrival order decided it, for the daily reconciliation to settle.
 */
export const stripeAsk = proxyActivities<Pick<Activities, 'reconcileSubscriptions'>>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FAILURE_TYPES.stripeApiKeyMissing],
  },
});

/** The daily check as a Schedule's action: one activity, retried a few times. */
export const opsTasks = proxyActivities<Pick<Activities, 'runDailyCheck'>>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '10 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 5,
  },
});

/**
 * The daily Stripe reconciliation. A long run reports progress as heartbeats; a worker that dies
 * mid-run is noticed within the heartbeat timeout and the run starts again (what was recorded is
 * not recorded twice).
 */
export const stripeReconcile = proxyActivities<Pick<Activities, 'reconcileStripeAccounts'>>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '10 minutes',
  retry: {
    initialInterval: '1 minute',
    backoffCoefficient: 2,
    maximumAttempts: 3,
    nonRetryableErrorTypes: [FAILURE_TYPES.stripeApiKeyMissing],
  },
});

/**
 * One round of an endpoint's notifications: up to 100 messages, 8 at a time, 10 s each at most.
 * A worker killed mid-round is noticed within the heartbeat timeout and the round runs again
 * (what was recorded is not sent again; what was in flight is, with the same webhook-id).
 */
export const notifySend = proxyActivities<Pick<Activities, 'sendNotifications'>>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
