// /v1/ops: the operator checks over HTTP.
import { Router } from 'express';
import { runDailyCheck } from '../ops/daily-check';
import type { AppDeps } from './deps';

export function opsRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/ops/daily-check', async (_req, res) => {
    const result = await runDailyCheck(deps.pool, { trigger: 'api', temporal: deps.temporal });
    res.json(result);
  });
  return router;
}
