// Gets stored events to their account workflow, at least once (SPEC §4.5). The HTTP path tries
// right after the commit with a bounded wait; whatever did not get through — Temporal down, a
// timeout, a process killed between commit and signal — the sweeper sends later from
// billing_events, where every unprocessed event has outcome NULL.
import type pg from 'pg';
import type { Logger } from '../log';
import { listUndelivered, toBillingEvent, type StoredEvent } from '../db/queries/billing-events';
import { markDelivered, markDeliveryFailed } from '../db/queries/event-deliveries';
import { deliverEvent, type BillingTemporal } from './client';

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
   * One delivery attempt. Never throws. The bookkeeping write is tracked but not awaited: it only
   * informs the sweeper's backoff, and the event's own outcome is what proves processing.
   */
  async attempt(event: StoredEvent): Promise<boolean> {
    try {
      await deliverEvent(this.temporal, toBillingEvent(event), this.opts.signalTimeoutMs ?? 5000);
      this.inlinePausedUntil = 0;
      this.track(markDelivered(this.pool, event.id).catch(() => undefined));
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn(
        { event_id: event.id, account_id: event.account_id, err: message },
        'delivery deferred to the sweeper',
      );
      this.pauseInline();
      this.track(markDeliveryFailed(this.pool, event.id, message).catch(() => undefined));
      return false;
    }
  }

  /**
   * Delivery right after the commit: waits at most `waitMs`, then answers while the attempt
   * finishes in the background (tracked, and the sweeper covers it if the process dies).
   */
  async deliverSoon(event: StoredEvent): Promise<'delivered' | 'pending'> {
    if (Date.now() < this.inlinePausedUntil) return 'pending';
    const attempt = this.attempt(event);
    this.track(attempt);
    if (this.opts.waitMs <= 0) return 'pending';
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.opts.waitMs);
    });
    const delivered = await Promise.race([attempt, waited]);
    clearTimeout(timer);
    if (!delivered) this.pauseInline();
    return delivered ? 'delivered' : 'pending';
  }

  private pauseInline(): void {
    this.inlinePausedUntil = Date.now() + (this.opts.pauseAfterFailureMs ?? 10_000);
  }

  /** Sends every stored, unprocessed event that is due for (re)delivery. Returns how many went out. */
  async sweepOnce(): Promise<number> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = (async () => {
      const due = await listUndelivered(this.pool, {
        minAgeMs: this.opts.sweepMinAgeMs ?? 5000,
        limit: this.opts.sweepBatch ?? 200,
      });
      let sent = 0;
      for (const event of due) {
        // While Temporal is down each attempt takes the full signal timeout; stop() must not wait
        // for a whole batch of them. What is left stays in billing_events for the next sweeper.
        if (this.stopping) break;
        // One failure says Temporal is unavailable: the rest wait for the next sweep instead of
        // each spending a signal timeout now.
        if (!(await this.attempt(event))) break;
        sent += 1;
      }
      if (due.length > 0) this.logger.info({ due: due.length, sent }, 'delivery sweep');
      return sent;
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
