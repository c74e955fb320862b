// Type names of the non-retryable Temporal failures activities raise and workflows' retry
// policies name: one spelling for both sides.
export const FAILURE_TYPES = {
  /** applyTransition was handed an event that is not in billing_events. */
  eventNotStored: 'EventNotStored',
  /** Stripe was to be asked, but this worker has no STRIPE_API_KEY. */
  stripeApiKeyMissing: 'StripeApiKeyMissing',
} as const;
