// POST /webhooks/myasp: token → decode (form in UTF-8 or Shift_JIS, or JSON) → store → deliver.
// The token is never echoed or logged (SPEC §9), and always compared in constant time.
import express, { type Request, type Response, Router } from 'express';

import { AppError } from '../domain/errors';
import { MYASP_FIELD_NAMES } from '../domain/myasp/fields';
import { normalizeMyaspEvent } from '../domain/normalize-myasp';
import { ingestEvent } from '../services/ingest';
import { parseContentType } from './body-decoding/content-type';
import { decodeFormBody } from './body-decoding/form';
import { decodeJsonBody } from './body-decoding/json';
import type { AppDeps } from './deps';
import { nowOf } from './deps';
import { sha256Hex } from './digest';
import { webhookErrorHandler } from './errors';
import { matchingToken, tokensEqual } from './tokens';
import { answerIngested } from './webhook-answer';

export const MYASP_BODY_LIMIT = '64kb';
const MYASP_TOKEN_HEADER = 'x-myasp-token';

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
  if (matchingToken(given, candidates) < 0) {
    throw new AppError(
      'invalid_token',
      "The MyASP token is not valid. Check the token in the URL configured in MyASP's external " +
        'system linkage settings.',
      401,
    );
  }
}

function queryCharset(query: Request['query']): string | null {
  const value = query.charset;
  return typeof value === 'string' && value.trim() !== '' ? value.trim().toLowerCase() : null;
}

function decodeFields(req: Request): Record<string, unknown> {
  const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const { mediaType, charset: declared } = parseContentType(req.get('content-type'));
  // MyASP's linkage settings can only change the URL, not the headers: `?charset=Shift_JIS`
  // names the encoding when the Content-Type does not.
  const charset = declared ?? queryCharset(req.query);
  if (mediaType === 'application/x-www-form-urlencoded') {
    return decodeFormBody(raw, charset, { rejectConflictingDuplicates: MYASP_FIELD_NAMES });
  }
  if (mediaType === 'application/json') {
    const parsed = decodeJsonBody(raw, charset);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new AppError(
        'malformed_json',
        'The JSON body must be an object of MyASP fields, e.g. {"user_id": "…", "status": 1}.',
        400,
      );
    }
    return parsed as Record<string, unknown>;
  }
  throw new AppError(
    'unsupported_media_type',
    'Send MyASP webhooks as application/x-www-form-urlencoded (what MyASP sends) or application/json.',
    415,
  );
}

export function myaspWebhookRouter(deps: AppDeps): Router {
  const router = Router();
  router.post(
    '/webhooks/myasp',
    express.raw({ type: () => true, limit: MYASP_BODY_LIMIT }),
    async (req: Request, res: Response) => {
      if (deps.config.myaspTokens.length === 0) {
        throw new AppError(
          'myasp_not_configured',
          'MyASP webhooks are not enabled on this server: MYASP_TOKEN is not set.',
          404,
        );
      }
      const { token } = resolveMyaspToken(req.query, req.get(MYASP_TOKEN_HEADER));
      verifyMyaspToken(token, deps.config.myaspTokens);
      const fields = decodeFields(req);
      const { token: _ignored, ...stored } = fields;
      const normalized = normalizeMyaspEvent(stored, nowOf(deps), sha256Hex);
      const result = await ingestEvent(deps, normalized, stored);
      answerIngested(res, deps, 'myasp', result);
    },
  );
  router.use('/webhooks/myasp', webhookErrorHandler(deps, 'myasp'));
  return router;
}
