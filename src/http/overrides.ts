// /v1/gate-overrides: set, list, clear emergency fail-open switches.
import { Router } from 'express';
import { z } from 'zod';

import { listOverrides } from '../db/queries/gate-overrides';
import { clearOverride, expiryFromTtl, setOverride } from '../services/overrides';
import type { AppDeps } from './deps';
import { nowOf } from './deps';
import { parseBody } from './validation';

const setSchema = z
  .object({
    account_id: z.string().min(1).max(200).nullish(),
    actions: z.array(z.string().min(1)).optional(),
    reason: z.string().min(1, 'a reason is required').max(1000),
    actor: z.string().min(1).max(200).default('api'),
    expires_at: z.string().optional(),
    ttl: z.string().optional(),
  })
  .refine(
    (v) => Boolean(v.expires_at) !== Boolean(v.ttl),
    'give either expires_at or ttl (e.g. "2h")',
  );

export function expiryFrom(input: { expires_at?: string; ttl?: string }, now: Date): string {
  return input.expires_at ?? expiryFromTtl(input.ttl, now, 'ttl');
}

export function overridesRouter(deps: AppDeps): Router {
  const router = Router();
  router.post('/gate-overrides', async (req, res) => {
    const body = parseBody(setSchema, req.body);
    const now = nowOf(deps);
    const result = await setOverride(
      deps,
      {
        account_id: body.account_id ?? null,
        actions: body.actions ?? deps.config.gatedActions,
        reason: body.reason,
        actor: body.actor,
        expires_at: expiryFrom(body, now),
      },
      now,
    );
    res.status(201).json(result);
  });
  router.get('/gate-overrides', async (req, res) => {
    res.json({ overrides: await listOverrides(deps.pool, { all: req.query.all === 'true' }) });
  });
  router.delete('/gate-overrides/:id', async (req, res) => {
    const body = (req.body ?? {}) as { reason?: unknown; actor?: unknown };
    const reason =
      typeof body.reason === 'string' && body.reason ? body.reason : 'cleared by operator';
    const actor = typeof body.actor === 'string' && body.actor ? body.actor : 'api';
    res.json({ override: await clearOverride(deps, String(req.params.id), actor, reason) });
  });
  return router;
}
