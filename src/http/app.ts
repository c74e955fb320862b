// createApp(deps): the HTTP front end. Webhooks read raw bodies; /v1 needs the admin token, except
// the reads a host app makes (the gate, one account), which also take a read-only gate token and
// have a budget of their own.
import express, { type Express } from 'express';

import { AppError } from '../domain/errors';
import { accountReadRouter, accountsRouter } from './accounts';
import { gateRateLimit, requireAdmin, requireReader, type Tokens } from './auth';
import type { AppDeps } from './deps';
import { apiErrorHandler, sendError } from './errors';
import { gateRouter } from './gate';
import { healthRouter } from './health';
import { changesRouter, notificationEndpointsRouter } from './notifications';
import { opsRouter } from './ops';
import { opsPageRouter } from './ops-page/router';
import { overridesRouter } from './overrides';
import { adminRateLimit, securityHeaders, WindowCounter } from './security';
import { myaspWebhookRouter } from './webhooks-myasp';
import { stripeWebhookRouter } from './webhooks-stripe';

export type { AppDeps } from './deps';

export function createApp(given: AppDeps): Express {
  const deps: AppDeps = {
    ...given,
    authFailures: given.authFailures ?? new WindowCounter(given.config.authFailureLimitPerMinute),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(securityHeaders());
  app.use(stripeWebhookRouter(deps));
  app.use(myaspWebhookRouter(deps));
  app.use(healthRouter(deps));
  app.use(opsPageRouter(deps));
  const tokens: Tokens = { admin: deps.config.adminToken, gate: deps.config.gateTokens };
  const reader = [
    requireReader(tokens, deps.authFailures),
    gateRateLimit(
      new WindowCounter(deps.config.gateRateLimitPerMinute),
      deps.config.gateRateLimitPerMinute,
      (token) => deps.metrics.gateRateLimited.inc({ token }),
    ),
  ];
  app.use('/v1', gateRouter(deps, reader));
  app.use('/v1', accountReadRouter(deps, reader));
  app.use('/v1', changesRouter(deps, reader));
  const v1 = express.Router();
  v1.use(adminRateLimit(new WindowCounter(deps.config.adminRateLimitPerMinute)));
  v1.use(requireAdmin(tokens, deps.authFailures));
  v1.use(express.json({ limit: '64kb' }));
  v1.use(accountsRouter(deps));
  v1.use(overridesRouter(deps));
  v1.use(opsRouter(deps));
  v1.use(notificationEndpointsRouter(deps));
  app.use('/v1', v1);
  app.use((req, res) => {
    sendError(res, new AppError('not_found', `No route for ${req.method} ${req.path}.`, 404));
  });
  app.use(apiErrorHandler(deps));
  return app;
}
