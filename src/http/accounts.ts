// /v1/accounts: register, read an account (read your writes), list, read an account's history,
// correct by hand.
import { randomUUID } from 'node:crypto';

import { type Request, type RequestHandler, type Response, Router } from 'express';
import { z } from 'zod';

import { listAccountAudit } from '../db/queries/audit-logs';
import { listAccounts } from '../db/queries/billing-accounts';
import { listAccountEvents } from '../db/queries/billing-events';
import { checkAccountId } from '../domain/account-id';
import { AppError } from '../domain/errors';
import { accountExtras } from '../domain/schedule-evidence';
import { STATUSES } from '../domain/types';
import {
  type AccountEventResult,
  correctAccount,
  registerAccount,
} from '../services/account-events';
import { readAccount } from '../services/account-read';
import type { AppDeps } from './deps';
import { nowOf } from './deps';
import { parseBody } from './validation';

const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 time');
// Length and control characters are the one account-id rule (src/domain/account-id.ts), checked
// where the account is registered; the API adds that an id fits in a URL path segment.
const accountId = z
  .string()
  .trim()
  .min(1)
  .regex(/^[^\s/]+$/, 'must not contain spaces or slashes');

const registerSchema = z.object({
  account_id: accountId,
  trial_end: isoTime.nullish(),
  trial_days: z.number().int().min(0).max(3650).nullish(),
  email: z.string().max(320).nullish(),
  stripe_customer_id: z.string().max(200).nullish(),
  myasp_user_id: z.string().max(200).nullish(),
});

const correctionSchema = z.object({
  status: z.string(),
  reason: z.string().min(1, 'a reason is required').max(1000),
  actor: z.string().min(1).max(200).default('api'),
  scheduled_cancel_at: isoTime.nullish(),
});

const listQuerySchema = z.object({
  status: z.enum(STATUSES).optional(),
  provider: z.enum(['stripe', 'myasp', 'none']).optional(),
  updated_since: isoTime.optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number from 1 to 500')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 500, 'must be a whole number from 1 to 500')
    .optional(),
  cursor: z.string().max(500).optional(),
});

/** Opaque to clients: the last account id of the page, so the next page starts after it. */
function encodeCursor(accountId: string): string {
  return Buffer.from(JSON.stringify({ after: accountId }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    const after = (parsed as { after?: unknown } | null)?.after;
    if (typeof after === 'string' && after !== '') return after;
  } catch {
    // falls through to the error below
  }
  throw new AppError(
    'invalid_cursor',
    'cursor: not a cursor this server gave out; pass next_cursor from the previous page unchanged.',
    400,
  );
}

function answer(res: Response, r: AccountEventResult, created: boolean): void {
  const pending = r.outcome === null;
  res.status(pending ? 202 : created ? 201 : 200).json({
    account_id: r.event.account_id,
    event_id: r.event.id,
    outcome: r.outcome,
    pending,
    account: r.account,
  });
}

/** An account id from the URL, held to the one account-id rule (400 otherwise). */
function param(req: Request, name: string): string {
  const v = req.params[name];
  return checkAccountId(typeof v === 'string' ? v : '', 'the URL');
}

/** `?limit=`: a whole number from 1 to `max`; absent means `fallback`. */
function limitParam(req: Request, fallback: number, max: number): number {
  const raw = req.query.limit;
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1)) {
    throw new AppError(
      'invalid_limit',
      `limit must be a whole number from 1 to ${max}, e.g. ?limit=${fallback}.`,
      400,
    );
  }
  return Math.min(n, max);
}

/**
 * GET /v1/accounts/:id: the account as if its workflow had applied every acknowledged event
 * (SPEC §6), with how the read was folded. `guard`: a gate token or the admin token.
 */
export function accountReadRouter(deps: AppDeps, guard: RequestHandler[]): Router {
  const router = Router();
  router.get('/accounts/:id', ...guard, async (req, res) => {
    const id = param(req, 'id');
    const read = await readAccount(deps, id, nowOf(deps), 'account');
    if (!read.state)
      throw new AppError(
        'account_not_found',
        `No billing account ${id}; register it with POST /v1/accounts.`,
        404,
      );
    res.json({
      ...read.state,
      ...accountExtras(read.state.objects),
      created_at: read.created_at,
      updated_at: read.updated_at,
      last_event: read.last_event,
      ...read.summary,
    });
  });
  return router;
}

export function accountsRouter(deps: AppDeps): Router {
  const router = Router();
  const eventDeps = { ...deps, waitMs: 10_000 };

  router.post('/accounts', async (req, res) => {
    const input = parseBody(registerSchema, req.body);
    const r = await registerAccount(eventDeps, input, {
      defaultTrialDays: deps.config.defaultTrialDays,
      now: nowOf(deps),
    });
    answer(res, r, !r.duplicate && r.outcome === 'applied');
  });

  router.get('/accounts', async (req, res) => {
    const q = parseBody(listQuerySchema, req.query);
    const limit = q.limit ?? 50;
    const rows = await listAccounts(deps.pool, {
      status: q.status ?? null,
      provider: q.provider ?? null,
      updatedSince: q.updated_since ?? null,
      afterAccountId: q.cursor === undefined ? null : decodeCursor(q.cursor),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    res.json({
      accounts: page,
      next_cursor: rows.length > limit && last ? encodeCursor(last.account_id) : null,
    });
  });

  router.get('/accounts/:id/events', async (req, res) => {
    const id = param(req, 'id');
    const limit = limitParam(req, 200, 1000);
    const [events, audit] = await Promise.all([
      listAccountEvents(deps.pool, id, limit),
      listAccountAudit(deps.pool, id, limit),
    ]);
    res.json({ account_id: id, events, audit });
  });

  router.post('/accounts/:id/corrections', async (req, res) => {
    const body = parseBody(correctionSchema, req.body);
    const requestId = req.get('idempotency-key') ?? randomUUID();
    const r = await correctAccount(
      eventDeps,
      { account_id: param(req, 'id'), ...body },
      { now: nowOf(deps), requestId },
    );
    answer(res, r, false);
  });

  return router;
}
