// What the HTTP answers say (README "HTTP API"): a webhook answer's `delivery` and `outcome`,
// duplicates answered from the stored outcome, and GET /v1/accounts with filters and keyset
// paging. Real PostgreSQL, real Temporal dev server, real HTTP.
import * as fx from '../fixtures/stripe';
import { japanTime, myaspForm, outcomeOf, register, type Row } from '../helpers/accounts';
import { held, watchDelivery } from '../helpers/delivery-events';
import { type Answer, json, postMyasp, postStripe } from '../helpers/http';
import { nowS, uid } from '../helpers/ids';
import { startService, type TestService } from '../helpers/service';

describe('Webhook answers say what happened', () => {
  let svc: TestService;
  beforeAll(async () => {
    // Answers wait (at most 1.5 s) for Temporal to accept the account's wake-up.
    svc = await startService({ env: { DELIVERY_WAIT_MS: '1500' } });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when a Stripe event is new, then delivery says the workflow accepted it; a duplicate after it is applied answers outcome applied, not queued', async () => {
    const event = fx.subscriptionCreated({
      accountId: uid('acct_answer'),
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
      created: nowS(),
    });
    const first = await postStripe(svc.baseUrl, event);
    expect(first).toMatchObject({
      status: 200,
      body: { received: true, duplicate: false, delivery: 'accepted_by_workflow' },
    });
    expect(await outcomeOf(svc, first.body.event_id)).toBe('applied');
    const again = await postStripe(svc.baseUrl, event);
    expect(again).toMatchObject({
      status: 200,
      body: {
        received: true,
        duplicate: true,
        event_id: first.body.event_id,
        outcome: 'applied',
        delivery: 'processed',
      },
    });
  });

  it('when a MyASP post is repeated after it is applied, then the duplicate answers outcome applied', async () => {
    const body = myaspForm({ user_id: uid('u', '-'), status: 1, ts: japanTime(new Date()) });
    const first = await postMyasp(svc.baseUrl, body);
    expect(first).toMatchObject({ status: 200, body: { duplicate: false } });
    expect(['accepted_by_workflow', 'queued']).toContain(first.body.delivery);
    expect(await outcomeOf(svc, first.body.event_id)).toBe('applied');
    const again = await postMyasp(svc.baseUrl, body);
    expect(again).toMatchObject({
      status: 200,
      body: { duplicate: true, outcome: 'applied', delivery: 'processed' },
    });
  });
});

describe('Webhook answers that do not wait (DELIVERY_WAIT_MS=0, the default)', () => {
  let api: TestService;
  beforeAll(async () => {
    // An API without a worker: an accepted wake-up stays held, nothing is applied.
    api = await startService({ role: 'api', deliveryHoldMs: 120_000 });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('when Temporal is up, then the first event of an account says sending and the next ones, behind its wake-up in flight, waiting_turn — never queued', async () => {
    const watch = watchDelivery(api);
    const parts = {
      accountId: uid('acct_turn'),
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
    };
    const post = async (created: number) =>
      (await postStripe(api.baseUrl, fx.invoicePaid({ ...parts, created }))).body.delivery;
    expect(await post(nowS())).toBe('sending');
    await watch.find(held(parts.accountId), 'the wake-up accepted and held');
    expect([await post(nowS() + 1), await post(nowS() + 2)]).toEqual([
      'waiting_turn',
      'waiting_turn',
    ]);
  });
});

describe('GET /v1/accounts', () => {
  let svc: TestService;
  const registered: string[] = [];
  let myaspAccount = '';
  let before = '';

  const list = (query: string) => json(svc.admin(`/v1/accounts${query}`));
  const ids = (r: Answer) => (r.body.accounts as Row[]).map((a) => a.account_id as string);

  beforeAll(async () => {
    svc = await startService();
    before = new Date(Date.now() - 60_000).toISOString();
    for (let i = 0; i < 5; i++) {
      const id = uid(`acct_list${i}`);
      const r = await register(svc, { account_id: id, trial_days: 14 });
      expect(r.status).toBe(201);
      registered.push(id);
    }
    const user = uid('u', '-');
    const m = await postMyasp(
      svc.baseUrl,
      myaspForm({ user_id: user, status: 1, ts: japanTime(new Date()) }),
    );
    myaspAccount = m.body.account_id as string;
    await outcomeOf(svc, m.body.event_id);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('when paged with limit=2, then every account comes exactly once and the last page has no next_cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const r: Answer = await list(
        `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(r.status).toBe(200);
      expect((r.body.accounts as Row[]).length).toBeLessThanOrEqual(2);
      seen.push(...ids(r));
      cursor = r.body.next_cursor as string | null;
      if (cursor === null) break;
      expect(typeof cursor).toBe('string');
    }
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...registered, myaspAccount].sort());
  });

  it('when filtered by status, provider and updated_since, then only matching accounts come back', async () => {
    const free = await list('?status=free');
    expect(free.status).toBe(200);
    expect((free.body.accounts as Row[]).every((a) => a.status === 'free')).toBe(true);
    expect(ids(free)).toEqual(expect.arrayContaining(registered));

    const myasp = await list('?provider=myasp');
    expect(ids(myasp)).toEqual([myaspAccount]);
    expect((myasp.body.accounts as Row[])[0]).toMatchObject({
      provider: 'myasp',
      status: 'active',
    });

    const recent = await list(`?updated_since=${encodeURIComponent(before)}&provider=none`);
    expect([...ids(recent)].sort()).toEqual([...registered].sort());
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(ids(await list(`?updated_since=${encodeURIComponent(future)}`))).toEqual([]);
    expect((await list('?limit=1')).body).toMatchObject({
      next_cursor: expect.any(String) as unknown,
    });
  });

  it.each([
    ['status=bogus', 'status'],
    ['provider=paypal', 'provider'],
    ['updated_since=yesterday', 'updated_since'],
    ['limit=-1', 'limit'],
    ['limit=0', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=501', 'limit'],
    ['limit=99999999999999999999999', 'limit'],
    ['limit=abc', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
  ])('when the query is %s, then 400 with a JSON error naming %s', async (query, field) => {
    const r = await list(`?${query}`);
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['error']);
    const error = r.body.error as { code: string; message: string };
    expect(error.code).toMatch(/^invalid_/);
    expect(error.message).toContain(field);
  });

  it('when the admin token is missing, then 401', async () => {
    const r = await json(fetch(`${svc.baseUrl}/v1/accounts`));
    expect(r.status).toBe(401);
  });
});
