import { ApplicationFailure } from '@temporalio/activity';

import { FAILURE_TYPES } from '../src/domain/failure-types';
import { type AskedSubscriptions, askStripeAbout } from '../src/services/reconcile/stripe';
import type { ActivityDeps } from './deps';

export interface ReconcileSubscriptionsInput {
  account_id: string;
  subscription_ids: string[];
}

/**
 * Asks Stripe for subscriptions whose same-second events disagreed, and stores each answer that
 * differs from the account as a `reconcile` event; the account workflow applies it next. Safe to
 * retry: an answer already stored is not stored twice (its dedupe key).
 */
export function createReconcileSubscriptionsActivity({ pool, logger, stripe }: ActivityDeps) {
  return async (input: ReconcileSubscriptionsInput): Promise<AskedSubscriptions> => {
    if (!stripe) {
      throw ApplicationFailure.nonRetryable(
        'STRIPE_API_KEY is not set on this worker, so Stripe cannot be asked about an equal-second conflict; the daily reconciliation settles it where the key is set.',
        FAILURE_TYPES.stripeApiKeyMissing,
      );
    }
    const asked = await askStripeAbout({ pool }, stripe.api(), input.account_id, [
      ...input.subscription_ids,
    ]);
    logger.info(
      { account_id: input.account_id, subscription_ids: input.subscription_ids, ...asked },
      'Stripe asked about an equal-second conflict',
    );
    return asked;
  };
}
