// Activity groups with named timeouts and retry policies.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/**
 * How long one attempt of the account's database work may take before Temporal retries it. A
 * worker that dies mid-attempt is noticed only when this runs out, so it is short: a few
 * statements under DB_STATEMENT_TIMEOUT_MS (5 s) each. An attempt cut short is safe to repeat
 * (applyTransition leaves an event whose outcome is written alone).
 */
export const BILLING_DB_START_TO_CLOSE_MS = 10_000;

/**
 * Database work of the account workflow. Retried until it succeeds (PostgreSQL down is a
 * transient fault: the event waits, it is never dropped); a missing event row is permanent.
 */
export const billingDb = proxyActivities<
  Pick<Activities, 'loadAccount' | 'recordEvent' | 'applyTransition'>
>({
  startToCloseTimeout: BILLING_DB_START_TO_CLOSE_MS,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['EventNotStored'],
  },
});

/** Gate override bookkeeping. */
export const overrideDb = proxyActivities<Pick<Activities, 'expireOverride'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
