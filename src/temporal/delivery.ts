// Gets stored events to their account workflow, at least once (SPEC §4.5). The HTTP path tries
// right after the commit with a bounded wait; whatever did not get through — Temporal down, a
// timeout, a process killed between commit and signal — the sweeper sends later from
// billing_events, where every unprocessed event has outcome NULL.
import type pg from 'pg';
import type { Logger } from '../log';
import { listUndelivered, toBillingEvent, type StoredEvent } from '../db/queries/billing-events';
import { markDelivered, markDeliveryFailed } from '../db/queries/event-deliveries';
import { deliverEvent, type BillingTemporal } from './client';
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

export interface DeliveryOptions {
  /** How long a webhook answer may wait for Temporal before leaving the event to the sweeper. */
  waitMs: number;
  /** Per-attempt timeout of a signal-with-start. */
  signalTimeoutMs?: number;
  /** Events younger than this are left to the request that stored them. */
  sweepMinAgeMs?: number;
  sweepIntervalMs?: number;
  sweepBatch?: number;
  /**
   * After Temporal failed to take a signal in time, requests stop waiting for it for this long
   * and answer right after the commit; the sweeper delivers, and its first success ends the pause.
   */
  pauseAfterFailureMs?: number;
  /** Refusals of one event (not "Temporal unavailable") before it is dead-lettered. */
  maxFailures?: number;
}

export class EventDelivery {
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private sweeping: Promise<number> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** While Temporal looks unavailable, webhooks answer at database speed (no inline attempt). */
  private inlinePausedUntil = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly temporal: BillingTemporal,
    private readonly logger: Logger,
    private readonly opts: DeliveryOptions,
  ) {}

  /**
   * One delivery attempt. Never throws. After a success the bookkeeping write is tracked but not
   * awaited: it only informs the sweeper's backoff, and the event's own outcome is what proves
   * processing. A refusal is awaited: it decides whether the event is dead-lettered.
   */
  async attempt(event: StoredEvent): Promise<AttemptResult> {
    const impossible = accountWorkflowIdProblem(event.account_id);
    if (impossible !== null) return this.refused(event, impossible, true);
    try {
      await deliverEvent(this.temporal, toBillingEvent(event), this.opts.signalTimeoutMs ?? 5000);
      this.inlinePausedUntil = 0;
      this.track(markDelivered(this.pool, event.id).catch(() => undefined));
      return 'delivered';
    } catch (err) {
      const error = describeDeliveryError(err);
      if (classifyDeliveryError(err) === 'event') return this.refused(event, error, false);
      this.logger.warn(
        { event_id: event.id, account_id: event.account_id, err: error },
        'Temporal unavailable; delivery deferred to the sweeper',
      );
      this.pauseInline();
      this.track(
        markDeliveryFailed(this.pool, event.id, {
          error,
          eventFailure: false,
          maxFailures: this.maxFailures,
        }).catch(() => undefined),
      );
      return 'unavailable';
    }
  }

  private get maxFailures(): number {
    return this.opts.maxFailures ?? DEFAULT_MAX_DELIVERY_FAILURES;
  }

  /** This event (not Temporal) is the problem: count it, dead-letter it at the limit. */
  private async refused(
    event: StoredEvent,
    error: string,
    permanent: boolean,
  ): Promise<'failed' | 'dead'> {
    let dead = permanent;
    try {
      ({ dead } = await markDeliveryFailed(this.pool, event.id, {
        error,
        eventFailure: true,
        permanent,
        maxFailures: this.maxFailures,
      }));
    } catch {
      // The database is in trouble too; the sweeper finds the event again.
    }
    this.logger.warn(
      { event_id: event.id, account_id: event.account_id.slice(0, 60), err: error, dead },
      dead ? 'event dead-lettered: it cannot be delivered' : 'Temporal refused the event',
    );
    return dead ? 'dead' : 'failed';
  }

  /**
   * Delivery right after the commit: waits at most `waitMs`, then answers while the attempt
   * finishes in the background (tracked, and the sweeper covers it if the process dies). Only
   * Temporal being unavailable or slow pauses inline delivery; one refused event does not.
   */
  async deliverSoon(event: StoredEvent): Promise<'delivered' | 'pending'> {
    if (Date.now() < this.inlinePausedUntil) return 'pending';
    const attempt = this.attempt(event);
    this.track(attempt);
    if (this.opts.waitMs <= 0) return 'pending';
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'waited'>((resolve) => {
      timer = setTimeout(() => resolve('waited'), this.opts.waitMs);
    });
    const result = await Promise.race([attempt, waited]);
    clearTimeout(timer);
    if (result === 'waited') this.pauseInline();
    return result === 'delivered' ? 'delivered' : 'pending';
  }

  private pauseInline(): void {
    this.inlinePausedUntil = Date.now() + (this.opts.pauseAfterFailureMs ?? 10_000);
  }

  /**
   * Sends every stored, unprocessed event that is due for (re)delivery. Returns how many went out.
   * An event Temporal refuses holds back only its own account (its later events wait, in order,
   * for the next sweep); only "Temporal unavailable" ends the sweep early.
   */
  async sweepOnce(): Promise<number> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = (async () => {
      const due = await listUndelivered(this.pool, {
        minAgeMs: this.opts.sweepMinAgeMs ?? 5000,
        limit: this.opts.sweepBatch ?? 200,
      });
      const heldBack = new Set<string>();
      const counts = { sent: 0, refused: 0, dead_lettered: 0 };
      for (const event of due) {
        // While Temporal is down each attempt takes the full signal timeout; stop() must not wait
        // for a whole batch of them. What is left stays in billing_events for the next sweeper.
        if (this.stopping) break;
        if (heldBack.has(event.account_id)) continue;
        const result = await this.attempt(event);
        if (result === 'delivered') counts.sent += 1;
        // Temporal is unavailable: the rest wait for the next sweep instead of each spending a
        // signal timeout now.
        else if (result === 'unavailable') break;
        else {
          heldBack.add(event.account_id);
          if (result === 'dead') counts.dead_lettered += 1;
          else counts.refused += 1;
        }
      }
      if (due.length > 0) this.logger.info({ due: due.length, ...counts }, 'delivery sweep');
      return counts.sent;
    })().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  start(): void {
    const every = this.opts.sweepIntervalMs ?? 5000;
    this.timer = setInterval(() => {
      this.sweepOnce().catch((err: unknown) =>
        this.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'delivery sweep failed',
        ),
      );
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight, this.sweeping]);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
