// GET /ops: the read-only operator page, behind the admin token. A browser sends it as HTTP Basic
// (any user name, the admin token as password), a script as `Authorization: Bearer`. Nothing on
// the page writes: the daily check it shows is judged live and not kept.
import { type NextFunction, type Request, type Response, Router } from 'express';

import { getAccountView } from '../../db/queries/account-reads';
import { accountTimeline } from '../../db/queries/audit-logs';
import { listFailedMessages } from '../../db/queries/notifications';
import { runDailyCheck } from '../../ops/daily-check';
import { temporalProbe } from '../../temporal/client';
import { accountWorkflowId } from '../../temporal/ids';
import type { AppDeps } from '../deps';
import { tokensEqual } from '../tokens';
import { notificationsSection } from './notifications-view';
import { accountPage, dailyCheckPage, notFoundPage } from './views';

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
      keep: false,
    });
    const failed = await listFailedMessages(deps.pool, { limit: 50 });
    sendPage(res, dailyCheckPage(check, [notificationsSection(check, failed)]));
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
