// The HTTP layer's own defences: security headers on every answer (also errors and what the
// HTTP parser refuses), a rate limit on the admin API, and a limit on failed authentications
// that never touches a validly signed provider delivery. Real service, real HTTP.
import net from 'node:net';

import * as fx from '../fixtures/stripe';
import { json, postMyasp, postStripe } from '../helpers/http';
import { faultAccountId, nowS } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

const EXPECTED_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cache-control': 'no-store',
};

function securityHeadersOf(headers: Headers): Record<string, string | null> {
  return Object.fromEntries(Object.keys(EXPECTED_HEADERS).map((h) => [h, headers.get(h)]));
}

/** A raw HTTP/1.1 exchange, for requests fetch() will not send (oversized headers). */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

function subscriptionEvent() {
  return fx.subscriptionCreated({
    accountId: faultAccountId('sec'),
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
    created: nowS(),
  });
}

describe('security headers', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when any route answers, successfully or not, then the answer carries the security headers', async () => {
    const base = svc.baseUrl;
    const answers = [
      await fetch(`${base}/healthz`),
      await fetch(`${base}/metrics`),
      await fetch(`${base}/no-such-route`),
      await fetch(`${base}/v1/accounts`),
      await svc.admin('/v1/accounts'),
      await svc.admin('/v1/accounts', { method: 'POST', body: '{not json' }),
    ].map((r) => ({ status: r.status, headers: r.headers }));
    answers.push(await postStripe(base, subscriptionEvent()));
    answers.push(await postStripe(base, subscriptionEvent(), { signature: 't=1,v1=00' }));
    answers.push(await postStripe(base, subscriptionEvent(), { contentType: 'text/plain' }));
    answers.push(await postStripe(base, 'x'.repeat(600 * 1024)));
    answers.push(await postMyasp(base, 'user_id=u1&status=1', { token: 'wrong' }));
    expect(answers.map((a) => a.status)).toEqual([
      200, 200, 404, 401, 200, 400, 200, 400, 415, 413, 401,
    ]);
    for (const a of answers) expect(securityHeadersOf(a.headers)).toEqual(EXPECTED_HEADERS);
  });

  it('when the HTTP parser refuses a request (headers too large), then its answer carries them too', async () => {
    const port = Number(new URL(svc.baseUrl).port);
    const raw = await rawRequest(
      port,
      `POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    for (const [name, value] of Object.entries(EXPECTED_HEADERS))
      expect(raw.toLowerCase()).toContain(`\r\n${name}: ${value.toLowerCase()}\r\n`);
  });
});

describe('rate limits', () => {
  const ADMIN_LIMIT = 20;
  const FAILURE_LIMIT = 10;
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({
      env: {
        ADMIN_RATE_LIMIT_PER_MINUTE: String(ADMIN_LIMIT),
        AUTH_FAILURE_LIMIT_PER_MINUTE: String(FAILURE_LIMIT),
      },
    });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when a client floods the webhooks and the admin API with bad signatures and tokens, then it is answered 429 after the limit, recorded, and validly signed deliveries in between are all stored', async () => {
    const flood = [];
    const valid = [];
    for (let i = 0; i < FAILURE_LIMIT * 3; i++) {
      flood.push(await postStripe(svc.baseUrl, subscriptionEvent(), { secret: 'whsec_wrong' }));
      flood.push(await postMyasp(svc.baseUrl, 'user_id=u1&status=1', { token: 'wrong-token' }));
      valid.push(await postStripe(svc.baseUrl, subscriptionEvent()));
    }
    const admin = await json(
      fetch(`${svc.baseUrl}/v1/accounts`, { headers: { authorization: 'Bearer nope' } }),
    );
    expect(flood.slice(0, FAILURE_LIMIT).map((a) => a.status)).not.toContain(429);
    const limited = flood.filter((a) => a.status === 429);
    expect(limited.length).toBe(flood.length - FAILURE_LIMIT);
    for (const a of limited) {
      expect(a.body).toMatchObject({ error: { code: 'too_many_failed_authentications' } });
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(admin).toMatchObject({
      status: 429,
      body: { error: { code: 'too_many_failed_authentications' } },
    });
    // The provider's own deliveries from the same address are never limited.
    expect(valid.map((a) => a.status)).toEqual(valid.map(() => 200));
    const stored = await svc.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM billing_events WHERE id = ANY($1::bigint[])`,
      [valid.map((a) => String(a.body.event_id))],
    );
    expect(stored.rows[0]?.n).toBe(valid.length);
    // Every answer of 429 is recorded like any other refusal (SPEC §9).
    await waitFor(
      async () => {
        const r = await svc.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_rejections
            WHERE http_status = 429 AND reason = 'too_many_failed_authentications'`,
        );
        return r.rows[0]?.n === limited.length;
      },
      { what: `${limited.length} answers of 429 in webhook_rejections` },
    );
  });

  it(`when one client sends more than ${ADMIN_LIMIT} admin requests a minute, then the rest are answered 429 with Retry-After`, async () => {
    // The flood above spent one admin request of this minute's budget.
    const answers = [await json(svc.admin('/v1/accounts'))];
    for (let i = 1; i < ADMIN_LIMIT + 5; i++) answers.push(await json(svc.admin('/v1/accounts')));
    expect(answers.slice(0, ADMIN_LIMIT - 1).every((a) => a.status === 200)).toBe(true);
    const limited = answers.slice(ADMIN_LIMIT - 1);
    for (const a of limited) {
      expect(a).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });
});
