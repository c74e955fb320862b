// The relay of the delivery outbox: after the commit it asks Temporal for a wake-up of the event's
// account (signal-with-start `eventsPending`), keeping at most one wake-up in flight per account:
// from sending it until the batch it started is applied (an apply notification, see
// src/delivery/applied-events-channel.ts), or a hold's safety timeout. Later events ride the next one.
// Sending and what the answer means for the events is wake.ts; the sweeper
// (src/delivery/sweeper.ts) finds whatever the relay did not get through.
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
import { type AttemptResult, type WakeUp, WakeUpSender } from './wake';

export { DEFAULT_MAX_DELIVERY_FAILURES, type AttemptResult, type WakeUp } from './wake';

/** An account woken within this long counts as busy: its next wake-up keeps to `maxInFlight`. */
const RECENT_MS = 60_000;
/** Accounts remembered as recently woken at most (the oldest are forgotten first). */
const RECENT_MAX_ACCOUNTS = 100_000;

/** One account's place in the relay: at most one wake-up in flight, the next one collecting. */
interface AccountRelay {
  /** A wake-up is wanted: the account is in the ready queue, or will be when in flight ends. */
  queued: boolean;
  /** A wake-up is being sent, or was accepted and its events are not applied yet (held). */
  inFlight: boolean;
  /** While held: the wake-up's `upTo`, released once the account is applied up to it. */
  holding: bigint | null;
  holdTimer: NodeJS.Timeout | null;
  /** Highest event id the account is known to be applied up to (apply notifications). */
  appliedUpTo: bigint;
  /** Highest event id committed before the next wake-up is sent. */
  upTo: bigint;
  /** Events waiting for the next wake-up, for failure bookkeeping (refusals, dead letters). */
  eventIds: string[];
  resend: boolean;
  waiters: ((r: AttemptResult) => void)[];
}

export class DeliveryRelay {
  private stopping = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** While Temporal looks unavailable, webhooks answer at database speed (no inline attempt). */
  private inlinePausedUntil = 0;
  private readonly accounts = new Map<string, AccountRelay>();
  private readonly ready: string[] = [];
  /** When each account's last wake-up went out, oldest first; entries older than RECENT_MS go. */
  private readonly lastSent = new Map<string, number>();
  private sending = 0;
  /** Accounts whose accepted wake-up waits to be applied (held): they count as in flight. */
  private held = 0;
  /** Apply notifications arrive (AppliedEventsListener): only then are accepted wake-ups held. */
  private hearingApplied = false;
  private readonly sender: WakeUpSender;

  constructor(
    private readonly pool: pg.Pool,
    temporal: BillingTemporal,
    logger: Logger,
    private readonly opts: RelayOptions,
    /** Whether a sweep runs now: then a paused relay still sends what the sweep asks for. */
    private readonly sweepRunning: () => boolean,
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
  }

  /** Stopping: nothing new is sent; what is queued resolves `unavailable`. */
  get isStopping(): boolean {
    return this.stopping;
  }

  markStopping(): void {
    this.stopping = true;
  }

  /** Writes and wake-ups still under way, for a stop to wait on. */
  pending(): Promise<unknown>[] {
    return [...this.inFlight];
  }

  /**
   * One wake-up for this event's account, right now, outside the relay (the operator's retry).
   * Never throws.
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
   * After the commit: asks the relay for a wake-up of the event's account and, with `waitMs`,
   * waits at most that long for Temporal to accept it. With `waitMs` 0 the wake-up goes out after
   * the answer. While Temporal is unavailable nothing is attempted inline: the sweeper delivers.
   */
  async deliverSoon(event: StoredEvent): Promise<'delivered' | 'pending'> {
    if (this.stopping || Date.now() < this.inlinePausedUntil) return 'pending';
    const w = { upTo: BigInt(event.id), eventIds: [event.id], resend: false };
    if (this.opts.waitMs <= 0) {
      this.enqueue(event.account_id, w, null);
      return 'pending';
    }
    const accepted = this.request(event.account_id, w);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'waited'>((resolve) => {
      timer = setTimeout(() => resolve('waited'), this.opts.waitMs);
    });
    const result = await Promise.race([accepted, waited]);
    clearTimeout(timer);
    // Temporal not answering in time looks unavailable; waiting for a turn behind other accounts
    // (maxInFlight) does not.
    if (result === 'waited' && this.isSending(event.account_id)) this.pauseInline();
    return result === 'delivered' ? 'delivered' : 'pending';
  }

  /**
   * Queues a wake-up for the account: joins the one waiting to be sent, or, when one is in
   * flight, makes sure another follows it (events committed after a wake-up was sent may not be
   * seen by the batch it triggers). Resolves with the result of the wake-up that covers it.
   */
  request(accountId: string, w: WakeUp): Promise<AttemptResult> {
    return new Promise<AttemptResult>((resolve) => {
      if (!this.enqueue(accountId, w, resolve)) resolve('unavailable');
    });
  }

  /**
   * Adds the wake-up to the account's next one (`waiter` hears its result). False when the account
   * is not in hand and `maxWaiting` accounts already wait: the sweeper finds its events later.
   */
  private enqueue(
    accountId: string,
    w: WakeUp,
    waiter: ((r: AttemptResult) => void) | null,
  ): boolean {
    let relay = this.accounts.get(accountId);
    if (!relay) {
      if (this.ready.length >= (this.opts.maxWaiting ?? DEFAULT_MAX_WAITING)) return false;
      relay = {
        queued: false,
        inFlight: false,
        holding: null,
        holdTimer: null,
        appliedUpTo: 0n,
        upTo: 0n,
        eventIds: [],
        resend: false,
        waiters: [],
      };
      this.accounts.set(accountId, relay);
    }
    if (w.upTo > relay.upTo) relay.upTo = w.upTo;
    relay.eventIds.push(...w.eventIds);
    relay.resend ||= w.resend;
    if (waiter) relay.waiters.push(waiter);
    if (!relay.queued) {
      relay.queued = true;
      // An account in flight joins the ready queue when its wake-up is answered (or applied).
      if (!relay.inFlight) {
        this.ready.push(accountId);
        setImmediate(() => this.pump());
      }
    }
    return true;
  }

