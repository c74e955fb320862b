// Comparing secrets sent by callers (the MyASP token, the admin token, gate tokens) with the configured ones.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant time whatever the lengths: both sides are hashed to 32 bytes first, so neither the
 * comparison nor an early length check reveals how much of a guess was right.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Which of `candidates` `given` is (its index), or -1. Every candidate is compared, in constant
 * time each, whichever matches: the time taken does not tell which one did, or how close a guess
 * came.
 */
export function matchingToken(given: string, candidates: readonly string[]): number {
  let found = -1;
  candidates.forEach((expected, i) => {
    if (tokensEqual(given, expected) && found < 0) found = i;
  });
  return found;
}
