// A Stripe thin destination (SPEC §3 rule 11) over HTTP against the running service: thin
// notifications signed like any webhook, verified by stripe-node's parseEventNotification, the full
// event and the related object fetched from a stateful stand-in of Stripe's API (STRIPE_API_URL),
// real PostgreSQL and the real Temporal dev server. The same table of SPEC §3 that
// stripe-lifecycle.test.ts drives with snapshot payloads, driven here with thin ones.
import { rebuildProjection } from '../../src/ops/rebuild';
import * as fx from '../fixtures/stripe';
import {
  mockEntitlementSummary,
  mockEvent,
  mockSubscriptionSchedule,
} from '../fixtures/stripe-mock';
import { getAccount, outcomeOf, register, statusBecomes } from '../helpers/accounts';
import { json, postStripe } from '../helpers/http';
import { nowS } from '../helpers/ids';
import { SECRETS } from '../helpers/secrets';
import { startService, type TestService } from '../helpers/service';
import { startStripeMock, type StripeMock } from '../helpers/stripe-mock-process';
import { StripeStandin } from '../helpers/stripe-standin';
import { serveThin, type ThinDelivery, thinOf } from '../helpers/stripe-thin';
import { waitFor } from '../helpers/wait';

/** A key stripe-mock takes as "valid looking" (letters and digits after `sk_test_`). */
const API_KEY = 'sk_test_thinEvents0123456789';

let svc: TestService;
let stripe: StripeStandin;
let mock: StripeMock;

// stripe-mock (Stripe's contract, stateless, no v2 API) serves every v1 object the stand-in holds
// nothing for; the stand-in serves the full v2 events and the objects a test puts in (objects
// that change between the event and the fetch, 503s, 429s, objects that are gone).
beforeAll(async () => {
  mock = await startStripeMock();
  stripe = new StripeStandin(API_KEY, mock.url);
  const url = await stripe.start();
  svc = await startService({ env: { STRIPE_API_KEY: API_KEY, STRIPE_API_URL: url } });
});
afterAll(async () => {
  await svc?.stop();
  await stripe?.stop();
  await mock?.stop();
});

/** The event that carries a thin event's change, once the fetcher has stored it. */
async function carrierOf(thinEventId: unknown): Promise<{ id: string; dedupe_key: string }> {
  return waitFor(
    async () => {
      const r = await svc.db.pool.query<{ details: Record<string, string>; outcome: string }>(
        `SELECT a.details, e.outcome FROM audit_logs a JOIN billing_events e ON e.id = a.event_id
          WHERE a.event_id = $1::bigint`,
        [thinEventId],
      );
      const d = r.rows[0]?.details;
      return d ? { id: d.carried_by_event_id ?? '', dedupe_key: d.carried_by ?? '' } : undefined;
    },
    { what: `thin event ${String(thinEventId)} to be fetched` },
  );
}

/** Serves what Stripe holds for the change, posts its thin notification, and waits for the fetch. */
async function sendThin(
  snapshot: fx.StripeEventJson,
  atFetch?: Record<string, unknown>,
): Promise<{ thin: ThinDelivery; eventId: string; carrier: { id: string; dedupe_key: string } }> {
  const thin = thinOf(snapshot);
  serveThin(stripe, thin, atFetch);
  const r = await postStripe(svc.baseUrl, thin.body);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ received: true, duplicate: false });
  const eventId = String(r.body.event_id);
  return { thin, eventId, carrier: await carrierOf(eventId) };
}

