// The relay of the delivery outbox: after the commit it asks for a wake-up of the event's account
// (signal-with-start `eventsPending`). What goes out when is the scheduler's decision
// (relay-scheduler.ts); this class carries it out — sends through wake.ts, hears the apply
// notifications (applied-events-channel.ts) — and decides what a webhook answer can say about its
// event. The sweeper (sweeper.ts) finds whatever the relay did not get through.
import type pg from 'pg';

import type { StoredEvent } from '../db/queries/billing-events';
import { markDelivered } from '../db/queries/event-deliveries';
import type { Logger } from '../log';
import type { BillingTemporal } from '../temporal/client';
import {
  DEFAULT_HOLD_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_WAITING,
  type RelayOptions,
} from './relay-options';
import { type Clock, type RelayEvent, RelayScheduler, systemClock } from './relay-scheduler';
import { type AttemptResult, type WakeUp, WakeUpSender } from './wake';

export { DEFAULT_MAX_DELIVERY_FAILURES, type AttemptResult, type WakeUp } from './wake';

/**
 * What a webhook answer says about its event's way to the workflow (`delivery`, docs/api.md):
 * - `accepted_by_workflow`: Temporal accepted the account's wake-up (only when the answer waits,
 *   DELIVERY_WAIT_MS > 0);
 * - `sending`: the account's wake-up goes out right after the answer;
 * - `waiting_turn`: it rides the account's next wake-up, held behind the one in flight, or waits
 *   its turn under the in-flight bound — Temporal is up, this is the relay batching;
 * - `queued`: Temporal was slow or down (or the service is stopping, or too many accounts wait):
 *   the sweeper delivers it.
 */
export type Handover = 'accepted_by_workflow' | 'sending' | 'waiting_turn' | 'queued';

export class DeliveryRelay {
  private readonly scheduler: RelayScheduler;
  private readonly sender: WakeUpSender;
  private stopping = false;
  /** While Temporal looks unavailable, webhooks answer at database speed (no inline attempt). */
  private inlinePausedUntil = 0;
  /** Database writes after an answer, for a stop to wait on. */
  private readonly writes = new Set<Promise<unknown>>();

  constructor(
    private readonly pool: pg.Pool,
    temporal: BillingTemporal,
    logger: Logger,
    private readonly opts: RelayOptions,
    /** Whether a sweep runs now: then a paused relay still sends what the sweep asks for. */
    private readonly sweepRunning: () => boolean,
    onEvent?: (event: RelayEvent) => void,
    private readonly clock: Clock = systemClock,
  ) {
    this.sender = new WakeUpSender(
      pool,
      temporal,
      logger,
      opts,
      (p) => this.track(p),
      (available) => {
        if (available) this.inlinePausedUntil = 0;
        else this.pauseInline();
      },
    );
    this.scheduler = new RelayScheduler(
      (accountId, w) => this.send(accountId, w),
      {
        maxInFlight: opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
        maxWaiting: opts.maxWaiting ?? DEFAULT_MAX_WAITING,
        holdMs: this.holdMs,
        onEvent,
      },
      clock,
    );
  }

  /** Stopping: nothing new is sent; what is queued resolves `unavailable`. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Stops sending: held accounts are let go, so their queued wake-ups resolve. */
  stop(): void {
    this.stopping = true;
    this.scheduler.stop();
  }

  /** Sends and writes still under way, for a stop to wait on. */
  pending(): Promise<unknown>[] {
    return [...this.scheduler.pending(), ...this.writes];
  }

  /**
   * One wake-up for this event's account, right now, outside the scheduler (the operator's
   * retry). Never throws.
   */
  async attempt(event: StoredEvent): Promise<AttemptResult> {
    const result = await this.sender.wake(event.account_id, {
      upTo: BigInt(event.id),
      eventIds: [event.id],
      resend: false,
    });
    if (result === 'delivered')
      this.track(markDelivered(this.pool, event.id).catch(() => undefined));
    return result;
  }

  /**
   * After the commit: asks for a wake-up of the event's account and, with `waitMs`, waits at most
   * that long for Temporal to accept it. While Temporal is unavailable nothing is attempted
   * inline: the sweeper delivers. Says how far the event got (Handover).
   */
  async deliverSoon(event: StoredEvent): Promise<Handover> {
    if (this.stopping || this.clock.now() < this.inlinePausedUntil) return 'queued';
    const w = { upTo: BigInt(event.id), eventIds: [event.id], resend: false };
    if (this.opts.waitMs <= 0) return handover(this.scheduler.request(event.account_id, w));
    let timer: unknown;
    const waited = new Promise<'waited'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('waited'), this.opts.waitMs);
    });
    const result = await Promise.race([this.request(event.account_id, w), waited]);
    this.clock.clearTimeout(timer);
    if (result === 'delivered') return 'accepted_by_workflow';
    if (result !== 'waited') return 'queued';
    // Temporal not answering in time looks unavailable; waiting behind the account's wake-up in
    // flight, or for a turn behind other accounts (maxInFlight), does not.
    if (!this.scheduler.isSending(event.account_id)) return 'waiting_turn';
    this.pauseInline();
    return 'queued';
  }

  /** A wake-up of the account through the scheduler; resolves with the result of the one covering it. */
  request(accountId: string, w: WakeUp): Promise<AttemptResult> {
    return new Promise<AttemptResult>((resolve) => {
      if (this.scheduler.request(accountId, w, resolve) === 'full') resolve('unavailable');
    });
  }

  /** The scheduler's way out: a stopping relay, or a paused one outside a sweep, sends nothing. */
  private send(accountId: string, w: WakeUp): Promise<AttemptResult> {
    const paused = this.clock.now() < this.inlinePausedUntil && !w.resend && !this.sweepRunning();
    if (this.stopping || paused) return Promise.resolve('unavailable');
    return this.sender.wake(accountId, w);
  }

  /** The apply transaction of `accountId` committed events up to `upTo` (a notification). */
  applied(accountId: string, upTo: bigint): void {
    this.scheduler.applied(accountId, upTo);
  }

  /** Whether apply notifications are heard; without them nothing is held. */
  setHearingApplied(listening: boolean): void {
    this.scheduler.setHearingApplied(listening);
  }

  /** How long an accepted wake-up holds its account at most (0: never held). */
  get holdMs(): number {
    return this.opts.holdMs ?? DEFAULT_HOLD_MS;
  }

  /** The relay has a wake-up of the account queued, being sent, or held. */
  hasInHand(accountId: string): boolean {
    return this.scheduler.hasInHand(accountId);
  }

  private pauseInline(): void {
    this.inlinePausedUntil = this.clock.now() + (this.opts.pauseAfterFailureMs ?? 10_000);
  }

  private track(p: Promise<unknown>): void {
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }
}

function handover(turn: 'next' | 'waiting' | 'full'): Handover {
  return turn === 'next' ? 'sending' : turn === 'waiting' ? 'waiting_turn' : 'queued';
}
