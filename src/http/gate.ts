// GET /v1/gate/:id/:action → {allowed, status, reason, …} (HTTP 200 either way), with what the
// account's workflow has not applied yet folded in (SPEC §6).
import { type RequestHandler, Router } from 'express';

import { checkAccountId } from '../domain/account-id';
import { checkGate } from '../services/gate';
import type { AppDeps } from './deps';
import { nowOf } from './deps';

/** `guard`: who may ask (a gate token or the admin token) and how often. */
export function gateRouter(deps: AppDeps, guard: RequestHandler[]): Router {
  const router = Router();
  router.get('/gate/:id/:action', ...guard, async (req, res) => {
    const accountId = checkAccountId(String(req.params.id), 'the URL');
    const decision = await checkGate(
      {
        pool: deps.pool,
        gatedActions: deps.config.gatedActions,
        metrics: deps.metrics,
        now: () => nowOf(deps),
      },
      accountId,
      String(req.params.action),
    );
    res.json({ account_id: accountId, ...decision });
  });
  return router;
}
