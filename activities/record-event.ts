import { insertEvent, toBillingEvent } from '../src/db/queries/billing-events';
import type { BillingEvent, TimerFired } from '../src/domain/types';
import type { ActivityDeps } from './deps';

export interface TimerEventInput {
  account_id: string;
  timer: TimerFired['timer'];
  due_at: string;
  /** The account's last event when the timer fired: a new firing after any change is a new event. */
  after_event_id: string | null;
}

/**
 * Stores an event the workflow itself produces (a timer firing) in billing_events, so it is
 * audited and rebuilt like any webhook. Idempotent on its dedupe key.
 */
export function createRecordEventActivity({ pool }: ActivityDeps) {
  return async (input: TimerEventInput): Promise<BillingEvent> => {
    const data: TimerFired = { kind: 'timer.fired', timer: input.timer, due_at: input.due_at };
    const { event } = await insertEvent(pool, {
      source: 'timer',
      dedupe_key: `timer:${input.account_id}:${input.timer}:${input.due_at}:${input.after_event_id ?? '-'}`,
      event_type: `timer.${input.timer}`,
      account_id: input.account_id,
      occurred_at: input.due_at,
      object_key: null,
      payload: data,
      data,
    });
    return toBillingEvent(event);
  };
}