describe('a thin destination drives the table of SPEC §3', () => {
  const acct = `acct_thin_${Date.now()}`;
  const customerId = fx.stripeId('cus');
  const subscriptionId = fx.stripeId('sub');
  const base = { shape: 'basil' as const, customerId, subscriptionId, accountId: acct };

  it('when an account is registered with a trial, then it is free', async () => {
    const trialEnd = new Date(Date.now() + 14 * 86_400_000).toISOString();
    expect((await register(svc, { account_id: acct, trial_end: trialEnd })).status).toBe(201);
    await statusBecomes(svc, acct, 'free');
  });

  it('when a thin checkout.session.completed is fetched, then early_payment with the links, and the thin event is a duplicate of the fetched one', async () => {
    const snapshot = fx.checkoutSessionCompleted({
      ...base,
      accountId: undefined,
      clientReferenceId: acct,
      created: nowS(),
    });
    const { eventId, carrier } = await sendThin(snapshot);
    expect(carrier.dedupe_key).toBe(`stripe:${snapshot.id}`);
    const a = await statusBecomes(svc, acct, 'early_payment');
    expect(a).toMatchObject({
      stripe_customer_id: customerId,
      stripe_subscription_id: subscriptionId,
    });
    expect(await outcomeOf(svc, eventId)).toBe('duplicate');
    expect(await outcomeOf(svc, carrier.id)).toBe('applied');
    expect(stripe.requests.filter((q) => q.path.startsWith('/v2/core/events/'))).not.toHaveLength(
      0,
    );
    expect(stripe.requests.every((q) => q.authorized)).toBe(true);
  });

  it('when a thin payment failure and then a thin payment are fetched, then past_due and back to early_payment', async () => {
    await sendThin(fx.invoicePaymentFailed({ ...base, created: nowS() }));
    await statusBecomes(svc, acct, 'past_due');
    await sendThin(fx.invoicePaid({ ...base, created: nowS() }));
    await statusBecomes(svc, acct, 'early_payment');
  });

  it('when a thin cancel at period end is fetched, then canceling with scheduled_cancel_at; a thin withdrawal restores it', async () => {
    const periodEnd = nowS() + 30 * 86_400;
    await sendThin(
      fx.subscriptionUpdated({
        ...base,
        created: nowS(),
        cancelAtPeriodEnd: true,
        currentPeriodEnd: periodEnd,
      }),
    );
    const canceling = await statusBecomes(svc, acct, 'canceling');
    expect(canceling.scheduled_cancel_at).toBe(new Date(periodEnd * 1000).toISOString());
    await sendThin(fx.subscriptionUpdated({ ...base, created: nowS() }));
    expect((await statusBecomes(svc, acct, 'early_payment')).scheduled_cancel_at).toBeNull();
  });

  it('when a thin pause the customer asked for is fetched, then stopped; a thin resume makes it early_payment again', async () => {
    await sendThin(
      fx.subscriptionPaused({ ...base, created: nowS(), pausedReason: 'pause_requested' }),
    );
    await statusBecomes(svc, acct, 'stopped');
    await sendThin(fx.subscriptionResumed({ ...base, created: nowS() }));
    await statusBecomes(svc, acct, 'early_payment');
  });

  it('when a thin past_due snapshot is fetched, then past_due', async () => {
    await sendThin(fx.subscriptionUpdated({ ...base, created: nowS(), status: 'past_due' }));
    await statusBecomes(svc, acct, 'past_due');
    await sendThin(fx.subscriptionUpdated({ ...base, created: nowS(), status: 'active' }));
    await statusBecomes(svc, acct, 'early_payment');
  });

  it('when the subscription changed again between the thin event and its fetch, then the account follows the object as fetched', async () => {
    const scheduled = fx.subscriptionUpdated({
      ...base,
      created: nowS(),
      cancelAtPeriodEnd: true,
      currentPeriodEnd: nowS() + 30 * 86_400,
    });
    // Stripe now holds the subscription with the cancel withdrawn again.
    const withdrawn = fx.subscriptionObject({ ...base, created: nowS() });
    const { carrier } = await sendThin(scheduled, withdrawn);
    expect(await outcomeOf(svc, carrier.id)).toBe('applied');
    const a = await getAccount(svc, acct);
    expect(a).toMatchObject({ status: 'early_payment', scheduled_cancel_at: null });
  });

  it('when a thin subscription deletion is fetched, then canceled and the gate denies confirm but not propose', async () => {
    await sendThin(fx.subscriptionDeleted({ ...base, created: nowS() }));
    await statusBecomes(svc, acct, 'canceled');
    const confirm = await json(svc.admin(`/v1/gate/${acct}/confirm`));
    expect(confirm.body).toMatchObject({ allowed: false, status: 'canceled' });
    expect((await json(svc.admin(`/v1/gate/${acct}/propose`))).body).toMatchObject({
      allowed: true,
    });
  });

  it('when a thin event of a type we do not interpret is fetched, then stored, its carrier ignored, the state unchanged', async () => {
    const { eventId, carrier } = await sendThin(
      fx.customerUpdated({ customerId, created: nowS() }),
    );
    expect(await outcomeOf(svc, eventId)).toBe('duplicate');
    expect(await outcomeOf(svc, carrier.id)).toBe('ignored');
    expect((await getAccount(svc, acct))?.status).toBe('canceled');
  });

  it('then a rebuild reproduces the projection without asking Stripe, and every event has exactly one audit row', async () => {
    const requestsBefore = stripe.requests.length;
    const events = await json(svc.admin(`/v1/accounts/${acct}/events`));
    const list = events.body.events as { id: string }[];
    const audit = events.body.audit as { event_id: string }[];
    expect(new Set(audit.map((a) => a.event_id))).toEqual(new Set(list.map((e) => e.id)));
    const mismatch = await svc.db.pool.query(
      `SELECT a.account_id FROM billing_accounts a JOIN billing_events e ON e.id = a.last_event_id
        WHERE e.account_id <> a.account_id OR e.outcome <> 'applied'`,
    );
    expect(mismatch.rows).toEqual([]);
    const rebuilt = await rebuildProjection(svc.db.pool, { apply: false });
    expect(rebuilt).toMatchObject({ ok: true, differing: [], outcome_mismatches: [] });
    // The rebuild folded what is stored: Stripe's API was not asked again.
    expect(stripe.requests.length).toBe(requestsBefore);
  });
});

