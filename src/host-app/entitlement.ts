// requireEntitlement(action): the express middleware a HOST application puts in front of its own
// routes. It asks this service's GET /v1/gate/:id/:action and answers 403 when the account may not
// do the action. Runs in the host's process: it imports nothing from the service but types, and
// talks to it over HTTP only.
//
// Failure policy (SPEC §2 "proposing and voting are never stopped"):
// - propose and vote are never blocked: the service is still asked (so the answer is counted in
//   propose_total and its provenance lands on res.locals), but a denial, an error, a timeout or a
//   failing accountId resolver all end in next().
// - any other action may be gated (the policy, GATED_ACTIONS, lives in the service, so the host
//   cannot tell whether `export` is gated while the service is down): when the service cannot be
//   asked, `onUnavailable` decides — 'deny' (default, 503) or 'allow' (next()).
import type { NextFunction, Request, RequestHandler, Response } from 'express';

import { type GateDecision, NEVER_GATED } from '../domain/gate';

/** Actions the middleware never blocks, whatever the service or its configuration says. */
/** The domain's own rule (SPEC §2), so the host and the service can never disagree. */
export const NEVER_BLOCKED_ACTIONS: readonly string[] = [...NEVER_GATED];

export interface EntitlementOptions {
  /** Where the billing service listens, e.g. `http://billing.internal:3000`. */
  baseUrl: string;
  /**
   * A gate token of the service (one of its GATE_TOKENS), sent as `Authorization: Bearer …`: it
   * opens the gate and the account read, nothing that writes.
   */
  token?: string;
  /**
   * @deprecated Pass a gate token as `token`. The admin token still works here, but it also sets
   * overrides and corrections: more power than a host app should hold.
   */
  adminToken?: string;
  /** The billing account behind this request (a header, the schedule's owner, the session…). */
  accountId: (req: Request) => string | Promise<string>;
  /** Injected for tests or proxies; default the global fetch. */
  fetch?: typeof fetch;
  /** How long to wait for the gate before treating the service as unavailable. Default 2000. */
  timeoutMs?: number;
  /** When the service cannot be asked about a possibly gated action. Default 'deny' (503 billing_unavailable). */
  onUnavailable?: 'deny' | 'allow';
}

/** What the middleware decided, left on `res.locals.entitlement` for the route. */
export interface EntitlementDecision {
  allowed: boolean;
  action: string;
  account_id: string | null;
  status: GateDecision['status'];
  /** The gate's reason (`status:active`, `override:<id>`, `no_billing_account`, …) or `billing_unavailable`. */
  reason: string;
  /** The gate's sentence, e.g. "past_due since 2026-05-01T00:00:00.000Z by evt_123, so confirm is denied." */
  message: string;
  provenance: GateDecision['provenance'];
  /** `gate`: the service answered; `local`: decided here (no account named, or the service could not be asked). */
  source: 'gate' | 'local';
}

export interface NotEntitledBody {
  error: { code: 'not_entitled'; message: string; reason: string; status: GateDecision['status'] };
}

export const DEFAULT_TIMEOUT_MS = 2000;

class GateUnavailable extends Error {
  override name = 'GateUnavailable';
}

const ANSWER_HINTS: Record<number, string> = {
  401: ' (check the gate token)',
  403: ' (the token may not ask the gate)',
  429: " (the token used up its gate budget, the service's GATE_RATE_LIMIT_PER_MINUTE)",
};

function tokenOf(opts: EntitlementOptions): string {
  return opts.token ?? opts.adminToken ?? '';
}

let warnedAdminToken = false;

function warnAdminToken(): void {
  if (warnedAdminToken) return;
  warnedAdminToken = true;
  process.emitWarning(
    'requireEntitlement: adminToken is deprecated; pass a gate token (GATE_TOKENS) as token. The admin token also sets overrides and corrections.',
    'DeprecationWarning',
  );
}

