// GET /ops: the read-only operator page, behind the admin token. A browser sends it as HTTP Basic
// (any user name, the admin token as password), a script as `Authorization: Bearer`. Nothing on
// the page writes: the daily check it shows is judged live and not kept.
import { type NextFunction, type Request, type Response, Router } from 'express';

import { getAccountView } from '../../db/queries/account-reads';
import { accountTimeline } from '../../db/queries/audit-logs';
import { listFailedMessages } from '../../db/queries/notifications';
import { parseAtTime, parsePolicySettings } from '../../domain/policy';
import { runDailyCheck } from '../../ops/daily-check';
import { defaultRebuildThreads } from '../../ops/rebuild';
import { whatIf } from '../../ops/what-if';
import { temporalProbe } from '../../temporal/client';
import { accountWorkflowId } from '../../temporal/ids';
import type { AppDeps } from '../deps';
import { tokensEqual } from '../tokens';
import { notificationsSection } from './notifications-view';
import { accountPage, dailyCheckPage, notFoundPage } from './views';
import { proposedPairs, type WhatIfForm, whatIfPage } from './what-if-view';

const REALM = 'Basic realm="billing operations", charset="UTF-8"';

function presentedToken(req: Request): string | null {
  const header = (req.get('authorization') ?? '').trim();
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer?.[1]) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!basic?.[1]) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

function requireAdminPage(adminToken: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = presentedToken(req);
    if (token !== null && tokensEqual(token, adminToken)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', REALM)
      .type('text/plain; charset=utf-8')
      .send(
        token === null
          ? 'ログインしてください: パスワードは ADMIN_TOKEN です。 / Sign in with the admin token (ADMIN_TOKEN) as the password.\n'
          : '管理トークンが違います。 / The admin token is not valid for this server.\n',
      );
  };
}

function sendPage(res: Response, body: string, status = 200): void {
  res
    .status(status)
    .set({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // No scripts at all; styles inline; forms only to this page.
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
    })
    .send(body);
}

export function opsPageRouter(deps: AppDeps): Router {
  const router = Router();
  router.use('/ops', requireAdminPage(deps.config.adminToken));
  router.get('/ops', async (_req, res) => {
    const check = await runDailyCheck(deps.pool, {
      trigger: 'api',
      temporal: temporalProbe(deps.temporal),
      gatedActions: deps.config.gatedActions,
      stripeApiKeySet: deps.config.reconcile.stripeApiKey !== null,
      keep: false,
    });
    const failed = await listFailedMessages(deps.pool, { limit: 50 });
    sendPage(res, dailyCheckPage(check, [notificationsSection(check, failed)]));
  });
  router.get('/ops/what-if', async (req, res) => {
    const field = (name: string) => (typeof req.query[name] === 'string' ? req.query[name] : '');
    const form: WhatIfForm = {
      past_due_grace: field('past_due_grace'),
      gated_actions: field('gated_actions'),
      default_trial_days: field('default_trial_days'),
      at: field('at'),
    };
    const proposed = proposedPairs(form);
    const asked = proposed.length > 0 || form.at.trim() !== '';
    const { settings, errors } = parsePolicySettings(proposed);
    const at = form.at.trim() === '' ? null : parseAtTime(form.at.trim());
    if (at && 'error' in at) errors.push(at.error);
    const result =
      asked && errors.length === 0
        ? await whatIf(deps.pool, {
            settings,
            proposed,
            gatedNow: deps.config.gatedActions,
            at: at && 'at' in at ? at.at : null,
            // On worker threads: a fold over every event must not hold up the webhooks.
            ...(deps.databaseUrl
              ? { parallel: { databaseUrl: deps.databaseUrl, threads: defaultRebuildThreads() } }
              : {}),
          })
        : null;
    sendPage(res, whatIfPage({ form, result, errors }), errors.length > 0 ? 400 : 200);
  });
  router.get('/ops/accounts', (req, res) => {
    const id = typeof req.query.id === 'string' ? req.query.id.trim() : '';
    res.redirect(303, id ? `/ops/accounts/${encodeURIComponent(id)}` : '/ops');
  });
  router.get('/ops/accounts/:id', async (req, res) => {
    const id = String(req.params.id);
    const account = await getAccountView(deps.pool, id);
    if (!account) {
      sendPage(res, notFoundPage(id), 404);
      return;
    }
    const timeline = await accountTimeline(deps.pool, id);
    sendPage(
      res,
      accountPage({
        account,
        timeline,
        workflowId: accountWorkflowId(id),
        temporalUiUrl: deps.temporalUiUrl ?? null,
        namespace: deps.config.temporalNamespace,
      }),
    );
  });
  return router;
}
