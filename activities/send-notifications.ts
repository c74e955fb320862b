import { heartbeat } from '@temporalio/activity';

import {
  type SendDueInput,
  sendDueNotifications,
  type SendDueResult,
} from '../src/notify/dispatch';
import type { ActivityDeps } from './deps';

/**
 * One round of an endpoint's notifications (SPEC §10): the due head message of each account,
 * signed and POSTed, each answer recorded as it comes, so an attempt cut short repeats at most
 * the messages in flight (at least once; the host dedupes by webhook-id). Heartbeats after each
 * answer: a worker killed mid-round is noticed within the heartbeat timeout.
 */
export function createSendNotificationsActivity({ pool, notify }: ActivityDeps) {
  return async (input: SendDueInput): Promise<SendDueResult> =>
    sendDueNotifications(
      {
        pool,
        allowPrivate: notify?.allowPrivate ?? false,
        timeoutMs: notify?.timeoutMs,
        onProgress: () => heartbeat(),
      },
      input,
    );
}