function gateUrl(baseUrl: string, accountId: string, action: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/v1/gate/${encodeURIComponent(accountId)}/${encodeURIComponent(action)}`;
}

function isGateAnswer(body: unknown): body is GateDecision {
  const b = body as Partial<GateDecision> | null;
  return typeof b?.allowed === 'boolean' && typeof b.reason === 'string';
}

/** One gate question with a deadline; every way of not getting a clear answer is GateUnavailable. */
async function askGate(
  opts: EntitlementOptions,
  accountId: string,
  action: string,
): Promise<GateDecision> {
  const doFetch = opts.fetch ?? fetch;
  let answer: globalThis.Response;
  try {
    answer = await doFetch(gateUrl(opts.baseUrl, accountId, action), {
      headers: { authorization: `Bearer ${tokenOf(opts)}`, accept: 'application/json' },
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (err) {
    const timedOut = (err as { name?: string } | null)?.name === 'TimeoutError';
    throw new GateUnavailable(timedOut ? 'it did not answer in time' : 'it could not be reached');
  }
  if (answer.status !== 200) {
    // 401 means the host's token is wrong, 429 that it used up its budget: configuration, said so.
    const hint = ANSWER_HINTS[answer.status] ?? '';
    throw new GateUnavailable(`it answered HTTP ${answer.status}${hint}`);
  }
  const body: unknown = await answer.json().catch(() => null);
  if (!isGateAnswer(body)) throw new GateUnavailable('its answer was not a gate decision');
  return body;
}

function fromGate(d: GateDecision, accountId: string): EntitlementDecision {
  return {
    allowed: d.allowed,
    action: d.action,
    account_id: accountId,
    status: d.status,
    reason: d.reason,
    message: d.message,
    provenance: d.provenance ?? null,
    source: 'gate',
  };
}

/** A decision made here, without the service's answer: no account named, or the service unreachable. */
function local(
  action: string,
  accountId: string | null,
  allowed: boolean,
  reason: string,
  message: string,
): EntitlementDecision {
  return {
    allowed,
    action,
    account_id: accountId,
    status: null,
    reason,
    message,
    provenance: null,
    source: 'local',
  };
}

const UNAVAILABLE = 'billing_unavailable';

function unavailable(
  action: string,
  accountId: string | null,
  allowed: boolean,
  why: string,
): EntitlementDecision {
  return local(
    action,
    accountId,
    allowed,
    UNAVAILABLE,
    `The billing service could not be asked whether ${action} is allowed: ${why}.`,
  );
}

async function resolveAccountId(opts: EntitlementOptions, req: Request): Promise<string> {
  const id = await opts.accountId(req);
  return typeof id === 'string' ? id.trim() : '';
}

/** propose / vote: ask (for counting and provenance), never block. */
async function neverBlocked(
  opts: EntitlementOptions,
  action: string,
  req: Request,
): Promise<EntitlementDecision> {
  let accountId: string | null = null;
  try {
    accountId = (await resolveAccountId(opts, req)) || null;
    if (accountId === null) {
      return local(
        action,
        null,
        true,
        'no_billing_account',
        `The request names no billing account; ${action} is never gated.`,
      );
    }
    // allowed: true even if a misconfigured service said otherwise — these are never blocked.
    return { ...fromGate(await askGate(opts, accountId, action), accountId), allowed: true };
  } catch (err) {
    return unavailable(
      action,
      accountId,
      true,
      err instanceof GateUnavailable ? err.message : 'the account could not be resolved',
    );
  }
}

/** confirm and any other possibly gated action. A failing accountId resolver goes to next(err). */
async function gated(
  opts: EntitlementOptions,
  action: string,
  req: Request,
): Promise<EntitlementDecision> {
  const accountId = await resolveAccountId(opts, req);
  if (accountId === '') {
    return local(
      action,
      null,
      false,
      'no_billing_account',
      `The request names no billing account, so ${action} is denied.`,
    );
  }
  try {
    return fromGate(await askGate(opts, accountId, action), accountId);
  } catch (err) {
    if (!(err instanceof GateUnavailable)) throw err;
    return unavailable(action, accountId, (opts.onUnavailable ?? 'deny') === 'allow', err.message);
  }
}

function refuse(res: Response, d: EntitlementDecision): void {
  if (d.reason === UNAVAILABLE) {
    res.set('Retry-After', '5');
    res.status(503).json({
      error: {
        code: UNAVAILABLE,
        message: `${d.message} Until it answers, ${d.action} is refused; try again shortly.`,
      },
    });
    return;
  }
  const body: NotEntitledBody = {
    error: { code: 'not_entitled', message: d.message, reason: d.reason, status: d.status },
  };
  res.status(403).json(body);
}

/**
 * `app.post('/api/schedules/:id/confirm', requireEntitlement('confirm', opts), handler)`.
 * Denied: 403 `{error: {code: 'not_entitled', message, reason, status}}`. Allowed: next(), with
 * the decision on `res.locals.entitlement`.
 */
export function requireEntitlement(action: string, opts: EntitlementOptions): RequestHandler {
  if (!opts.baseUrl)
    throw new Error('requireEntitlement needs baseUrl: where the billing service listens.');
  if (!tokenOf(opts))
    throw new Error(
      "requireEntitlement needs token: one of the billing service's GATE_TOKENS (read-only).",
    );
  if (opts.token === undefined) warnAdminToken();
  const neverBlock = NEVER_BLOCKED_ACTIONS.includes(action);
  return (req: Request, res: Response, next: NextFunction): void => {
    (neverBlock ? neverBlocked(opts, action, req) : gated(opts, action, req)).then(
      (decision) => {
        res.locals.entitlement = decision;
        if (decision.allowed) next();
        else refuse(res, decision);
      },
      (err: unknown) => next(err),
    );
  };
}
