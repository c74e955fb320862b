import { ApplicationFailure, Context } from '@temporalio/activity';

import { FAILURE_TYPES } from '../src/domain/failure-types';
import { reconcileStripe } from '../src/services/reconcile/stripe';
import type { ActivityDeps } from './deps';

export interface ScheduledReconcileSummary {
  run_id: string;
  accounts_checked: number;
  accounts_corrected: number;
  events_recorded: number;
  errors: { account_id: string; message: string }[];
}

/**
 * `npm run ops -- reconcile --all` for the Temporal Schedule `billing-reconcile-stripe`: every
 * account linked to a Stripe customer is compared with what Stripe holds, and each difference is
 * stored as a `reconcile` event and applied by its account workflow. The run is kept in
 * reconciliation_runs; progress goes out as heartbeats.
 */
export function createReconcileStripeAccountsActivity({ pool, logger, stripe }: ActivityDeps) {
  return async (): Promise<ScheduledReconcileSummary> => {
    if (!stripe) {
      throw ApplicationFailure.nonRetryable(
        'STRIPE_API_KEY is not set on this worker, so Stripe cannot be asked; set it, or pause the schedule billing-reconcile-stripe.',
        FAILURE_TYPES.stripeApiKeyMissing,
      );
    }
    const context = Context.current();
    const api = stripe.api((waitMs) =>
      logger.warn({ wait_ms: waitMs }, 'Stripe answered 429 (rate limited); backing off'),
    );
    const summary = await reconcileStripe({ pool, apply: stripe.apply }, api, {
      startedBy: 'schedule',
      concurrency: stripe.concurrency,
      onProgress: (done, total) => context.heartbeat({ done, total }),
    });
    const result = {
      run_id: summary.run_id,
      accounts_checked: summary.accounts_checked,
      accounts_corrected: summary.accounts_corrected,
      events_recorded: summary.events_recorded,
      errors: summary.errors,
    };
    const log = summary.errors.length === 0 ? logger.info.bind(logger) : logger.warn.bind(logger);
    log({ ...result, errors: summary.errors.length }, 'Stripe reconciliation');
    return result;
  };
}
