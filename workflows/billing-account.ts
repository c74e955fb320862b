// One long-lived workflow per account (`billing-account:<accountId>`): the single writer of the
// account. A wake-up applies the account's stored events through the pure transition in one
// transaction per batch; the workflow owns the account's durable timers (trial end, cancel at
// period end, dunning grace). The steps are named in account-run.ts; this file keeps the handlers
// and the loop. Deterministic: no IO here, only activities.
import { continueAsNew, setHandler } from '@temporalio/workflow';

import type { BillingEvent } from '../src/domain/types';
import { AccountRun, type AccountRunInput } from './account-run';
import {
  accountStateQuery,
  applyEventUpdate,
  eventsPendingSignal,
  reloadStateSignal,
} from './messages';

export type BillingAccountInput = AccountRunInput;
export { MAX_HISTORY_BYTES_PER_RUN, MAX_WAKEUPS_PER_RUN, PROCESSED_IDS_KEPT } from './account-run';

export async function billingAccountWorkflow(input: BillingAccountInput): Promise<void> {
  const run = new AccountRun(input);

  // Handlers are registered before the first await, so signal/update-with-start find them.
  setHandler(eventsPendingSignal, () => {
    run.wakeRequested = true;
  });
  setHandler(reloadStateSignal, () => {
    run.reloadRequested = true;
  });
  setHandler(applyEventUpdate, (event) => run.applyAndAnswer(event), {
    validator: (event: BillingEvent) => {
      if (event.account_id !== run.accountId)
        throw new Error(
          `Event ${event.event_id} is for ${event.account_id}, not ${run.accountId}.`,
        );
    },
  });
  setHandler(accountStateQuery, () => run.view());

  for (;;) {
    await run.waitForWorkOrDeadline();
    await run.reloadIfAsked();
    await run.applyPending();
    await run.continueAsNewIfDue((next) => continueAsNew<typeof billingAccountWorkflow>(next));
  }
}
