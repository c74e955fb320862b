// The relay's decisions, apart from the I/O that carries them out (relay.ts): which account's
// wake-up goes next, how many may be out at once, when an account is held and when it is let go.
// At most one wake-up per account is in flight — from sending it until the batch it started is
// applied (`applied()`, from the apply notification) or the hold times out — and later requests
// of the account ride its next one. Time comes from an injected clock and sending from an
// injected function, so a test drives it with fake timers; what it decides is told as events
// (`onEvent`), which tests await instead of sleeping.
import type { AttemptResult, WakeUp } from './wake';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` after this turn of the event loop, so requests of one turn ride one wake-up. */
  soon(fn: () => void): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  soon: (fn) => setImmediate(fn),
};

/** Why an account may be woken again. */
export type ReleaseReason =
  | 'applied'
  | 'hold_timeout'
  /** Answered, and not held: not accepted, or holding is off. */
  | 'not_held'
  /** Apply notifications are not heard (the listening connection was lost). */
  | 'not_listening'
  | 'stopping';

/** What the scheduler did, for the logs and for tests to await. */
export type RelayEvent =
  | { type: 'sent'; account_id: string; result: AttemptResult }
  | { type: 'held'; account_id: string; up_to: string }
  | { type: 'released'; account_id: string; why: ReleaseReason };

/**
 * Where a request stands once made: its wake-up goes out `next`, or is `waiting` behind the
 * account's wake-up in flight or its turn under the in-flight bound, or was refused (`full`:
 * `maxWaiting` accounts wait already; its events are stored, the sweeper finds them).
 */
export type Turn = 'next' | 'waiting' | 'full';

export interface SchedulerOptions {
  /** Wake-ups out at once (sent, or held until applied) for a busy account; twice that for others. */
  maxInFlight: number;
  /** Accounts waiting in memory at most. */
  maxWaiting: number;
  /** How long an accepted wake-up holds its account at most; 0: never held. */
  holdMs: number;
  onEvent?: (event: RelayEvent) => void;
}

/** An account woken within this long counts as busy: its next wake-up keeps to `maxInFlight`. */
export const RECENT_MS = 60_000;
/** Accounts remembered as recently woken at most (the oldest are forgotten first). */
const RECENT_MAX_ACCOUNTS = 100_000;

/** One account's place in the relay: at most one wake-up in flight, the next one collecting. */
interface AccountSlot {
  /** A wake-up is wanted: the account is in the ready queue, or will be when in flight ends. */
  queued: boolean;
  /** The turn it was given when it joined the queue. */
  turn: Turn;
  /** A wake-up is being sent, or was accepted and its events are not applied yet (held). */
  inFlight: boolean;
  /** While held: the wake-up's `upTo`, released once the account is applied up to it. */
  holding: bigint | null;
  holdTimer: unknown;
  /** Highest event id the account is known to be applied up to (apply notifications). */
  appliedUpTo: bigint;
  /** What the next wake-up covers: events up to `upTo`, the ids failures are counted against. */
  upTo: bigint;
  eventIds: string[];
  resend: boolean;
  waiters: ((r: AttemptResult) => void)[];
}

export class RelayScheduler {
  private readonly accounts = new Map<string, AccountSlot>();
  private readonly ready: string[] = [];
  /** When each account's last wake-up went out, oldest first; entries older than RECENT_MS go. */
  private readonly lastSent = new Map<string, number>();
  private sending = 0;
  /** Accounts whose accepted wake-up waits to be applied (held): they count as in flight. */
  private held = 0;
  /** Apply notifications arrive: only then are accepted wake-ups held. */
  private hearingApplied = false;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly send: (accountId: string, w: WakeUp) => Promise<AttemptResult>,
    private readonly opts: SchedulerOptions,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Adds the wake-up to the account's next one (`waiter` hears its result). A request while the
   * account's wake-up is in flight makes sure another follows it: events committed after a
   * wake-up was sent may not be seen by the batch it started.
   */
  request(accountId: string, w: WakeUp, waiter?: (r: AttemptResult) => void): Turn {
    let slot = this.accounts.get(accountId);
    if (!slot) {
      if (this.ready.length >= this.opts.maxWaiting) return 'full';
      slot = {
        queued: false,
        turn: 'next',
        inFlight: false,
        holding: null,
        holdTimer: null,
        appliedUpTo: 0n,
        upTo: 0n,
        eventIds: [],
        resend: false,
        waiters: [],
      };
      this.accounts.set(accountId, slot);
    }
    if (w.upTo > slot.upTo) slot.upTo = w.upTo;
    slot.eventIds.push(...w.eventIds);
    slot.resend ||= w.resend;
    if (waiter) slot.waiters.push(waiter);
    if (slot.queued) return slot.turn;
    slot.queued = true;
    if (slot.inFlight) {
      // It joins the ready queue when its wake-up in flight is released.
      slot.turn = 'waiting';
      return slot.turn;
    }
    this.ready.push(accountId);
    const room = this.boundFor(accountId) - this.sending - this.held;
    slot.turn = this.ready.length <= room ? 'next' : 'waiting';
    this.clock.soon(() => this.pump());
    return slot.turn;
  }

  /**
   * Sends the ready accounts in turn while wake-ups may go. The bound (`maxInFlight`) makes busy
   * accounts wait and collect events; an account not woken in the last minute gains nothing by
   * waiting (its next events may be far off), so its wake-up may go while up to twice as many
   * are out — a renewal day's accounts, or a backlog's, each carry one batch anyway.
   */
  pump(): void {
    const now = this.clock.now();
    this.forgetSentBefore(now - RECENT_MS);
    while (this.ready.length > 0) {
      const accountId = this.ready[0] as string;
      const slot = this.accounts.get(accountId);
      if (!slot || !slot.queued || slot.inFlight) {
        this.ready.shift();
        continue;
      }
      if (this.sending + this.held >= this.boundFor(accountId)) break;
      this.ready.shift();
      this.lastSent.delete(accountId);
      this.lastSent.set(accountId, now);
      this.track(this.sendOne(accountId, slot));
    }
  }

  private boundFor(accountId: string): number {
    return this.lastSent.has(accountId) ? this.opts.maxInFlight : 2 * this.opts.maxInFlight;
  }

  private forgetSentBefore(cutoff: number): void {
    for (const [accountId, at] of this.lastSent) {
      if (at >= cutoff && this.lastSent.size <= RECENT_MAX_ACCOUNTS) break;
      this.lastSent.delete(accountId);
    }
  }

  private async sendOne(accountId: string, slot: AccountSlot): Promise<void> {
    slot.queued = false;
    slot.inFlight = true;
    this.sending += 1;
    const waiters = slot.waiters.splice(0);
    const w = { upTo: slot.upTo, eventIds: slot.eventIds.splice(0), resend: slot.resend };
    slot.resend = false;
    // Awaited even when answered at once: otherwise the rest of this call (and the next account's
    // send from pump) would run inside the caller's pump, one stack frame per waiting account.
    const result = await this.send(accountId, w);
    this.sending -= 1;
    this.opts.onEvent?.({ type: 'sent', account_id: accountId, result });
    for (const resolve of waiters) resolve(result);
    const holds =
      result === 'delivered' && this.hearingApplied && !this.stopping && this.opts.holdMs > 0;
    if (holds) this.hold(accountId, slot, w.upTo);
    else this.release(accountId, slot, this.stopping ? 'stopping' : 'not_held');
    this.pump();
  }

  /**
   * Temporal accepted the wake-up: the account's next one waits until its batch has applied the
   * events up to `upTo` — it then takes only events that batch did not see — or `holdMs` passed.
   */
  private hold(accountId: string, slot: AccountSlot, upTo: bigint): void {
    if (slot.appliedUpTo >= upTo) {
      this.release(accountId, slot, 'applied');
      return;
    }
    slot.holding = upTo;
    this.held += 1;
    slot.holdTimer = this.clock.setTimeout(() => {
      this.release(accountId, slot, 'hold_timeout');
      this.pump();
    }, this.opts.holdMs);
    this.opts.onEvent?.({ type: 'held', account_id: accountId, up_to: upTo.toString() });
  }

  private release(accountId: string, slot: AccountSlot, why: ReleaseReason): void {
    if (slot.holdTimer !== null) this.clock.clearTimeout(slot.holdTimer);
    slot.holdTimer = null;
    if (slot.holding !== null) this.held -= 1;
    slot.holding = null;
    slot.inFlight = false;
    if (slot.queued) this.ready.push(accountId);
    else if (slot.waiters.length === 0) this.accounts.delete(accountId);
    this.opts.onEvent?.({ type: 'released', account_id: accountId, why });
  }

  /**
   * The apply transaction of `accountId` committed events up to `upTo`: a held wake-up it covers
   * is done, and a queued one goes out. (Even when its events have lower ids: ids are taken at
   * INSERT, commits may land in another order, so that batch may not have seen them.)
   */
  applied(accountId: string, upTo: bigint): void {
    const slot = this.accounts.get(accountId);
    if (!slot) return;
    if (upTo > slot.appliedUpTo) slot.appliedUpTo = upTo;
    if (slot.holding === null || upTo < slot.holding) return;
    this.release(accountId, slot, 'applied');
    this.pump();
  }

  /** Whether apply notifications are heard; without them nothing is held. */
  setHearingApplied(listening: boolean): void {
    this.hearingApplied = listening;
    if (!listening) this.releaseHeld('not_listening');
  }

  /** Stopping: nothing more is held, held accounts are let go and what waits goes to `send`. */
  stop(): void {
    this.stopping = true;
    this.releaseHeld('stopping');
  }

  private releaseHeld(why: ReleaseReason): void {
    for (const [accountId, slot] of this.accounts) {
      if (slot.holding !== null) this.release(accountId, slot, why);
    }
    this.pump();
  }

  /** The account has a wake-up queued, being sent, or held. */
  hasInHand(accountId: string): boolean {
    const slot = this.accounts.get(accountId);
    return slot !== undefined && (slot.queued || slot.inFlight);
  }

  /** The account's wake-up is being sent (not yet answered). */
  isSending(accountId: string): boolean {
    const slot = this.accounts.get(accountId);
    return slot !== undefined && slot.inFlight && slot.holding === null;
  }

  /** Sends under way, for a stop to wait on. */
  pending(): Promise<void>[] {
    return [...this.inFlight];
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