describe('subscription schedules and entitlement summaries are shown on the account', () => {
  it('when a thin subscription_schedule.created and an entitlement summary arrive, then GET /v1/accounts/:id and /ops show the pending plan change and the features, and the status stays', async () => {
    const acct = `acct_sched_${Date.now()}`;
    const ids = {
      shape: 'basil' as const,
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
      accountId: acct,
    };
    const created = nowS();
    await postStripe(svc.baseUrl, fx.subscriptionCreated({ ...ids, created }));
    await statusBecomes(svc, acct, 'active');
    const switchAt = created + 30 * 86_400;
    const schedule = mockSubscriptionSchedule({
      ...ids,
      currentPrice: 'price_monthly',
      nextPrice: 'price_yearly',
      startedAt: created,
      switchAt,
    });
    const { carrier } = await sendThin(
      mockEvent('subscription_schedule.created', schedule, nowS(), 'basil'),
    );
    expect(await outcomeOf(svc, carrier.id)).toBe('applied');
    const summary = mockEntitlementSummary(ids.customerId, ['api_access', 'export']);
    const r = await postStripe(
      svc.baseUrl,
      mockEvent('entitlements.active_entitlement_summary.updated', summary, nowS(), 'basil'),
    );
    expect(r.body).toMatchObject({ account_id: acct });
    expect(await outcomeOf(svc, r.body.event_id)).toBe('applied');
    const a = await statusBecomes(svc, acct, 'active');
    expect(a).toMatchObject({
      pending_plan_change: {
        schedule_id: schedule.id,
        subscription_id: ids.subscriptionId,
        plan: 'price_yearly',
        at: new Date(switchAt * 1000).toISOString(),
      },
      active_features: ['api_access', 'export'],
    });
    const page = await svc.admin(`/ops/accounts/${acct}`);
    const html = await page.text();
    expect(html).toContain('price_yearly');
    expect(html).toContain('api_access, export');
  });
});

