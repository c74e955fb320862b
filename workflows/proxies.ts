// Activity groups with named timeouts and retry policies.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/**
 * Database work of the account workflow. Retried until it succeeds (PostgreSQL down is a
 * transient fault: the event waits, it is never dropped); a missing event row is permanent.
 */
export const billingDb = proxyActivities<
  Pick<Activities, 'loadAccount' | 'recordEvent' | 'applyTransition'>
>({
  startToCloseTimeout: '30 seconds',
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
