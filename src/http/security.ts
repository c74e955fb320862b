// The HTTP layer's own defences: security headers on every answer, a per-client rate limit on the
// admin API, and a per-client limit on failed authentications. A request that authenticates is
// never counted, delayed or refused by the failure limit: a provider's signed delivery always
// gets through, however much noise comes from the same address.
import type { NextFunction, Request, Response } from 'express';

import { AppError } from '../domain/errors';

/** Sent with every answer (also errors, and what the HTTP parser refuses: client-errors.ts). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // JSON answers load nothing; a route serving HTML sets its own policy.
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  // Account states and tokens must not sit in shared caches.
  'Cache-Control': 'no-store',
};

export function securityHeaders() {
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.set(SECURITY_HEADERS);
    next();
  };
}

const WINDOW_MS = 60_000;
/** Clients remembered at most; beyond that the oldest windows are forgotten first. */
const MAX_CLIENTS = 10_000;

/** Fixed one-minute windows per client address, bounded in memory. */
export class WindowCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one more for `client`; answers the seconds to wait when over the limit, else 0. */
  hit(client: string): number {
    const now = this.now();
    let w = this.windows.get(client);
    if (!w || now - w.start >= WINDOW_MS) {
      this.windows.delete(client);
      w = { start: now, count: 0 };
      this.windows.set(client, w);
      if (this.windows.size > MAX_CLIENTS)
        this.windows.delete(this.windows.keys().next().value as string);
    }
    w.count += 1;
    return w.count > this.limit ? Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000)) : 0;
  }
}

/** Codes that mean "this request could not prove who sent it". */
const AUTH_FAILURE_CODES = new Set([
  'missing_signature',
  'malformed_signature',
  'timestamp_out_of_tolerance',
  'invalid_signature',
  'missing_token',
  'invalid_token',
  'token_mismatch',
  'missing_admin_token',
  'invalid_admin_token',
]);

export class RateLimitError extends AppError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message, 429);
  }
}

/**
 * Counts a failed authentication; past the limit the refusal becomes 429 (cheaper for us, and
 * a clear signal to a misconfigured sender). Other errors pass unchanged.
 */
export function limitAuthFailures(
  failures: WindowCounter,
  client: string,
  error: AppError,
): AppError {
  if (!AUTH_FAILURE_CODES.has(error.code)) return error;
  const wait = failures.hit(client);
  if (wait === 0) return error;
  return new RateLimitError(
    'too_many_failed_authentications',
    `Too many requests from this address failed authentication; wait ${wait} s. Check the signing secret or token configured for this endpoint.`,
    wait,
  );
}

/** The admin API's request budget per client address. */
export function adminRateLimit(requests: WindowCounter) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const wait = requests.hit(req.ip ?? 'unknown');
    if (wait === 0) return next();
    next(
      new RateLimitError(
        'rate_limited',
        `Too many admin API requests from this address; wait ${wait} s and retry.`,
        wait,
      ),
    );
  };
}
