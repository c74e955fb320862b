// The delivery outbox: gets stored events to their account workflow, at least once (SPEC §4.5).
// Delivery is keyed by account: a wake-up (signal-with-start `eventsPending`) makes the workflow
// apply every stored, unprocessed event of the account, so the relay keeps at most one wake-up in
// flight per account and later events ride the next one. The HTTP path only asks for a wake-up
// after its commit and answers; whatever did not get through — Temporal down, a process killed
// between commit and signal — the sweeper finds from billing_events (outcome NULL) and
// account_deliveries. The relay is relay.ts (its decisions relay-scheduler.ts), the sweeper
// sweeper.ts; this class runs them together and tells what they did as `events`.
import { EventEmitter } from 'node:events';

import type pg from 'pg';

import type { StoredEvent } from '../db/queries/billing-events';
import type { Logger } from '../log';
import type { BillingTemporal } from '../temporal/client';
import { AppliedEventsListener } from './applied-events-channel';
import { type AttemptResult, DeliveryRelay, type Handover } from './relay';
import type { RelayOptions } from './relay-options';
import type { RelayEvent } from './relay-scheduler';
import { DeliverySweeper, type SweepEvent, type SweepOptions } from './sweeper';

export { DEFAULT_MAX_DELIVERY_FAILURES, type AttemptResult, type Handover } from './relay';

export type DeliveryOptions = RelayOptions & SweepOptions;

/** What the relay and the sweeper did: sent, held, released, swept. */
export type DeliveryEvent = RelayEvent | SweepEvent;

export class EventDelivery {
  /** Every DeliveryEvent, as `delivery`; tests await these instead of sleeping. */
  readonly events = new EventEmitter<{ delivery: [DeliveryEvent] }>();
  private readonly relay: DeliveryRelay;
  private readonly sweeper: DeliverySweeper;
  /** Hears which accounts' events were applied, so the relay holds an account's next wake-up. */
  private readonly applied: AppliedEventsListener;

  constructor(pool: pg.Pool, temporal: BillingTemporal, logger: Logger, opts: DeliveryOptions) {
    const emit = (event: DeliveryEvent) => this.events.emit('delivery', event);
    this.relay = new DeliveryRelay(
      pool,
      temporal,
      logger,
      opts,
      () => this.sweeper.current !== null,
      emit,
    );
    this.sweeper = new DeliverySweeper(pool, this.relay, logger, opts, emit);
    this.applied = new AppliedEventsListener(pool, {
      onApplied: (accountId, upTo) => this.relay.applied(accountId, upTo),
      onListening: (listening) => this.relay.setHearingApplied(listening),
    });
  }

  /**
   * One wake-up for this event's account, right now, outside the relay's queue (the operator's
   * retry). Never throws.
   */
  attempt(event: StoredEvent): Promise<AttemptResult> {
    return this.relay.attempt(event);
  }

  /** After the commit: a wake-up for the event's account through the relay (see deliverSoon there). */
  deliverSoon(event: StoredEvent): Promise<Handover> {
    return this.relay.deliverSoon(event);
  }

  /** One sweep now; how many wake-ups Temporal accepted. */
  sweepOnce(): Promise<number> {
    return this.sweeper.sweepOnce();
  }

  /** Sweeps every `sweepIntervalMs` and listens for applied events until stop(). */
  start(): void {
    this.sweeper.start();
    if (this.relay.holdMs > 0) this.applied.start();
  }

  /** Stops sweeping and sending, and waits for what is under way. */
  async stop(): Promise<void> {
    this.relay.stop();
    this.sweeper.stopTimer();
    await this.applied.stop();
    await Promise.allSettled([...this.relay.pending(), this.sweeper.current]);
    await Promise.allSettled(this.relay.pending());
  }
}
