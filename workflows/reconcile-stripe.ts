// The daily Stripe reconciliation as a Temporal Schedule's action: one activity doing what
// `npm run ops -- reconcile --all` does. The run, with every correction, is kept in
// reconciliation_runs by the activity; this workflow's result is its summary.
import type { ScheduledReconcileSummary } from '../activities/reconcile-stripe-accounts';
import { stripeReconcile } from './proxies';

export async function reconcileStripeWorkflow(): Promise<ScheduledReconcileSummary> {
  return stripeReconcile.reconcileStripeAccounts();
}
