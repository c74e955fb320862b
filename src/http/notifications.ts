// Notifications to the host app (SPEC §10): endpoints (admin) and the pull of changes in commit
// order (admin or a host app's gate token).
import { type RequestHandler, Router } from 'express';
import { z } from 'zod';

import { decodeCursor, encodeCursor, listChangesAfter } from '../db/queries/billing-changes';
import { AppError } from '../domain/errors';
import { createEndpoint, listNotificationEndpoints, removeEndpoint } from '../notify/endpoints';
import { wakeNotificationEndpoint } from '../temporal/client';
import type { AppDeps } from './deps';
import { parseBody } from './validation';

const endpointSchema = z.object({
  url: z.string().min(1, 'url is required').max(2000),
  types: z.array(z.string()).optional(),
});

export function notificationEndpointsRouter(deps: AppDeps): Router {
  const router = Router();
  const allowPrivate = deps.config.notify.allowPrivate;
  router.post('/notification-endpoints', async (req, res) => {
    const body = parseBody(endpointSchema, req.body);
    const endpoint = await createEndpoint(deps.pool, body, allowPrivate);
    // The only time the secret is shown: the host app needs it to verify.
    res.status(201).json({ endpoint });
  });
  router.get('/notification-endpoints', async (_req, res) => {
    res.json({ endpoints: await listNotificationEndpoints(deps.pool) });
  });
  router.delete('/notification-endpoints/:id', async (req, res) => {
    const id = String(req.params.id);
    await removeEndpoint(deps.pool, id);
    // Its workflow ends at its next round; a wake-up makes that now.
    await wakeNotificationEndpoint(deps.temporal, id, 2000).catch(() => undefined);
    res.json({ deleted: id });
  });
  return router;
}

const MAX_LIMIT = 1000;

export function changesRouter(deps: AppDeps, reader: RequestHandler[]): Router {
  const router = Router();
  router.get('/changes', ...reader, async (req, res) => {
    const afterText = typeof req.query.after === 'string' ? req.query.after : '';
    const after = afterText === '' ? null : decodeCursor(afterText);
    if (afterText !== '' && after === null)
      throw new AppError(
        'invalid_cursor',
        'after must be a cursor from an earlier answer (next_cursor).',
        400,
      );
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '100';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
      throw new AppError(
        'invalid_limit',
        `limit must be a whole number from 1 to ${MAX_LIMIT}.`,
        400,
      );
    const accountId = typeof req.query.account_id === 'string' ? req.query.account_id : null;
    const page = await listChangesAfter(deps.pool, after, limit, accountId);
    res.json({
      changes: page.changes.map((c) => ({ ...c, seq: Number(c.seq) })),
      next_cursor: page.next ? encodeCursor(page.next) : afterText || null,
    });
  });
  return router;
}
