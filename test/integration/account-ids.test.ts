// One account-id rule on every path (src/domain/account-id.ts): an id that could never become the
// workflow id `billing-account:<id>` (too long, control characters) is answered 400
// `invalid_account_id`, recorded in webhook_rejections when it came by webhook, and never stored.
// Ids that were valid before the rule stay valid. Real service over HTTP, signed Stripe payloads.
import * as fx from '../fixtures/stripe';
import { type Answer, json, postMyasp, postStripe } from '../helpers/http';
import { uid } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

async function storedEvents(dedupeKey: string): Promise<number> {
  const r = await svc.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM billing_events WHERE dedupe_key = $1::text',
    [dedupeKey],
  );
  return r.rows[0]?.n ?? -1;
}

async function eventsOfAccountsLongerThan(chars: number): Promise<number> {
  const r = await svc.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM billing_events WHERE length(account_id) > $1::int',
    [chars],
  );
  return r.rows[0]?.n ?? -1;
}

async function lastRejection(source: string) {
  const r = await svc.db.pool.query<{ http_status: number; reason: string; message: string }>(
    `SELECT http_status, reason, message FROM webhook_rejections
      WHERE source = $1::text ORDER BY id DESC LIMIT 1`,
    [source],
  );
  return r.rows[0];
}

function expectRefused(answer: Answer, from: string): void {
  expect(answer.status).toBe(400);
  const error = answer.body.error as { code: string; message: string };
  expect(error.code).toBe('invalid_account_id');
  expect(error.message).toContain(from);
  // The id is never echoed back.
  expect(error.message).not.toMatch(/x{20}/);
}

const subscription = (o: fx.SubscriptionOptions = {}) =>
  fx.subscriptionCreated({
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
    created: Math.floor(Date.now() / 1000),
    ...o,
  });

describe('Stripe: an account id that breaks the rule is refused, recorded, and not stored', () => {
  const cases: { name: string; event: () => fx.StripeEventJson; from: string }[] = [
    {
      name: 'metadata.account_id is 1,000 characters',
      event: () => subscription({ accountId: 'x'.repeat(1000) }),
      from: 'metadata.account_id',
    },
    {
      name: 'metadata.account_id holds a line break',
      event: () => subscription({ accountId: `acct_${uid('nl')}\nother` }),
      from: 'metadata.account_id',
    },
    {
      name: 'client_reference_id of a checkout session is 201 characters',
      event: () =>
        fx.checkoutSessionCompleted({
          customerId: fx.stripeId('cus'),
          clientReferenceId: 'x'.repeat(201),
          created: Math.floor(Date.now() / 1000),
        }),
      from: 'client_reference_id',
    },
    {
      name: 'no account id and a 1,000-character customer id (stripe:<customer>)',
      event: () => subscription({ customerId: `cus_${'x'.repeat(996)}` }),
      from: 'stripe:<customer>',
    },
  ];

  it.each(cases)('when $name, then 400 invalid_account_id', async ({ event, from }) => {
    const e = event();
    const answer = await postStripe(svc.baseUrl, e);
    expectRefused(answer, from);
    expect(await lastRejection('stripe')).toMatchObject({
      http_status: 400,
      reason: 'invalid_account_id',
    });
    expect(await storedEvents(e.id)).toBe(0);
  });

  it('when metadata.account_id is 200 Japanese characters, then it is still accepted and applied', async () => {
    const accountId = 'あ'.repeat(193) + uid('', '_');
    const e = subscription({ accountId });
    const answer = await postStripe(svc.baseUrl, e);
    expect(answer).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    const view = await waitFor(
      async () => {
        const r = await json(svc.admin(`/v1/accounts/${encodeURIComponent(accountId)}`));
        return r.status === 200 && r.body.pending_events_folded === 0 ? r.body : undefined;
      },
      { what: 'the 200-character account applied' },
    );
    expect(view).toMatchObject({ account_id: accountId, status: 'active' });
  });
});

describe('MyASP: the user id that names the account is bounded too', () => {
  it('when user_id is longer than an account id may be, then 400, recorded, and not stored', async () => {
    const before = await eventsOfAccountsLongerThan(200);
    const answer = await postMyasp(
      svc.baseUrl,
      new URLSearchParams({ user_id: 'u'.repeat(1000), status: '1' }).toString(),
    );
    expect(answer.status).toBe(400);
    expect((answer.body.error as { code: string }).code).toBe('invalid_user_id');
    expect(await lastRejection('myasp')).toMatchObject({ http_status: 400 });
    expect(await eventsOfAccountsLongerThan(200)).toBe(before);
  });
});

describe('Admin API and corrections: the same rule', () => {
  const register = (accountId: string) =>
    json(
      svc.admin('/v1/accounts', {
        method: 'POST',
        body: JSON.stringify({ account_id: accountId, trial_days: 14 }),
      }),
    );

  it('when an account id of 201 characters is registered, then 400 invalid_account_id', async () => {
    const answer = await register('x'.repeat(201));
    expectRefused(answer, 'account_id');
  });

  it('when an account id holds a control character, then 400 invalid_account_id and nothing is stored', async () => {
    const accountId = `acct_${uid('ctl')}\u0001`;
    const answer = await register(accountId);
    expectRefused(answer, 'account_id');
    expect(await storedEvents(`api:account.registered:${accountId}`)).toBe(0);
  });

  it('when an account id of exactly 200 characters is registered, then it is created as before', async () => {
    const accountId = uid('acct').padEnd(200, 'z');
    const answer = await register(accountId);
    expect(answer).toMatchObject({ status: 201, body: { account_id: accountId } });
  });

  it('when a correction names a 1,000-character account, then 400 invalid_account_id and nothing is stored', async () => {
    const before = await eventsOfAccountsLongerThan(200);
    const answer = await json(
      svc.admin(`/v1/accounts/${'x'.repeat(1000)}/corrections`, {
        method: 'POST',
        body: JSON.stringify({ status: 'active', reason: 'support ticket' }),
      }),
    );
    expectRefused(answer, 'account');
    expect(await eventsOfAccountsLongerThan(200)).toBe(before);
  });
});
