// One long-lived workflow per notification endpoint (`notification-endpoint:<id>`, SPEC §10):
// it runs rounds of `sendNotifications` (each round sends the due head message of every account
// and records each answer) and sleeps until the next message falls due or a wake-up arrives. The
// retry schedule lives in PostgreSQL (notification_messages), so the history grows by one
// activity per round, not per message; the workflow's clock is handed to each round, so
// time-skipping tests can run days of pauses. Deterministic: no IO here, only activities.
import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';

import { notificationsPendingSignal } from './messages';
import { notifySend } from './proxies';

export interface NotificationEndpointInput {
  endpoint_id: string;
}

/** Rounds per run before continue-as-new, so a busy endpoint's history stays small. */
export const MAX_ROUNDS_PER_RUN = 500;

export async function notificationEndpointWorkflow(
  input: NotificationEndpointInput,
): Promise<void> {
  // Set by a wake-up (new messages queued, or an operator's retry); cleared before each round,
  // so one arriving during a round makes the next round start at once.
  let woken = false;
  setHandler(notificationsPendingSignal, () => {
    woken = true;
  });
  for (let round = 0; ; round++) {
    woken = false;
    const r = await notifySend.sendNotifications({
      endpoint_id: input.endpoint_id,
      now: new Date(Date.now()).toISOString(),
    });
    if (r.stopped) return;
    if (round + 1 >= MAX_ROUNDS_PER_RUN || workflowInfo().continueAsNewSuggested)
      return continueAsNew<typeof notificationEndpointWorkflow>(input);
    if (r.more) continue;
    const waitMs = r.next_due_at === null ? null : Date.parse(r.next_due_at) - Date.now();
    if (waitMs === null) await condition(() => woken);
    else if (waitMs > 0) await condition(() => woken, waitMs);
  }
}
