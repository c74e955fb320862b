import { insertEvent, toBillingEvent } from '../src/db/queries/billing-events';
import { timerEventFields } from '../src/domain/fold';
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
    const fields = timerEventFields(input);
    const { event } = await insertEvent(pool, { ...fields, payload: fields.data });
    return toBillingEvent(event);
  };
}
