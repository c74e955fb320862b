// GET /v1/gate/:id/:action → {allowed, status, reason} (HTTP 200 either way).
import { Router } from 'express';

import { checkAccountId } from '../domain/account-id';
import { checkGate } from '../services/gate';
import type { AppDeps } from './deps';
import { nowOf } from './deps';

export function gateRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/gate/:id/:action', async (req, res) => {
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
