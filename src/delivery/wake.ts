// One wake-up sent to Temporal (signal-with-start `eventsPending`) and what its answer means for
// the account's events: accepted (the account's woken mark in account_deliveries), refused
// (counted against its events, dead-lettered at the limit), or Temporal unavailable (the events
// are left to the sweeper). The relay (relay.ts) decides when to send one.
import type pg from 'pg';

import { markAccountWoken } from '../db/queries/account-deliveries';
import { markDeliveryFailed } from '../db/queries/event-deliveries';
import type { Logger } from '../log';
import { type BillingTemporal, wakeAccount } from '../temporal/client';
import { accountWorkflowIdProblem } from '../temporal/ids';
import { classifyDeliveryError, describeDeliveryError } from './errors';

/**
 * `delivered`: the workflow has it. `unavailable`: Temporal itself did not answer; nothing is
 * known about the event. `failed`: Temporal refused this event; it backs off and is tried again.
 * `dead`: the event can never be delivered (or was refused too often): it is dead-lettered and
 * waits for an operator (`npm run ops -- dead-letters`).
 */
export type AttemptResult = 'delivered' | 'unavailable' | 'failed' | 'dead';

/** Refusals of one event before it is dead-lettered. */
export const DEFAULT_MAX_DELIVERY_FAILURES = 5;

/** What one wake-up covers: events up to `upTo`, the ids its failures are counted against. */
export interface WakeUp {
  upTo: bigint;
  eventIds: string[];
  resend: boolean;
}

export interface WakeUpOptions {
  /** Per-attempt timeout of a signal-with-start. */
  signalTimeoutMs?: number;
  /** Refusals of one event (not "Temporal unavailable") before it is dead-lettered. */
  maxFailures?: number;
}

export class WakeUpSender {
  constructor(
    private readonly pool: pg.Pool,
    private readonly temporal: BillingTemporal,
    private readonly logger: Logger,
    private readonly opts: WakeUpOptions,
    /** Database writes that follow an answer, for a stop to wait on. */
    private readonly track: (p: Promise<unknown>) => void,
    /** Temporal answered (accepted) or did not (unavailable). */
    private readonly onTemporal: (available: boolean) => void,
  ) {}

  private get maxFailures(): number {
    return this.opts.maxFailures ?? DEFAULT_MAX_DELIVERY_FAILURES;
  }

  /** Sends one wake-up and records the result: per account when accepted, per event when not. */
  async wake(accountId: string, w: WakeUp): Promise<AttemptResult> {
    const impossible = accountWorkflowIdProblem(accountId);
    if (impossible !== null) return this.refused(accountId, w.eventIds, impossible, true);
    try {
      await wakeAccount(this.temporal, accountId, this.opts.signalTimeoutMs ?? 5000);
      this.onTemporal(true);
      this.track(
        markAccountWoken(this.pool, accountId, w.upTo.toString(), { resend: w.resend }).catch(
          () => undefined,
        ),
      );
      return 'delivered';
    } catch (err) {
      const error = describeDeliveryError(err);
      if (classifyDeliveryError(err) === 'event')
        return this.refused(accountId, w.eventIds, error, false);
      this.logger.warn(
        { account_id: accountId.slice(0, 60), events: w.eventIds.length, err: error },
        'Temporal unavailable; delivery deferred to the sweeper',
      );
      this.onTemporal(false);
      for (const id of w.eventIds)
        this.track(
          markDeliveryFailed(this.pool, id, {
            error,
            eventFailure: false,
            maxFailures: this.maxFailures,
          }).catch(() => undefined),
        );
      return 'unavailable';
    }
  }

  /** This account's events (not Temporal) are the problem: count it, dead-letter at the limit. */
  private async refused(
    accountId: string,
    eventIds: string[],
    error: string,
    permanent: boolean,
  ): Promise<'failed' | 'dead'> {
    let dead = permanent;
    try {
      for (const id of eventIds)
        ({ dead } = await markDeliveryFailed(this.pool, id, {
          error,
          eventFailure: true,
          permanent,
          maxFailures: this.maxFailures,
        }));
    } catch {
      // The database is in trouble too; the sweeper finds the events again.
    }
    this.logger.warn(
      { event_ids: eventIds.slice(0, 10), account_id: accountId.slice(0, 60), err: error, dead },
      dead ? 'event dead-lettered: it cannot be delivered' : 'Temporal refused the event',
    );
    return dead ? 'dead' : 'failed';
  }
}
