// /healthz (the process is up), /readyz (PostgreSQL and Temporal answer), /metrics.
import { Router } from 'express';

import { temporalReachable } from '../temporal/client';
import type { AppDeps } from './deps';

export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, temporal] = await Promise.all([
      deps.pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      temporalReachable(deps.temporal, 2000),
    ]);
    const ok = postgres && temporal;
    if (!ok) res.set('Retry-After', '10');
    res.status(ok ? 200 : 503).json({ ok, postgres, temporal });
  });
  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  return router;
}
