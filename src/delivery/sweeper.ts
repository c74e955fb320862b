// The sweeper of the delivery outbox: every few seconds it wakes the accounts whose stored,
// unprocessed events no accepted wake-up covered (account_deliveries), or that stay unprocessed
// for minutes after one was accepted, through the relay (src/delivery/relay.ts). So a
// 200 is never lost even if Temporal was down or the process died between commit and signal.
import type pg from 'pg';

import { listAccountsToWake } from '../db/queries/account-deliveries';
import type { Logger } from '../log';
import type { AttemptResult, DeliveryRelay } from './relay';

export interface SweepOptions {
  /** Events younger than this are left to the request that stored them. */
  sweepMinAgeMs?: number;
  sweepIntervalMs?: number;
  sweepBatch?: number;
  /**
   * A wake-up Temporal accepted is sent again only when its events stay unprocessed this long
   * (doubling with each re-send): processing takes moments, this is for a wake-up that was lost.
   */
  resendAfterMs?: number;
}

/** One sweep done: accounts listed, left to the relay (in hand), and what their wake-ups got. */
export interface SweepEvent {
  type: 'swept';
  /** When the sweep started (epoch ms): it lists events stored `sweepMinAgeMs` before this. */
  started_at: number;
  listed: number;
  in_hand: number;
  sent: number;
  unavailable: number;
}

export class DeliverySweeper {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly relay: DeliveryRelay,
    private readonly logger: Logger,
    private readonly opts: SweepOptions,
    private readonly onEvent?: (event: SweepEvent) => void,
  ) {}

  /** The sweep under way, if any. */
  get current(): Promise<number> | null {
    return this.sweeping;
  }

  /**
   * Wakes every account whose stored, unprocessed events need it (listAccountsToWake). Returns
   * how many wake-ups Temporal accepted. The first one probes Temporal: if it is unavailable the
   * sweep ends there. An account Temporal refuses holds back only its own events.
   */
  async sweepOnce(): Promise<number> {
    if (this.sweeping) return this.sweeping;
    let fullPage = false;
    this.sweeping = (async () => {
      const startedAt = Date.now();
      const limit = this.opts.sweepBatch ?? 500;
      // An account the relay already has in hand — waiting its turn, being sent, or holding an
      // accepted wake-up until it is applied — is left to it: the relay sends the next wake-up
      // when that batch commits, and the next sweep finds anything it did not take.
      const listed = await listAccountsToWake(this.pool, {
        minAgeMs: this.opts.sweepMinAgeMs ?? 5000,
        staleAfterMs: this.opts.resendAfterMs ?? 300_000,
        limit,
      });
      const due = listed.filter((a) => !this.relay.hasInHand(a.account_id));
      const counts = { sent: 0, resent: 0, refused: 0, dead_lettered: 0, unavailable: 0 };
      const tally = (r: AttemptResult, resend: boolean) => {
        if (r === 'delivered') {
          counts.sent += 1;
          if (resend) counts.resent += 1;
        } else if (r === 'dead') counts.dead_lettered += 1;
        else if (r === 'failed') counts.refused += 1;
        else counts.unavailable += 1;
      };
      const wakeUp = (a: (typeof due)[number]) =>
        this.relay.request(a.account_id, {
          upTo: BigInt(a.last_id),
          eventIds: [a.first_id],
          resend: a.resend,
        });
      const [first, ...rest] = due;
      if (first && !this.relay.isStopping) {
        const r = await wakeUp(first);
        tally(r, first.resend);
        if (r !== 'unavailable' && !this.relay.isStopping) {
          const results = await Promise.all(rest.map(wakeUp));
          results.forEach((res, i) => tally(res, rest[i]?.resend ?? false));
        }
      }
      if (due.length > 0) this.logger.info({ due: due.length, ...counts }, 'delivery sweep');
      this.onEvent?.({
        type: 'swept',
        started_at: startedAt,
        listed: listed.length,
        in_hand: listed.length - due.length,
        sent: counts.sent,
        unavailable: counts.unavailable,
      });
      // A full page, mostly not in the relay's hands, means more are waiting (a backlog after an
      // outage): the next page goes as soon as this one is sent, not an interval later. Not while
      // Temporal is unavailable.
      fullPage = listed.length >= limit && due.length >= limit / 2 && counts.unavailable === 0;
      return counts.sent;
    })().finally(() => {
      this.sweeping = null;
      if (fullPage && this.timer !== null) setImmediate(() => this.sweepInBackground());
    });
    return this.sweeping;
  }

  private sweepInBackground(): void {
    this.sweepOnce().catch((err: unknown) =>
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'delivery sweep failed',
      ),
    );
  }

  /** Sweeps now (what a previous process left, e.g. after a restart), then every interval. */
  start(): void {
    const every = this.opts.sweepIntervalMs ?? 5000;
    this.timer = setInterval(() => this.sweepInBackground(), every);
    this.timer.unref();
    this.sweepInBackground();
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
