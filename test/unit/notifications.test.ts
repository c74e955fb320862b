// The pure parts of notifications (SPEC §10): what a change is, the retry schedule, where a
// message may go, and the Standard Webhooks signature the receiving library accepts.
import { Webhook } from 'standardwebhooks';

import { ConfigError, loadConfig } from '../../src/config';
import {
  changesOfFold,
  notificationBody,
  sameVisible,
  visibleState,
} from '../../src/domain/changes';
import { foldEvents } from '../../src/domain/fold';
import { endpointUrlProblem, isPrivateAddress } from '../../src/notify/address-policy';
import { signedHeaders } from '../../src/notify/dispatch';
import {
  afterAttempt,
  MAX_ATTEMPTS,
  parseRetryAfter,
  RETRY_PAUSES_MS,
} from '../../src/notify/retry-schedule';
import { postJson } from '../../src/notify/send';
import * as fx from '../fixtures/stripe';
import { AccountSim } from '../helpers/account-sim';

const T0 = fx.DEFAULT_CREATED;
const ids = { subscriptionId: 'sub_n', customerId: 'cus_n', accountId: 'acct_sim' };

describe('changes', () => {
  it('when a batch has applied, stale and repeated events, then only the applied ones that move the visible state make a change', () => {
    const sim = new AccountSim();
    const events = [
      sim.stripe(fx.subscriptionCreated({ ...ids, created: T0 })),
      sim.stripe(fx.invoicePaymentFailed({ ...ids, invoiceId: 'in_1', created: T0 + 10 })),
      // The same invoice's older attempt: stale.
      sim.stripe(fx.invoicePaymentFailed({ ...ids, invoiceId: 'in_1', created: T0 + 5 })),
      sim.stripe(fx.invoicePaid({ ...ids, invoiceId: 'in_1', created: T0 + 20 })),
      // The next invoice paid: applied, and nothing a host app sees moves.
      sim.stripe(fx.invoicePaid({ ...ids, invoiceId: 'in_2', created: T0 + 30 })),
    ];
    const fold = foldEvents(null, events);
    expect(fold.steps.map((s) => s.decision.outcome)).toEqual([
      'applied',
      'applied',
      'stale',
      'applied',
      'applied',
    ]);
    const changes = changesOfFold(null, fold.steps);
    expect(changes.map((c) => [c.previous?.status ?? null, c.current.status, c.type])).toEqual([
      [null, 'active', 'billing.status_changed'],
      ['active', 'past_due', 'billing.status_changed'],
      ['past_due', 'active', 'billing.status_changed'],
    ]);
    expect(changes[1]?.cause).toEqual({
      event_id: events[1]?.event_id,
      source: 'stripe',
      event_type: events[1]?.event_type,
      occurred_at: events[1]?.occurred_at,
    });
    expect(changes[1]?.reason).toBe('payment_failed');
  });

  it('when a cancel is scheduled, then the status change is billing.status_changed; a later move of the cancel date is billing.account_updated', () => {
    const sim = new AccountSim();
    const created = sim.stripe(fx.subscriptionCreated({ ...ids, created: T0 }));
    const cancel1 = sim.stripe(
      fx.subscriptionUpdated({ ...ids, created: T0 + 10, cancelAt: T0 + 30 * 86_400 }),
    );
    const cancel2 = sim.stripe(
      fx.subscriptionUpdated({ ...ids, created: T0 + 20, cancelAt: T0 + 40 * 86_400 }),
    );
    const fold = foldEvents(null, [created, cancel1, cancel2]);
    const changes = changesOfFold(null, fold.steps);
    expect(changes.map((c) => [c.type, c.current.status])).toEqual([
      ['billing.status_changed', 'active'],
      ['billing.status_changed', 'canceling'],
      ['billing.account_updated', 'canceling'],
    ]);
    expect(changes[2]?.previous?.scheduled_cancel_at).not.toBe(
      changes[2]?.current.scheduled_cancel_at,
    );
  });

  it('when the same instant is written two ways, then it is no change', () => {
    const a = {
      status: 'active' as const,
      scheduled_cancel_at: '2026-01-01T00:00:00Z',
      grace_until: null,
      trial_end: null,
      status_object: 'stripe:sub_1',
    };
    expect(sameVisible(a, { ...a, scheduled_cancel_at: '2026-01-01T00:00:00.000Z' })).toBe(true);
    expect(sameVisible(a, { ...a, status_object: 'stripe:sub_2' })).toBe(false);
    expect(visibleState(null)).toBeNull();
  });

  it('when a change is sent, then the body is {type, timestamp, data} with the fields SPEC §10 names', () => {
    const body = notificationBody({
      account_id: 'acct_1',
      seq: '7',
      change_id: 'chg_0123456789abcdef0123456789abcdef',
      type: 'billing.status_changed',
      previous: null,
      current: {
        status: 'free',
        scheduled_cancel_at: null,
        grace_until: null,
        trial_end: null,
        status_object: 'trial',
      },
      reason: 'account_registered',
      cause: null,
      created_at: '2026-12-07T00:00:00.000Z',
    });
    expect(Object.keys(body)).toEqual(['type', 'timestamp', 'data']);
    expect(Object.keys(body.data).sort()).toEqual(
      ['account_id', 'cause', 'change_id', 'current', 'previous', 'reason', 'seq'].sort(),
    );
    expect(body.data.seq).toBe(7);
  });
});

