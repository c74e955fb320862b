import { createApplyPendingEventsActivity } from './apply-pending-events';
import type { ActivityDeps } from './deps';
import { createExpireOverrideActivity } from './expire-override';
import { createLoadAccountActivity } from './load-account';
import { createReconcileStripeAccountsActivity } from './reconcile-stripe-accounts';
import { createReconcileSubscriptionsActivity } from './reconcile-subscriptions';
import { createRecordEventActivity } from './record-event';
import { createRunDailyCheckActivity } from './run-daily-check';
import { createSendNotificationsActivity } from './send-notifications';

export type { ActivityDeps, StripeActivityDeps } from './deps';
export type { AppliedEvent, ApplyPendingInput, ApplyPendingResult } from './apply-pending-events';
export type { TimerEventInput } from './record-event';
export type { ReconcileSubscriptionsInput } from './reconcile-subscriptions';

/**
 * Every activity the worker registers, bound to its dependencies. The registered names (the keys)
 * read like the audit trail and live in workflow histories: never rename them.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    loadAccount: createLoadAccountActivity(deps),
    recordEvent: createRecordEventActivity(deps),
    applyPendingEvents: createApplyPendingEventsActivity(deps),
    expireOverride: createExpireOverrideActivity(deps),
    runDailyCheck: createRunDailyCheckActivity(deps),
    reconcileStripeAccounts: createReconcileStripeAccountsActivity(deps),
    reconcileSubscriptions: createReconcileSubscriptionsActivity(deps),
    sendNotifications: createSendNotificationsActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
