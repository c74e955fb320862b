// createApp(deps): the HTTP front end. Webhooks read raw bodies; /v1 needs the admin token.
import express, { type Express } from 'express';

import { AppError } from '../domain/errors';
import { accountsRouter } from './accounts';
import { requireAdmin } from './auth';
import type { AppDeps } from './deps';
import { apiErrorHandler, sendError } from './errors';
import { gateRouter } from './gate';
import { healthRouter } from './health';
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
  const v1 = express.Router();
  v1.use(adminRateLimit(new WindowCounter(deps.config.adminRateLimitPerMinute)));
  v1.use(requireAdmin(deps.config.adminToken, deps.authFailures));
  v1.use(express.json({ limit: '64kb' }));
  v1.use(accountsRouter(deps));
  v1.use(gateRouter(deps));
  v1.use(overridesRouter(deps));
  v1.use(opsRouter(deps));
  app.use('/v1', v1);
  app.use((req, res) => {
    sendError(res, new AppError('not_found', `No route for ${req.method} ${req.path}.`, 404));
  });
  app.use(apiErrorHandler(deps));
  return app;
}
