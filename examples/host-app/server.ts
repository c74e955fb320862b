// A small "schedules" host application that asks the billing service before it confirms. It is
// the operations checklist's scenario as running code: with a stopped account, confirm → 403 and
// propose → 200; with a registered or revived one, both → 200. With BILLING_NOTIFY_SECRET it also
// receives the service's notifications (SPEC §10) at POST /billing/notifications, keeps its own
// copy of every account's billing state from them, and acts on a lapse (here: signs the account's
// sessions out and queues a dunning e-mail).
//
//   BILLING_URL=http://localhost:3000 BILLING_GATE_TOKEN=… BILLING_NOTIFY_SECRET=whsec_… PORT=4000 npx tsx examples/host-app/server.ts
//   curl -X POST -H 'X-Account-Id: myasp:42' localhost:4000/api/schedules/s1/confirm
import express, { type Express, type Request, type Response } from 'express';

// A real host installs the package and imports from 'billing-orchestrator'.
import {
  createNotificationReceiver,
  type EntitlementDecision,
  type EntitlementOptions,
  type ReceivedChange,
  requireEntitlement,
  type VisibleState,
} from '../../src';

export interface HostAppOptions {
  billingUrl: string;
  /** One of the billing service's GATE_TOKENS: read-only, it opens the gate and nothing else. */
  billingGateToken: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  onUnavailable?: EntitlementOptions['onUnavailable'];
  /** The notification endpoint's secret (whsec_…): set it to receive notifications. */
  notifySecret?: string;
}

/** What the host keeps of each account, from notifications alone. */
export interface HostBilling {
  accounts: Map<string, VisibleState & { seq: number }>;
  /** Lapses acted on: the account could confirm before and cannot now. */
  lapses: { account_id: string; status: string; at: string; change_id: string }[];
}

const CAN_CONFIRM = new Set(['free', 'early_payment', 'active', 'canceling']);

interface Schedule {
  id: string;
  proposals: number;
  votes: number;
  confirmed: boolean;
}

/** Kept simple on purpose: the billing account is whatever the caller names in X-Account-Id. */
const accountOf = (req: Request): string => req.get('x-account-id') ?? '';

/** Keeps the copy and acts on a lapse (a real app: revoke sessions, send the dunning e-mail). */
function onBillingChange(billing: HostBilling) {
  return (change: ReceivedChange) => {
    billing.accounts.set(change.account_id, { ...change.current, seq: change.seq });
    const before = change.previous?.status;
    if (before !== undefined && CAN_CONFIRM.has(before) && !CAN_CONFIRM.has(change.current.status))
      billing.lapses.push({
        account_id: change.account_id,
        status: change.current.status,
        at: change.timestamp,
        change_id: change.change_id,
      });
  };
}

export function createHostApp(opts: HostAppOptions): Express & { billing: HostBilling } {
  const app = express() as Express & { billing: HostBilling };
  app.disable('x-powered-by');
  app.billing = { accounts: new Map(), lapses: [] };
  if (opts.notifySecret) {
    const receiver = createNotificationReceiver({
      secret: opts.notifySecret,
      onChange: onBillingChange(app.billing),
      // Changes the service gave up sending are pulled with the same read-only token.
      pull: { baseUrl: opts.billingUrl, token: opts.billingGateToken, fetch: opts.fetch },
    });
    // The raw body: the signature covers the bytes as sent.
    app.post(
      '/billing/notifications',
      express.raw({ type: 'application/json' }),
      receiver.handler(),
    );
    app.get('/billing/accounts/:id', (req, res) => {
      const account = app.billing.accounts.get(String(req.params.id));
      if (account) res.json({ account });
      else
        res.status(404).json({
          error: { code: 'unknown_account', message: 'No change received for this account yet.' },
        });
    });
  }
  const schedules = new Map<string, Schedule>();
  const schedule = (id: string): Schedule => {
    let s = schedules.get(id);
    if (!s) schedules.set(id, (s = { id, proposals: 0, votes: 0, confirmed: false }));
    return s;
  };
  const gate = (action: string) =>
    requireEntitlement(action, {
      baseUrl: opts.billingUrl,
      token: opts.billingGateToken,
      accountId: accountOf,
      fetch: opts.fetch,
      timeoutMs: opts.timeoutMs,
      onUnavailable: opts.onUnavailable,
    });
  const reply = (res: Response, s: Schedule, action: string) =>
    res.json({ schedule: s, action, entitlement: res.locals.entitlement as EntitlementDecision });

  app.post('/api/schedules/:id/propose', gate('propose'), (req, res) => {
    const s = schedule(String(req.params.id));
    s.proposals += 1;
    reply(res, s, 'propose');
  });
  app.post('/api/schedules/:id/vote', gate('vote'), (req, res) => {
    const s = schedule(String(req.params.id));
    s.votes += 1;
    reply(res, s, 'vote');
  });
  app.post('/api/schedules/:id/confirm', gate('confirm'), (req, res) => {
    const s = schedule(String(req.params.id));
    s.confirmed = true;
    reply(res, s, 'confirm');
  });
  return app;
}

function main(): void {
  const billingGateToken = process.env.BILLING_GATE_TOKEN;
  if (!billingGateToken) {
    console.error(
      "BILLING_GATE_TOKEN is not set; set it to one of the billing service's GATE_TOKENS.",
    );
    process.exit(2);
  }
  const billingUrl = process.env.BILLING_URL ?? 'http://localhost:3000';
  const port = Number(process.env.PORT ?? 4000);
  const notifySecret = process.env.BILLING_NOTIFY_SECRET;
  createHostApp({ billingUrl, billingGateToken, notifySecret }).listen(port, () => {
    console.log(`schedules host app on http://localhost:${port}, asking ${billingUrl}`);
  });
}

if (require.main === module) main();
