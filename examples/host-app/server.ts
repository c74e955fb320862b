// A small "schedules" host application that asks the billing service before it confirms. It is
// the operations checklist's scenario as running code: with a stopped account, confirm → 403 and
// propose → 200; with a registered or revived one, both → 200.
//
//   BILLING_URL=http://localhost:3000 BILLING_GATE_TOKEN=… PORT=4000 npx tsx examples/host-app/server.ts
//   curl -X POST -H 'X-Account-Id: myasp:42' localhost:4000/api/schedules/s1/confirm
import express, { type Express, type Request, type Response } from 'express';

// A real host installs the package and imports from 'billing-orchestrator'.
import { type EntitlementDecision, type EntitlementOptions, requireEntitlement } from '../../src';

export interface HostAppOptions {
  billingUrl: string;
  /** One of the billing service's GATE_TOKENS: read-only, it opens the gate and nothing else. */
  billingGateToken: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  onUnavailable?: EntitlementOptions['onUnavailable'];
}

interface Schedule {
  id: string;
  proposals: number;
  votes: number;
  confirmed: boolean;
}

/** Kept simple on purpose: the billing account is whatever the caller names in X-Account-Id. */
const accountOf = (req: Request): string => req.get('x-account-id') ?? '';

export function createHostApp(opts: HostAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
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
  createHostApp({ billingUrl, billingGateToken }).listen(port, () => {
    console.log(`schedules host app on http://localhost:${port}, asking ${billingUrl}`);
  });
}

if (require.main === module) main();
