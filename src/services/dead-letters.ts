// Dead-lettered events (SPEC §4.5's "never lost", for the events that cannot be delivered): list,
// inspect, and send again. Shared by the CLI; the daily check and /metrics count them.
import type pg from 'pg';

import { findEventById } from '../db/queries/billing-events';
import {
  type DeadLetter,
  getDeadLetter,
  lastDeliveryError,
  listDeadLetters,
  reviveDeadLetter,
} from '../db/queries/event-deliveries';
import type { AttemptResult, EventDelivery } from '../delivery/outbox';
import { AppError } from '../domain/errors';

export { listDeadLetters };

export interface DeadLetterDetail extends DeadLetter {
  /** The whole account id (the list shows its first 60 characters). */
  full_account_id: string;
  payload: unknown;
}

function notDead(eventId: string): AppError {
  return new AppError(
    'dead_letter_not_found',
    `Event ${eventId} is not dead-lettered (it does not exist, was processed, or is still being delivered); see \`dead-letters list\`.`,
    404,
  );
}

export async function showDeadLetter(pool: pg.Pool, eventId: string): Promise<DeadLetterDetail> {
  const dead = /^\d+$/.test(eventId) ? await getDeadLetter(pool, eventId) : null;
  const event = dead ? await findEventById(pool, eventId) : null;
  if (!dead || !event) throw notDead(eventId);
  return { ...dead, full_account_id: event.account_id, payload: event.payload };
}

export interface RetryResult {
  event_id: string;
  result: AttemptResult;
  /** Why it is still not delivered (null once delivered). */
  last_error: string | null;
}

/**
 * Takes the event out of the dead letters with a clean failure count and tries it once now. An
 * event that still cannot be delivered goes straight back, with the reason.
 */
export async function retryDeadLetter(
  deps: { pool: pg.Pool; delivery: EventDelivery },
  eventId: string,
): Promise<RetryResult> {
  if (!/^\d+$/.test(eventId)) throw notDead(eventId);
  const event = await findEventById(deps.pool, eventId);
  if (!event || event.outcome !== null || !(await reviveDeadLetter(deps.pool, eventId)))
    throw notDead(eventId);
  const result = await deps.delivery.attempt(event);
  return {
    event_id: eventId,
    result,
    last_error: result === 'delivered' ? null : await lastDeliveryError(deps.pool, eventId),
  };
}