describe('a thin and a snapshot delivery of one change apply once, whichever comes first', () => {
  const ids = () => ({
    shape: 'basil' as const,
    customerId: fx.stripeId('cus'),
    subscriptionId: fx.stripeId('sub'),
  });

  it('when the snapshot delivery is stored first, then the thin one is a duplicate of it and nothing applies twice', async () => {
    const acct = `acct_snap_first_${Date.now()}`;
    const snapshot = fx.subscriptionCreated({ ...ids(), accountId: acct, created: nowS() });
    const first = await postStripe(svc.baseUrl, snapshot);
    expect(await outcomeOf(svc, first.body.event_id)).toBe('applied');
    const { eventId, carrier } = await sendThin(snapshot);
    expect(carrier.id).toBe(String(first.body.event_id));
    expect(await outcomeOf(svc, eventId)).toBe('duplicate');
    const applied = await svc.db.pool.query(
      `SELECT count(*)::int AS n FROM billing_events WHERE account_id = $1 AND outcome = 'applied'`,
      [acct],
    );
    expect(applied.rows[0]).toEqual({ n: 1 });
  });

  it('when the thin delivery is fetched first, then the snapshot delivery is answered as a duplicate', async () => {
    const acct = `acct_thin_first_${Date.now()}`;
    const snapshot = fx.subscriptionCreated({ ...ids(), accountId: acct, created: nowS() });
    const { carrier } = await sendThin(snapshot);
    expect(await outcomeOf(svc, carrier.id)).toBe('applied');
    await statusBecomes(svc, acct, 'active');
    const second = await postStripe(svc.baseUrl, snapshot);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ duplicate: true, event_id: carrier.id });
  });
});

describe('thin events and Stripe being slow, down or refusing', () => {
  it('when Stripe answers 503 and 429 first, then the thin event stays stored and is applied once Stripe answers', async () => {
    const acct = `acct_thin_down_${Date.now()}`;
    const snapshot = fx.subscriptionCreated({
      shape: 'basil',
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
      accountId: acct,
      created: nowS(),
    });
    const thin = thinOf(snapshot);
    serveThin(stripe, thin);
    stripe.unavailableNext = 2;
    stripe.rateLimitNext = 1;
    const r = await postStripe(svc.baseUrl, thin.body);
    expect(r.status).toBe(200);
    const carrier = await carrierOf(r.body.event_id);
    expect(await outcomeOf(svc, carrier.id)).toBe('applied');
    await statusBecomes(svc, acct, 'active');
  });

  it('when the related object is gone (404), then the fetch is stored as Stripe reports it, deleted, and changes nothing', async () => {
    const snapshot = fx.customerUpdated({ customerId: fx.stripeId('cus'), created: nowS() });
    const thin = thinOf(snapshot);
    stripe.events.set(thin.id, thin.fullEvent);
    stripe.gone.add(String(snapshot.data.object.id));
    const r = await postStripe(svc.baseUrl, thin.body);
    const carrier = await carrierOf(r.body.event_id);
    expect(await outcomeOf(svc, carrier.id)).toBe('ignored');
    const row = await svc.db.pool.query<{ payload: { data: { object: unknown } } }>(
      'SELECT payload FROM billing_events WHERE id = $1::bigint',
      [carrier.id],
    );
    expect(row.rows[0]?.payload.data.object).toEqual({
      id: snapshot.data.object.id,
      object: 'customer',
      deleted: true,
    });
  });

  it('when the fetched object cannot be read (a subscription with no status), then it is stored and ignored, not fetched again and again', async () => {
    const snapshot = fx.subscriptionUpdated({
      shape: 'basil',
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
      created: nowS(),
    });
    const { eventId, carrier } = await sendThin(snapshot, {
      ...snapshot.data.object,
      status: null,
    });
    expect(await outcomeOf(svc, eventId)).toBe('duplicate');
    expect(await outcomeOf(svc, carrier.id)).toBe('ignored');
  });

  it('when a thin event is signed with another secret, then 400 invalid_signature, recorded; the rotated-out secret still works', async () => {
    const thin = thinOf(fx.customerUpdated({ customerId: fx.stripeId('cus'), created: nowS() }));
    serveThin(stripe, thin);
    const bad = await postStripe(svc.baseUrl, thin.body, { secret: 'whsec_not_ours_123456' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_signature' } });
    const recorded = await svc.db.pool.query(
      `SELECT reason FROM webhook_rejections WHERE source = 'stripe' AND http_status = 400
        ORDER BY id DESC LIMIT 1`,
    );
    expect(recorded.rows[0]?.reason).toBe('invalid_signature');
    const rotated = await postStripe(svc.baseUrl, thin.body, { secret: SECRETS.stripeOld });
    expect(rotated.status).toBe(200);
  });
});

describe('without STRIPE_API_KEY, thin events wait stored', () => {
  let keyless: TestService | null = null;
  let keyed: TestService | null = null;
  afterAll(async () => {
    await keyed?.stop();
    await keyless?.stop();
  });

  it('when no key is set, then the thin event waits, the read says it cannot fold it, the daily check names STRIPE_API_KEY; with the key it is applied', async () => {
    keyless = await startService();
    const acct = `acct_thin_keyless_${Date.now()}`;
    const ids = {
      shape: 'basil' as const,
      customerId: fx.stripeId('cus'),
      subscriptionId: fx.stripeId('sub'),
      accountId: acct,
    };
    // The subscription is already linked to the account: the thin event is stored under it.
    const created = await postStripe(
      keyless.baseUrl,
      fx.subscriptionCreated({ ...ids, created: nowS() }),
    );
    expect(await outcomeOf(keyless, created.body.event_id)).toBe('applied');
    const snapshot = fx.subscriptionDeleted({ ...ids, created: nowS() });
    const thin = thinOf(snapshot);
    serveThin(stripe, thin);
    const r = await postStripe(keyless.baseUrl, thin.body);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ account_id: acct, duplicate: false });

    const read = await getAccount(keyless, acct);
    expect(read).toMatchObject({
      status: 'active',
      pending_event_not_folded: {
        event_id: String(r.body.event_id),
        event_type: 'v1.customer.subscription.deleted',
        reason: 'thin_event_not_fetched',
      },
    });
    const check = await json(keyless.admin('/v1/ops/daily-check'));
    const item = (check.body.items as { name: string; status: string; message: string }[]).find(
      (i) => i.name === 'stripe_thin_events',
    );
    expect(item?.status).toBe('fail');
    expect(item?.message).toContain('STRIPE_API_KEY');

    // Restarted with the key (the same database): fetched and applied.
    await keyless.running.stop();
    keyed = await startService({
      db: keyless.db,
      env: {
        STRIPE_API_KEY: API_KEY,
        STRIPE_API_URL: svc.config.reconcile.stripeApiUrl ?? '',
        TEMPORAL_TASK_QUEUE: keyless.config.taskQueue,
      },
    });
    expect(await outcomeOf(keyed, r.body.event_id)).toBe('duplicate');
    await statusBecomes(keyed, acct, 'canceled');
  });
});

