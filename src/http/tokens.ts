// The MyASP shared token: where it is read from, and how it is compared. Messages never contain
// the token (SPEC §9: never echoed, never logged).
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../domain/errors';

export const MYASP_TOKEN_HEADER = 'x-myasp-token';

/**
 * Constant time whatever the lengths: both sides are hashed to 32 bytes first, so neither the
 * comparison nor an early length check reveals how much of a guess was right.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const MISSING_TOKEN_MESSAGE =
  'The MyASP token is missing. Send it as the token query parameter or the X-MyASP-Token header.';

function repeatedToken(where: string): AppError {
  return new AppError(
    'invalid_token',
    `The MyASP token was sent more than once in the ${where}. Send it exactly once.`,
    401,
  );
}

/** '' and absent both mean "not sent"; anything but one string means a malformed request. */
function readQueryToken(query: unknown): string | null {
  if (query === null || typeof query !== 'object') return null;
  const value: unknown = (query as Record<string, unknown>)['token'];
  if (value === undefined) return null;
  if (typeof value !== 'string') throw repeatedToken('token query parameter');
  return value.trim() || null;
}

function readHeaderToken(headerValue: string | string[] | undefined): string | null {
  if (headerValue === undefined) return null;
  if (Array.isArray(headerValue)) throw repeatedToken('X-MyASP-Token header');
  return headerValue.trim() || null;
}

/**
 * The token from the `token` query parameter or the `X-MyASP-Token` header. MyASP's external
 * system linkage can only configure a URL, so the query parameter is the usual place; the header
 * is for senders that can set one. Both may be sent if they agree.
 */
export function resolveMyaspToken(
  query: unknown,
  headerValue: string | string[] | undefined,
): { token: string } {
  const fromQuery = readQueryToken(query);
  const fromHeader = readHeaderToken(headerValue);
  if (fromQuery !== null && fromHeader !== null && !tokensEqual(fromQuery, fromHeader)) {
    throw new AppError(
      'token_mismatch',
      'The token query parameter and the X-MyASP-Token header differ. Send the token in one ' +
        'place only, or make both the same.',
      401,
    );
  }
  const token = fromQuery ?? fromHeader;
  if (token === null) throw new AppError('missing_token', MISSING_TOKEN_MESSAGE, 401);
  return { token };
}

/**
 * Accepts the token if it equals any configured one (several during a rotation). Every
 * candidate is compared, so the time taken does not depend on which one matched. A wrong token
 * and a token of the wrong length get the same code and message.
 */
export function verifyMyaspToken(given: string, expectedTokens: readonly string[]): void {
  const candidates = expectedTokens.map((token) => token.trim()).filter((token) => token !== '');
  if (candidates.length === 0) {
    throw new AppError(
      'myasp_not_configured',
      'MyASP webhooks are not enabled on this server: no MyASP token is configured.',
      500,
    );
  }
  let matched = false;
  for (const expected of candidates) matched = tokensEqual(given, expected) || matched;
  if (!matched) {
    throw new AppError(
      'invalid_token',
      "The MyASP token is not valid. Check the token in the URL configured in MyASP's external " +
        'system linkage settings.',
      401,
    );
  }
}
