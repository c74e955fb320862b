// The daily Stripe reconciliation as a Temporal Schedule's action (the item 1): one
// activity doing what `npm run ops -- reconcile --all` does. The run, with every correction, is
// kept in reconciliation_runs by the activity; this workflow's result is its summary.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ScheduledReconcileSummary } from '../activities/reconcile-stripe-accounts';

const stripeReconcile = proxyActivities<Pick<Activities, 'reconcileStripeAccounts'>>({
  // A long run reports progress as heartbeats; a worker that dies mid-run is noticed within
  // the heartbeat timeout and the run starts again (what was recorded is not recorded twice).
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '10 minutes',
  retry: {
    initialInterval: '1 minute',
    backoffCoefficient: 2,
    maximumAttempts: 3,
    nonRetryableErrorTypes: ['StripeApiKeyMissing'],
  },
});

export async function reconcileStripeWorkflow(): Promise<ScheduledReconcileSummary> {
  return stripeReconcile.reconcileStripeAccounts();
}