  /**
   * Sends the ready accounts in turn while wake-ups may go. The bound (`maxInFlight`) makes busy
   * accounts wait and collect events; an account not woken in the last minute gains nothing by
   * waiting (its next events may be far off), so its wake-up may go while up to twice as many
   * are out — a renewal day's accounts, or a backlog's, each carry one batch anyway.
   */
  pump(): void {
    const max = this.opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const now = Date.now();
    this.forgetSentBefore(now - RECENT_MS);
    while (this.ready.length > 0) {
      const accountId = this.ready[0] as string;
      const relay = this.accounts.get(accountId);
      if (!relay || !relay.queued || relay.inFlight) {
        this.ready.shift();
        continue;
      }
      const bound = this.lastSent.has(accountId) ? max : 2 * max;
      if (this.sending + this.held >= bound) break;
      this.ready.shift();
      this.lastSent.delete(accountId);
      this.lastSent.set(accountId, now);
      this.track(this.send(accountId, relay));
    }
  }

  private forgetSentBefore(cutoff: number): void {
    for (const [accountId, at] of this.lastSent) {
      if (at >= cutoff && this.lastSent.size <= RECENT_MAX_ACCOUNTS) break;
      this.lastSent.delete(accountId);
    }
  }

  private async send(accountId: string, relay: AccountRelay): Promise<void> {
    relay.queued = false;
    relay.inFlight = true;
    this.sending += 1;
    const waiters = relay.waiters.splice(0);
    const w = { upTo: relay.upTo, eventIds: relay.eventIds.splice(0), resend: relay.resend };
    relay.resend = false;
    const skip =
      this.stopping || (Date.now() < this.inlinePausedUntil && !w.resend && !this.sweepRunning());
    // Awaited either way: answered at once, the rest of this call (and the next account's send
    // from pump) would run inside the caller's pump, one stack frame per waiting account, and
    // stopping or a Temporal outage with thousands waiting overflowed the stack.
    const result = await (skip ? 'unavailable' : this.sender.wake(accountId, w));
    for (const resolve of waiters) resolve(result);
    this.sending -= 1;
    if (result === 'delivered' && this.hearingApplied && !this.stopping && this.holdMs > 0) {
      this.hold(accountId, relay, w.upTo, this.holdMs);
    } else {
      this.release(accountId, relay);
    }
    this.pump();
  }

  /**
   * Temporal accepted the wake-up: the account's next one waits until its batch has applied the
   * events up to `upTo` — it then takes only events that batch did not see — or `holdMs` passed.
   */
  private hold(accountId: string, relay: AccountRelay, upTo: bigint, holdMs: number): void {
    if (relay.appliedUpTo >= upTo) {
      this.release(accountId, relay);
      return;
    }
    relay.holding = upTo;
    this.held += 1;
    relay.holdTimer = setTimeout(() => {
      this.release(accountId, relay);
      this.pump();
    }, holdMs);
    relay.holdTimer.unref();
  }

  private release(accountId: string, relay: AccountRelay): void {
    if (relay.holdTimer) clearTimeout(relay.holdTimer);
    relay.holdTimer = null;
    if (relay.holding !== null) this.held -= 1;
    relay.holding = null;
    relay.inFlight = false;
    if (relay.queued) this.ready.push(accountId);
    else if (relay.waiters.length === 0) this.accounts.delete(accountId);
  }

  /**
   * The apply transaction of `accountId` committed events up to `upTo`: a held wake-up it covers
   * is done, and a queued one goes out. (Even when its events have lower ids: ids are taken at
   * INSERT, commits may land in another order, so that batch may not have seen them.)
   */
  applied(accountId: string, upTo: bigint): void {
    const relay = this.accounts.get(accountId);
    if (!relay) return;
    if (upTo > relay.appliedUpTo) relay.appliedUpTo = upTo;
    if (relay.holding === null || upTo < relay.holding) return;
    this.release(accountId, relay);
    this.pump();
  }

  /** Whether apply notifications are heard; without them nothing is held. */
  setHearingApplied(listening: boolean): void {
    this.hearingApplied = listening;
    if (listening) return;
    this.releaseHeld();
    this.pump();
  }

  /** How long an accepted wake-up holds its account at most (0: never held). */
  get holdMs(): number {
    return this.opts.holdMs ?? DEFAULT_HOLD_MS;
  }

  private isSending(accountId: string): boolean {
    const relay = this.accounts.get(accountId);
    return relay !== undefined && relay.inFlight && relay.holding === null;
  }

  /** The relay has a wake-up of the account queued, being sent, or held. */
  hasInHand(accountId: string): boolean {
    const relay = this.accounts.get(accountId);
    return relay !== undefined && (relay.queued || relay.inFlight);
  }

  /** Stopping: held accounts are let go, so their queued wake-ups resolve. */
  releaseHeld(): void {
    for (const [accountId, relay] of this.accounts) {
      if (relay.holding !== null) this.release(accountId, relay);
    }
  }

  private pauseInline(): void {
    this.inlinePausedUntil = Date.now() + (this.opts.pauseAfterFailureMs ?? 10_000);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
