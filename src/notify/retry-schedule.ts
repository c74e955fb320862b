// What happens to a message after one attempt (SPEC §10), as a pure function of the answer: 2xx
// delivered; 410 disables the endpoint; anything else (3xx included: redirects are not followed,
// timeouts, refused connections) is tried again after a growing pause, never sooner than the
// receiver's Retry-After, until the schedule runs out about three days after the first attempt.

const S = 1000;
const M = 60 * S;
const H = 60 * M;

/** The pause after attempt n (1-based); after the last one the message is failed. */
export const RETRY_PAUSES_MS: readonly number[] = [
  5 * S,
  30 * S,
  2 * M,
  10 * M,
  30 * M,
  1 * H,
  3 * H,
  6 * H,
  12 * H,
  24 * H,
  24 * H,
];

/** Attempts a message gets in all: the first, then one after each pause. */
export const MAX_ATTEMPTS = RETRY_PAUSES_MS.length + 1;

/** A Retry-After longer than this is read as this: one receiver cannot park a message for ever. */
export const MAX_RETRY_AFTER_MS = 24 * H;

export interface AttemptAnswer {
  /** HTTP status, or null when no answer came (timeout, refused, address not allowed). */
  status: number | null;
  /** The receiver's Retry-After, in ms from now; null when absent or unreadable. */
  retryAfterMs: number | null;
}

export type AfterAttempt =
  | { kind: 'delivered' }
  | { kind: 'disable_endpoint' }
  | { kind: 'retry'; at: Date }
  | { kind: 'failed' };

/**
 * `attemptsBefore`: attempts made before this one. `now`: the workflow's clock, so time-skipping
 * tests can run days of pauses.
 */
export function afterAttempt(
  answer: AttemptAnswer,
  attemptsBefore: number,
  now: Date,
): AfterAttempt {
  const { status } = answer;
  if (status !== null && status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'disable_endpoint' };
  const attempt = attemptsBefore + 1;
  const pause = RETRY_PAUSES_MS[attempt - 1];
  if (pause === undefined) return { kind: 'failed' };
  const asked = Math.min(answer.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
  return { kind: 'retry', at: new Date(now.getTime() + Math.max(pause, asked)) };
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: Date): number | null {
  if (header === null || header.trim() === '') return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}
