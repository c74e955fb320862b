// One error type, one renderer: every error answers `{error: {code, message}}`.
import type { NextFunction, Request, Response } from 'express';

import { isDatabaseUnavailable } from '../db/pool';
import { AppError, isAppError } from '../domain/errors';
import type { AppDeps } from './deps';
import { sha256Hex } from './digest';
import { limitAuthFailures, RateLimitError } from './security';

/** Maps body-parser's errors (size, encoding) to our codes. */
function fromBodyParser(err: unknown): AppError | null {
  const e = err as { type?: string; status?: number; limit?: number } | null;
  if (!e?.type) return null;
  if (e.type === 'entity.too.large') {
    return new AppError(
      'payload_too_large',
      `The body is larger than the ${e.limit ?? ''} byte limit; webhooks from the provider are far smaller, so check what is being sent.`,
      413,
    );
  }
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    return new AppError(
      'unsupported_encoding',
      'The body uses a Content-Encoding or charset this endpoint does not accept.',
      415,
    );
  }
  if (e.type === 'entity.parse.failed') {
    return new AppError(
      'malformed_json',
      'The body is not valid JSON; send a JSON object with Content-Type: application/json.',
      400,
    );
  }
  if (e.type === 'request.aborted' || e.type === 'request.size.invalid') {
    return new AppError(
      'incomplete_body',
      'The body ended before its declared length; send it again.',
      400,
    );
  }
  return null;
}

export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  // express could not percent-decode a path parameter (e.g. %ff).
  if (err instanceof URIError) {
    return new AppError(
      'malformed_path',
      'The URL path is not valid percent-encoded UTF-8; encode ids with encodeURIComponent.',
      400,
    );
  }
  const parsed = fromBodyParser(err);
  if (parsed) return parsed;
  if (isDatabaseUnavailable(err)) {
    return new AppError(
      'database_unavailable',
      'The billing database is unavailable or too slow right now; nothing was stored. Retry later.',
      503,
    );
  }
  return new AppError(
    'internal_error',
    'Something went wrong on our side; nothing is lost if the provider retries.',
    500,
  );
}

export function sendError(res: Response, error: AppError): void {
  if (error.status === 503) res.set('Retry-After', '30');
  if (error instanceof RateLimitError) res.set('Retry-After', String(error.retryAfterSeconds));
  res.status(error.status).json({ error: { code: error.code, message: error.message } });
}

/** For the webhook routes: every non-2xx answer is also recorded in webhook_rejections (SPEC §9). */
export function webhookErrorHandler(deps: AppDeps, source: string) {
  return async (err: unknown, req: Request, res: Response, _next: NextFunction): Promise<void> => {
    const refused = toAppError(err);
    const error = deps.authFailures
      ? limitAuthFailures(deps.authFailures, req.ip ?? 'unknown', refused)
      : refused;
    deps.metrics.webhooks.inc({ source, result: 'rejected' });
    deps.metrics.rejections.inc({ source, reason: error.code });
    const body = Buffer.isBuffer(req.body) ? req.body : null;
    const recorded = deps.rejections.record({
      source,
      http_status: error.status,
      reason: error.code,
      message: error.message,
      content_type: req.get('content-type')?.slice(0, 200) ?? null,
      body_bytes: body?.length ?? (Number(req.get('content-length')) || null),
      body_sha256: body ? sha256Hex(body) : null,
      remote_addr: req.ip ?? null,
    });
    // A 4xx is recorded before it is answered. A 5xx usually means the database itself is in
    // trouble: answer at once; the recorder keeps it until the database takes it.
    if (error.status < 500) await recorded;
    logError(deps, req, error, err);
    sendError(res, error);
  };
}

export function apiErrorHandler(deps: AppDeps) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const error = toAppError(err);
    logError(deps, req, error, err);
    sendError(res, error);
  };
}

function logError(deps: AppDeps, req: Request, error: AppError, raw: unknown): void {
  const fields = {
    code: error.code,
    status: error.status,
    method: req.method,
    path: endpointOf(req),
  };
  if (error.status >= 500)
    deps.logger.error(
      { ...fields, err: raw instanceof Error ? raw.message : String(raw) },
      'request failed',
    );
  else deps.logger.info(fields, 'request refused');
}

/**
 * The endpoint as the client called it (`req.path` is relative to the router that handles it),
 * without the query string: MyASP puts its token there, and it must never reach a log.
 */
export function endpointOf(req: Request): string {
  return (req.originalUrl || req.url).split('?')[0] ?? '';
}
