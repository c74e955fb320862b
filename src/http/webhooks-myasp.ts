// POST /webhooks/myasp: token → decode (form in UTF-8 or Shift_JIS, or JSON) → store → deliver.
import express, { Router, type Request, type Response } from 'express';
import { AppError } from '../domain/errors';
import { MYASP_FIELD_NAMES, normalizeMyaspFields } from '../domain/myasp';
import { ingestEvent } from '../services/ingest';
import { parseContentType } from './body-decoding/content-type';
import { decodeFormBody } from './body-decoding/form';
import { decodeJsonBody } from './body-decoding/json';
import type { AppDeps } from './deps';
import { nowOf } from './deps';
import { sha256Hex } from './digest';
import { webhookErrorHandler } from './errors';
import { answerIngested } from './webhook-answer';
import { resolveMyaspToken, verifyMyaspToken, MYASP_TOKEN_HEADER } from './tokens';

export const MYASP_BODY_LIMIT = '64kb';

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
      const normalized = normalizeMyaspFields(stored, nowOf(deps), sha256Hex);
      const result = await ingestEvent(deps, normalized, stored);
      answerIngested(res, deps, 'myasp', result);
    },
  );
  router.use('/webhooks/myasp', webhookErrorHandler(deps, 'myasp'));
  return router;
}
