// The worker's workflow bundle entry: workflows only.
export { billingAccountWorkflow } from './billing-account';
export { gateOverrideWorkflow } from './gate-override';
export { dailyCheckWorkflow } from './daily-check';
export { reconcileStripeWorkflow } from './reconcile-stripe';
export { notificationEndpointWorkflow } from './notification-endpoint';
