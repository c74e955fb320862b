// Read-only gate tokens (SPEC §6): what a host app holds. A gate token (GATE_TOKENS, several
// during a rotation) opens the gate and one account's read, nothing else; the admin token opens
// those too. Those reads have their own budget per token (GATE_RATE_LIMIT_PER_MINUTE), not the
// admin API's per-address one, so a host app's hot path is not refused at the admin limit. Real
// service (API only: nothing here needs an event applied), real HTTP.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

import express from 'express';

import { requireEntitlement } from '../../src/host-app/entitlement';
import * as fx from '../fixtures/stripe';
import { type Answer, json, postStripe } from '../helpers/http';
import { nowS, uid } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';

function as(token: string | null, svc: TestService, path: string, init: RequestInit = {}) {
  return json(
    fetch(svc.baseUrl + path, {
      ...init,
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
    }),
  );
}

async function storedEvents(svc: TestService): Promise<number> {
  const r = await svc.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM billing_events');
  return r.rows[0]?.n ?? 0;
}

/** An account with one acknowledged Stripe subscription (applied or not: the read folds it). */
async function accountWithSubscription(svc: TestService): Promise<string> {
  const accountId = uid('acct_tok');
  const created = fx.subscriptionCreated({
    accountId,
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
    created: nowS(),
  });
  expect((await postStripe(svc.baseUrl, created)).status).toBe(200);
  return accountId;
}

describe('gate tokens', () => {
  let svc: TestService;
  let account: string;
  beforeAll(async () => {
    // The default budgets: ADMIN_RATE_LIMIT_PER_MINUTE 600, GATE_RATE_LIMIT_PER_MINUTE 60,000.
    svc = await startService({ role: 'api' });
    account = await accountWithSubscription(svc);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it.each([
    { who: 'the current gate token', token: SECRETS.gate },
    { who: 'the gate token being rotated out', token: SECRETS.gateOld },
    { who: 'the admin token', token: SECRETS.admin },
  ])('when $who asks the gate and reads the account, then both answer', async ({ token }) => {
    const gate = await as(token, svc, `/v1/gate/${account}/confirm`);
    expect(gate).toMatchObject({ status: 200, body: { allowed: true, status: 'active' } });
    const read = await as(token, svc, `/v1/accounts/${account}`);
    expect(read).toMatchObject({ status: 200, body: { account_id: account, status: 'active' } });
  });

  it.each([
    { route: 'POST /v1/accounts', path: '/v1/accounts', method: 'POST', body: { account_id: 'x' } },
    {
      route: 'POST /v1/accounts/:id/corrections',
      path: '/v1/accounts/ACCOUNT/corrections',
      method: 'POST',
      body: { status: 'active', reason: 'gate token tries to write' },
    },
    {
      route: 'POST /v1/gate-overrides',
      path: '/v1/gate-overrides',
      method: 'POST',
      body: { reason: 'gate token tries to open the gate', ttl: '1h' },
    },
    { route: 'GET /v1/accounts (the list)', path: '/v1/accounts', method: 'GET' },
    { route: 'GET /v1/accounts/:id/events', path: '/v1/accounts/ACCOUNT/events', method: 'GET' },
    { route: 'GET /v1/ops/daily-check', path: '/v1/ops/daily-check', method: 'GET' },
  ])(
    'when a gate token is sent to $route, then it is refused 403 and nothing is stored',
    async ({ path, method, body }) => {
      const before = await storedEvents(svc);
      const r = await as(SECRETS.gate, svc, path.replace('ACCOUNT', account), {
        method,
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(r).toMatchObject({
        status: 403,
        body: { error: { code: 'gate_token_not_allowed' } },
      });
      expect((r.body.error as { message: string }).message).toContain(
        'GET /v1/gate/:id/:action and GET /v1/accounts/:id',
      );
      expect(await storedEvents(svc)).toBe(before);
    },
  );

  it.each([
    { what: 'a wrong token', token: 'gate-token-0123456789abcdeX', code: 'invalid_token' },
    { what: 'a prefix of a gate token', token: SECRETS.gate.slice(0, 10), code: 'invalid_token' },
    { what: 'no token', token: null, code: 'missing_token' },
  ])('when the gate is asked with $what, then 401 $code', async ({ token, code }) => {
    for (const path of [`/v1/gate/${account}/confirm`, `/v1/accounts/${account}`]) {
      const r = await as(token, svc, path);
      expect(r).toMatchObject({ status: 401, body: { error: { code } } });
      expect(JSON.stringify(r.body)).not.toContain(SECRETS.gate);
    }
  });

  it('when one address asks the gate 2,000 times in a minute, then none is refused, and the admin budget is left untouched', async () => {
    const answers: number[] = [];
    let next = 0;
    // As fast as the box allows, 8 at a time: no wall-clock claim, only that nothing is refused.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 2000) {
          next += 1;
          const r = await fetch(`${svc.baseUrl}/v1/gate/${account}/confirm`, {
            headers: { authorization: `Bearer ${SECRETS.gate}` },
          });
          await r.arrayBuffer();
          answers.push(r.status);
        }
      }),
    );
    expect(answers.length).toBe(2000);
    expect(answers.filter((s) => s !== 200)).toEqual([]);
    // The admin API (600 a minute per address) still answers this address.
    expect((await as(SECRETS.admin, svc, '/v1/accounts?limit=1')).status).toBe(200);
  });

  it('when a host app still passes the admin token as adminToken (deprecated), then requireEntitlement still asks the gate with it', async () => {
    const host = express();
    host.post(
      '/confirm',
      requireEntitlement('confirm', {
        baseUrl: svc.baseUrl,
        adminToken: SECRETS.admin,
        accountId: () => account,
      }),
      (_req, res) => void res.json({ ok: true }),
    );
    const server = host.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const r: Answer = await json(fetch(`http://127.0.0.1:${port}/confirm`, { method: 'POST' }));
      expect(r).toMatchObject({ status: 200, body: { ok: true } });
    } finally {
      server.close();
    }
  });
});

describe('the gate budget per token', () => {
  const LIMIT = 5;
  let svc: TestService;
  let account: string;
  beforeAll(async () => {
    svc = await startService({
      role: 'api',
      env: { GATE_RATE_LIMIT_PER_MINUTE: String(LIMIT), ADMIN_RATE_LIMIT_PER_MINUTE: '2' },
    });
    account = await accountWithSubscription(svc);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it(`when one gate token asks more than ${LIMIT} times a minute, then it is answered 429 naming GATE_RATE_LIMIT_PER_MINUTE, counted, and another token keeps its own budget`, async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < LIMIT + 2; i++)
      answers.push(await as(SECRETS.gate, svc, `/v1/gate/${account}/confirm`));
    // The admin API's own budget (2 here) was never what limited the gate.
    expect(answers.slice(0, LIMIT).map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
    for (const limited of answers.slice(LIMIT)) {
      expect(limited).toMatchObject({
        status: 429,
        body: { error: { code: 'gate_rate_limited' } },
      });
      expect((limited.body.error as { message: string }).message).toContain(
        `GATE_RATE_LIMIT_PER_MINUTE allows ${LIMIT} a minute per token`,
      );
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // The account read shares the token's budget.
    expect((await as(SECRETS.gate, svc, `/v1/accounts/${account}`)).status).toBe(429);
    // The token being rotated out has a budget of its own.
    expect((await as(SECRETS.gateOld, svc, `/v1/gate/${account}/confirm`)).status).toBe(200);
    const metrics = await (await fetch(`${svc.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^billing_gate_rate_limited_total\{token="gate"\} 3$/m);
  });
});
