// Comparing secrets sent by callers (the MyASP token, the admin token) with the configured ones.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant time whatever the lengths: both sides are hashed to 32 bytes first, so neither the
 * comparison nor an early length check reveals how much of a guess was right.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
