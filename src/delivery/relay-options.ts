// The delivery relay's settings and their defaults (src/delivery/relay.ts): how long a
// webhook answer may wait, how many wake-ups may be in flight, how long an account is held.
import type { WakeUpOptions } from './wake';

export interface RelayOptions extends WakeUpOptions {
  /**
   * How long a webhook answer may wait for Temporal to accept the account's wake-up (0: answer
   * right after the commit; the wake-up goes out after the answer).
   */
  waitMs: number;
  /**
   * After Temporal failed to take a signal in time, requests stop waiting for it for this long
   * and answer right after the commit; the sweeper delivers, and its first success ends the pause.
   */
  pauseAfterFailureMs?: number;
  /**
   * Wake-ups in flight at once over all accounts: being sent, or accepted and held until applied.
   * More accounts wait their turn, collecting events, so under load each wake-up carries more of
   * them (and a slow Temporal or worker is not sent more than it can take). The wake-up of an
   * account not woken in the last minute may go while up to twice as many are out.
   */
  maxInFlight?: number;
  /**
   * Accounts waiting their turn in memory at most; past it a request is left to the sweeper
   * (its events are stored), so a long outage of the workers does not grow the process.
   */
  maxWaiting?: number;
  /**
   * After Temporal accepted an account's wake-up, the next one waits until the account's events
   * are applied up to it (a notification from the apply transaction), or at most this long. 0:
   * the next wake-up goes as soon as Temporal accepted the last one.
   */
  holdMs?: number;
}

/** Default of `holdMs`: a safety net for a lost notification, far longer than applying takes. */
export const DEFAULT_HOLD_MS = 10_000;

/** Default of `maxInFlight`: measured on the throughput bench (BENCHMARKS.md, docs/decisions.md). */
export const DEFAULT_MAX_IN_FLIGHT = 4;

/** Default of `maxWaiting`. */
export const DEFAULT_MAX_WAITING = 50_000;
