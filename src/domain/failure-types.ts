// Type names of the non-retryable Temporal failures activities raise and workflows' retry
// policies name: one spelling for both sides.
export const FAILURE_TYPES = {
  /** Stripe was to be asked, but this worker has no STRIPE_API_KEY. */
  stripeApiKeyMissing: 'StripeApiKeyMissing',
} as const;