describe("thin events against Stripe's contract (stripe-mock serves the related objects)", () => {
  it.each([
    ['subscription', () => fx.subscriptionUpdated({ created: nowS() })],
    ['invoice', () => fx.invoicePaid({ created: nowS() })],
    ['checkout session', () => fx.checkoutSessionCompleted({ created: nowS() })],
  ])(
    'when a thin event points at a %s, then stripe-mock serves it and the fetched event is stored under the snapshot id',
    async (_what, build) => {
      const snapshot = build();
      const thin = thinOf(snapshot);
      stripe.events.set(thin.id, thin.fullEvent);
      const r = await postStripe(svc.baseUrl, thin.body);
      expect(r.status).toBe(200);
      const fetched = await waitFor(
        async () => {
          const row = await svc.db.pool.query<{
            outcome: string;
            payload: { data: { object: { id: string } } };
          }>(
            `SELECT outcome, payload FROM billing_events WHERE dedupe_key = $1::text AND outcome IS NOT NULL`,
            [`stripe:${snapshot.id}`],
          );
          return row.rows[0];
        },
        { what: 'the fetched event to be applied' },
      );
      expect(fetched.payload.data.object.id).toBe(
        thin.notification.related_object && (thin.notification.related_object as { id: string }).id,
      );
      expect(await outcomeOf(svc, r.body.event_id)).toBe('duplicate');
      const forwarded = stripe.requests.filter(
        (q) => q.path === (thin.notification.related_object as { url: string }).url,
      );
      expect(forwarded).toHaveLength(1);
      expect(fetched.payload.data.object).not.toHaveProperty('deleted');
    },
  );
});
