import type { ActivityDeps } from './deps';
import { loadAccount } from './load-account';
import { recordEvent } from './record-event';
import { applyTransition } from './apply-transition';
import { applyPendingEvents } from './apply-pending-events';
import { expireOverride } from './expire-override';
import { runDailyCheckActivity } from './run-daily-check';
import { reconcileStripeAccounts } from './reconcile-stripe-accounts';
import { reconcileSubscriptions } from './reconcile-subscriptions';

export type { ActivityDeps, StripeActivityDeps } from './deps';
export type { ApplyInput, ApplyResult } from './apply-transition';
export type { AppliedEvent, ApplyPendingInput, ApplyPendingResult } from './apply-pending-events';
export type { TimerEventInput } from './record-event';
export type { ReconcileSubscriptionsInput } from './reconcile-subscriptions';

/** Every activity the worker registers, bound to its dependencies. Names read like the audit trail. */
export function createActivities(deps: ActivityDeps) {
  return {
    loadAccount: loadAccount(deps),
    recordEvent: recordEvent(deps),
    applyTransition: applyTransition(deps),
    applyPendingEvents: applyPendingEvents(deps),
    expireOverride: expireOverride(deps),
    runDailyCheck: runDailyCheckActivity(deps),
    reconcileStripeAccounts: reconcileStripeAccounts(deps),
    reconcileSubscriptions: reconcileSubscriptions(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
