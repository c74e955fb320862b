// The relay of the delivery outbox: after the commit it asks Temporal for a wake-up of the event's
// account (signal-with-start `eventsPending`), keeping at most one wake-up in flight per account;
// later events ride the next one. A refusal counts against the account's events (dead-lettered at
// the limit); "Temporal unavailable" pauses inline delivery and leaves the events to the sweeper
// (src/temporal/delivery-sweeper.ts).
import type pg from 'pg';
import type { Logger } from '../log';
import type { StoredEvent } from '../db/queries/billing-events';
import { markAccountWoken } from '../db/queries/account-deliveries';
import { markDelivered, markDeliveryFailed } from '../db/queries/event-deliveries';
import { wakeAccount, type BillingTemporal } from './client';
import { classifyDeliveryError, describeDeliveryError } from './delivery-errors';
import { accountWorkflowIdProblem } from './ids';

/**
 * `delivered`: the workflow has it. `unavailable`: Temporal itself did not answer; nothing is
 * known about the event. `failed`: Temporal refused this event; it backs off and is tried again.
 * `dead`: the event can never be delivered (or was refused too often): it is dead-lettered and
 * waits for an operator (`npm run ops -- dead-letters`).
 */
export type AttemptResult = 'delivered' | 'unavailable' | 'failed' | 'dead';

/** Refusals of one event before it is dead-lettered. */
export const DEFAULT_MAX_DELIVERY_FAILURES = 5;

export interface RelayOptions {
  /**
   * How long a webhook answer may wait for Temporal to accept the account's wake-up (0: answer
   * right after the commit; the wake-up goes out after the answer).
   */
  waitMs: number;
  /** Per-attempt timeout of a signal-with-start. */
  signalTimeoutMs?: number;
  /**
   * After Temporal failed to take a signal in time, requests stop waiting for it for this long
   * and answer right after the commit; the sweeper delivers, and its first success ends the pause.
   */
  pauseAfterFailureMs?: number;
  /** Refusals of one event (not "Temporal unavailable") before it is dead-lettered. */
  maxFailures?: number;
  /** Wake-ups in flight at once over all accounts; more wait their turn (backoff when Temporal is slow). */
  maxInFlight?: number;
}

/** What one wake-up covers: events up to `upTo`, the ids its failures are counted against. */
export interface WakeUp {
  upTo: bigint;
  eventIds: string[];
  resend: boolean;
}

/** One account's place in the relay: at most one wake-up in flight, the next one collecting. */
interface AccountRelay {
  queued: boolean;
  inFlight: boolean;
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
  private sending = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly temporal: BillingTemporal,
    private readonly logger: Logger,
    private readonly opts: RelayOptions,
    /** Whether a sweep runs now: then a paused relay still sends what the sweep asks for. */
    private readonly sweepRunning: () => boolean,
  ) {}

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
    const result = await this.wake(event.account_id, {
      upTo: BigInt(event.id),
      eventIds: [event.id],
      resend: false,
    });
    if (result === 'delivered')
      this.track(markDelivered(this.pool, event.id).catch(() => undefined));
    return result;
  }

  private get maxFailures(): number {
    return this.opts.maxFailures ?? DEFAULT_MAX_DELIVERY_FAILURES;
  }

  /** Sends one wake-up and records the result: per account when accepted, per event when not. */
  private async wake(accountId: string, w: WakeUp): Promise<AttemptResult> {
    const impossible = accountWorkflowIdProblem(accountId);
    if (impossible !== null) return this.refused(accountId, w.eventIds, impossible, true);
    try {
      await wakeAccount(this.temporal, accountId, this.opts.signalTimeoutMs ?? 5000);
      this.inlinePausedUntil = 0;
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
      this.pauseInline();
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

  /**
   * After the commit: asks the relay for a wake-up of the event's account and, with `waitMs`,
   * waits at most that long for Temporal to accept it. With `waitMs` 0 the wake-up goes out after
   * the answer. While Temporal is unavailable nothing is attempted inline: the sweeper delivers.
   */
  async deliverSoon(event: StoredEvent): Promise<'delivered' | 'pending'> {
    if (this.stopping || Date.now() < this.inlinePausedUntil) return 'pending';
    const accepted = this.request(event.account_id, {
      upTo: BigInt(event.id),
      eventIds: [event.id],
      resend: false,
    });
    if (this.opts.waitMs <= 0) return 'pending';
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'waited'>((resolve) => {
      timer = setTimeout(() => resolve('waited'), this.opts.waitMs);
    });
    const result = await Promise.race([accepted, waited]);
    clearTimeout(timer);
    if (result === 'waited') this.pauseInline();
    return result === 'delivered' ? 'delivered' : 'pending';
  }

  /**
   * Queues a wake-up for the account: joins the one waiting to be sent, or, when one is in
   * flight, makes sure another follows it (events committed after a wake-up was sent may not be
   * seen by the batch it triggers). Resolves with the result of the wake-up that covers it.
   */
  request(accountId: string, w: WakeUp): Promise<AttemptResult> {
    let relay = this.accounts.get(accountId);
    if (!relay) {
      relay = {
        queued: false,
        inFlight: false,
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
    const accepted = new Promise<AttemptResult>((resolve) => relay.waiters.push(resolve));
    if (!relay.queued) {
      relay.queued = true;
      this.ready.push(accountId);
      setImmediate(() => this.pump());
    }
    return accepted;
  }

  pump(): void {
    const max = this.opts.maxInFlight ?? 32;
    while (this.sending < max && this.ready.length > 0) {
      const accountId = this.ready[0] as string;
      const relay = this.accounts.get(accountId);
      // One in flight per account: it waits at the head until its previous wake-up is answered.
      if (relay?.inFlight) {
        this.ready.push(this.ready.shift() as string);
        if (this.ready.every((a) => this.accounts.get(a)?.inFlight)) return;
        continue;
      }
      this.ready.shift();
      if (relay) this.track(this.send(accountId, relay));
    }
  }

  private async send(accountId: string, relay: AccountRelay): Promise<void> {
    relay.queued = false;
    relay.inFlight = true;
    this.sending += 1;
    const waiters = relay.waiters.splice(0);
    const w = { upTo: relay.upTo, eventIds: relay.eventIds.splice(0), resend: relay.resend };
    relay.resend = false;
    const result =
      this.stopping || (Date.now() < this.inlinePausedUntil && !w.resend && !this.sweepRunning())
        ? 'unavailable'
        : await this.wake(accountId, w);
    for (const resolve of waiters) resolve(result);
    relay.inFlight = false;
    this.sending -= 1;
    if (!relay.queued && relay.waiters.length === 0) this.accounts.delete(accountId);
    this.pump();
  }

  private pauseInline(): void {
    this.inlinePausedUntil = Date.now() + (this.opts.pauseAfterFailureMs ?? 10_000);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
