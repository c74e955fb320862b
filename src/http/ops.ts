// /v1/ops: the operator checks over HTTP.
import { Router } from 'express';

import { AppError } from '../domain/errors';
import { runDailyCheck } from '../ops/daily-check';
import { temporalProbe } from '../temporal/client';
import type { AppDeps } from './deps';

/** `?as_of=<ISO time>`: judge as of another instant (e.g. "was this morning normal?"). */
function asOf(raw: unknown): Date | undefined {
  if (raw === undefined) return undefined;
  const at = typeof raw === 'string' ? new Date(raw) : new Date(NaN);
  if (Number.isNaN(at.getTime()))
    throw new AppError(
      'invalid_as_of',
      'as_of must be an ISO-8601 time, e.g. 2026-01-05T09:00:00+09:00.',
    );
  return at;
}

export function opsRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/ops/daily-check', async (req, res) => {
    const result = await runDailyCheck(deps.pool, {
      trigger: 'api',
      now: asOf(req.query.as_of),
      temporal: temporalProbe(deps.temporal),
      gatedActions: deps.config.gatedActions,
      stripeApiKeySet: deps.config.reconcile.stripeApiKey !== null,
    });
    res.json(result);
  });
  return router;
}