describe('retry schedule', () => {
  const now = new Date('2026-12-07T00:00:00Z');

  it('when attempts keep failing, then the pauses grow and the last attempt comes about three days after the first', () => {
    const total = RETRY_PAUSES_MS.reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeGreaterThan(60);
    expect(total / 3_600_000).toBeLessThan(80);
    for (let i = 1; i < RETRY_PAUSES_MS.length; i++)
      expect(RETRY_PAUSES_MS[i]).toBeGreaterThanOrEqual(RETRY_PAUSES_MS[i - 1] ?? 0);
    expect(afterAttempt({ status: 500, retryAfterMs: null }, 0, now)).toEqual({
      kind: 'retry',
      at: new Date(now.getTime() + 5000),
    });
    expect(afterAttempt({ status: null, retryAfterMs: null }, MAX_ATTEMPTS - 1, now)).toEqual({
      kind: 'failed',
    });
  });

  it('when the receiver answers 2xx, 3xx, 410 or Retry-After, then delivered, retried (not followed), endpoint disabled, or not sooner than asked', () => {
    expect(afterAttempt({ status: 204, retryAfterMs: null }, 3, now)).toEqual({
      kind: 'delivered',
    });
    expect(afterAttempt({ status: 302, retryAfterMs: null }, 0, now).kind).toBe('retry');
    expect(afterAttempt({ status: 410, retryAfterMs: null }, 0, now)).toEqual({
      kind: 'disable_endpoint',
    });
    expect(afterAttempt({ status: 503, retryAfterMs: 7_200_000 }, 0, now)).toEqual({
      kind: 'retry',
      at: new Date(now.getTime() + 7_200_000),
    });
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(new Date(now.getTime() + 60_000).toUTCString(), now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});

describe('where messages may go', () => {
  it('when an address is loopback, private or link-local, then it is private; a public one is not', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ])
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    for (const a of ['93.184.216.34', '2606:4700::1111'])
      expect([a, isPrivateAddress(a)]).toEqual([a, false]);
  });

  it('when an endpoint URL is not http(s) or points at a private host, then it is refused unless private addresses are allowed', () => {
    expect(endpointUrlProblem('ftp://example.com', false)).toMatch(/http/);
    expect(endpointUrlProblem('http://127.0.0.1:9/x', false)).toMatch(/NOTIFY_ALLOW_PRIVATE/);
    expect(endpointUrlProblem('http://localhost:9/x', false)).toMatch(/NOTIFY_ALLOW_PRIVATE/);
    expect(endpointUrlProblem('http://127.0.0.1:9/x', true)).toBeNull();
    expect(endpointUrlProblem('https://hooks.example.com/billing', false)).toBeNull();
  });

  it('when a name resolves to a loopback address at send time, then nothing is sent unless allowed', async () => {
    const refused = await postJson(
      'http://localhost:9/x',
      '{}',
      {},
      { allowPrivate: false, timeoutMs: 2000 },
    );
    expect(refused).toMatchObject({
      status: null,
      error: expect.stringContaining('NOTIFY_ALLOW_PRIVATE') as unknown,
    });
  });
});

describe('signing', () => {
  it('when a message is signed, then the standardwebhooks library verifies it with the whsec_ secret, and not with another', () => {
    const secret = 'whsec_bm90aWZ5LXNlY3JldC1vZi10aGUtdGVzdHMtMDEyMw==';
    const body = JSON.stringify({ type: 'billing.status_changed', timestamp: 'x', data: {} });
    const headers = signedHeaders(secret, 'chg_1', body, new Date());
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() =>
      new Webhook('whsec_b3RoZXItc2VjcmV0LW9mLXRoZS10ZXN0cw==').verify(body, headers),
    ).toThrow();
  });
});

describe('NOTIFY_* settings', () => {
  const base = {
    ADMIN_TOKEN: 'admin-token-for-the-notify-test',
    MYASP_TOKEN: 'myasp-token-for-the-notify-test',
    DATABASE_URL: 'postgres://db.example/billing',
    TEMPORAL_ADDRESS: 'temporal.example:7233',
  };
  const secret = 'whsec_bm90aWZ5LXNlY3JldC1vZi10aGUtdGVzdHMtMDEyMw==';
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return null;
    } catch (err) {
      return err instanceof ConfigError ? err.message : String(err);
    }
  };

  it('when NOTIFY_URL comes without a whsec_ secret, or is not http(s), then start-up stops with one sentence', () => {
    expect(problem({ ...base, NOTIFY_URL: 'https://host.example/n' })).toMatch(
      /^NOTIFY_URL is set but NOTIFY_SECRET is not/,
    );
    expect(
      problem({ ...base, NOTIFY_URL: 'https://host.example/n', NOTIFY_SECRET: 'hunter2' }),
    ).toMatch(/^NOTIFY_SECRET must be a Standard Webhooks secret/);
    expect(problem({ ...base, NOTIFY_URL: 'ftp://host.example/n', NOTIFY_SECRET: secret })).toMatch(
      /^NOTIFY_URL must be an http/,
    );
    expect(
      problem({ ...base, NOTIFY_URL: 'https://host.example/n', NOTIFY_SECRET: secret }),
    ).toBeNull();
  });

  it('when the service runs with servers of its own, then private addresses are refused unless NOTIFY_ALLOW_PRIVATE=true; locally they are allowed', () => {
    expect(loadConfig(base).notify).toEqual({ endpoint: null, allowPrivate: false });
    expect(loadConfig({ ...base, NOTIFY_ALLOW_PRIVATE: 'true' }).notify.allowPrivate).toBe(true);
    const local = { ADMIN_TOKEN: base.ADMIN_TOKEN, MYASP_TOKEN: base.MYASP_TOKEN };
    expect(loadConfig(local).notify.allowPrivate).toBe(true);
  });
});
