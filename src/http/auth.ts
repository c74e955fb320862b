// Who is calling /v1: `Authorization: Bearer <token>`, compared in constant time with ADMIN_TOKEN
// and every token in GATE_TOKENS. The admin token opens everything; a gate token (what a host app
// holds) opens only the reads a host app needs: the gate and one account (SPEC §6).
import type { NextFunction, Request, Response } from 'express';

import { AppError } from '../domain/errors';
import { sendError } from './errors';
import { limitAuthFailures, RateLimitError, type WindowCounter } from './security';
import { matchingToken, tokensEqual } from './tokens';

export interface Tokens {
  admin: string;
  /** GATE_TOKENS: read-only, several during a rotation. */
  gate: readonly string[];
}

/** The caller a valid token identifies: the admin, or the gate token at `index` of GATE_TOKENS. */
export type Caller = { kind: 'admin' } | { kind: 'gate'; index: number };

/** The routes a gate token opens, for the messages that tell a caller so. */
export const GATE_TOKEN_ROUTES = 'GET /v1/gate/:id/:action and GET /v1/accounts/:id';

function bearerOf(req: Request): string | null {
  const match = /^Bearer\s+(.+)$/i.exec((req.get('authorization') ?? '').trim());
  return match?.[1] ?? null;
}

/** Every configured token is compared, whichever matches. */
export function identify(given: string, tokens: Tokens): Caller | null {
  const admin = tokensEqual(given, tokens.admin);
  const gate = matchingToken(given, tokens.gate);
  if (admin) return { kind: 'admin' };
  return gate >= 0 ? { kind: 'gate', index: gate } : null;
}

/** The caller of a request that passed requireAdmin or requireReader. */
export function callerOf(res: Response): Caller {
  return (res.locals.caller as Caller | undefined) ?? { kind: 'admin' };
}

function guard(
  failures: WindowCounter | undefined,
  decide: (given: string | null) => AppError | Caller,
) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const verdict = decide(bearerOf(req));
    if (verdict instanceof AppError) {
      const client = req.ip ?? 'unknown';
      sendError(res, failures ? limitAuthFailures(failures, client, verdict) : verdict);
      return;
    }
    res.locals.caller = verdict;
    next();
  };
}

/** Everything under /v1 but the reads a gate token opens: the admin token only. */
export function requireAdmin(tokens: Tokens, failures?: WindowCounter) {
  return guard(failures, (given) => {
    if (given === null)
      return new AppError(
        'missing_admin_token',
        'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".',
        401,
      );
    const caller = identify(given, tokens);
    if (caller === null)
      return new AppError(
        'invalid_admin_token',
        'The admin token is not valid for this server.',
        401,
      );
    if (caller.kind === 'gate')
      return new AppError(
        'gate_token_not_allowed',
        `This is a read-only gate token (GATE_TOKENS): it opens only ${GATE_TOKEN_ROUTES}. Use the admin token for this route.`,
        403,
      );
    return caller;
  });
}

/** The gate and the account read: a gate token or the admin token. */
export function requireReader(tokens: Tokens, failures?: WindowCounter) {
  return guard(failures, (given) => {
    if (given === null)
      return new AppError(
        'missing_token',
        'Send a gate token (GATE_TOKENS) or the admin token as "Authorization: Bearer <token>".',
        401,
      );
    return (
      identify(given, tokens) ??
      new AppError(
        'invalid_token',
        'The token is neither a gate token (GATE_TOKENS) nor the admin token of this server.',
        401,
      )
    );
  });
}

/**
 * The budget of the reads a gate token opens (the gate and one account), per token rather than
 * per address: a host app's servers share one token, and its gate calls are its hot path, so they
 * are not counted against the admin API's budget. Past it, 429 naming the setting.
 */
export function gateRateLimit(
  requests: WindowCounter,
  limitPerMinute: number,
  onLimited: (token: 'admin' | 'gate') => void,
) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const caller = callerOf(res);
    const wait = requests.hit(caller.kind === 'admin' ? 'admin' : `gate:${caller.index}`);
    if (wait === 0) return next();
    onLimited(caller.kind);
    next(
      new RateLimitError(
        'gate_rate_limited',
        `Too many gate and account reads with this token: GATE_RATE_LIMIT_PER_MINUTE allows ${limitPerMinute} a minute per token. Wait ${wait} s and retry, or raise GATE_RATE_LIMIT_PER_MINUTE.`,
        wait,
      ),
    );
  };
}
