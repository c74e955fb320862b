// The Stripe lifecycle of SPEC §3 over HTTP against the running service: signed, realistic
// payloads in both API-version shapes, real PostgreSQL, the real Temporal dev server.
import * as fx from '../fixtures/stripe';
import { getAccount, outcomeOf, register, statusBecomes } from '../helpers/accounts';
import { json, postStripe } from '../helpers/http';
import { nowS } from '../helpers/ids';
import { orders } from '../helpers/orders';
import { startService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/wait';

let svc: TestService;

beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

describe.each(fx.PAYLOAD_SHAPES)('Stripe lifecycle over HTTP (%s payloads)', (shape) => {
  const acct = `acct_${shape}_${Date.now()}`;
  const customerId = fx.stripeId('cus');
  const subscriptionId = fx.stripeId('sub');
  const base = { shape, customerId, subscriptionId, accountId: acct };
  let t = nowS();
  const next = () => (t += 10);

  it('when an account is registered with a trial, then it is free (201), and again 200', async () => {
    const trialEnd = new Date(Date.now() + 14 * 86_400_000).toISOString();
    const first = await register(svc, {
      account_id: acct,
      trial_end: trialEnd,
      email: 'taro@example.jp',
    });
    expect(first.status).toBe(201);
    expect(first.body.account).toMatchObject({
      account_id: acct,
      status: 'free',
      trial_end: trialEnd,
    });
    const again = await register(svc, { account_id: acct });
    expect(again.status).toBe(200);
  });

  it('when checkout completes in trial, then early_payment with customer and subscription linked', async () => {
    const r = await postStripe(
      svc.baseUrl,
      fx.checkoutSessionCompleted({
        ...base,
        accountId: undefined,
        clientReferenceId: acct,
        created: next(),
      }),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ received: true, duplicate: false, account_id: acct });
    const a = await statusBecomes(svc, acct, 'early_payment');
    expect(a).toMatchObject({
      stripe_customer_id: customerId,
      stripe_subscription_id: subscriptionId,
      provider: 'stripe',
    });
  });

  it('when a payment fails, then past_due; when it is paid, then back to early_payment', async () => {
    expect(
      (await postStripe(svc.baseUrl, fx.invoicePaymentFailed({ ...base, created: next() }))).status,
    ).toBe(200);
    await statusBecomes(svc, acct, 'past_due');
    expect(
      (await postStripe(svc.baseUrl, fx.invoicePaid({ ...base, created: next() }))).status,
    ).toBe(200);
    await statusBecomes(svc, acct, 'early_payment');
  });

  it('when a cancel at period end is scheduled, then canceling with scheduled_cancel_at; withdrawn restores it', async () => {
    const periodEnd = next() + 30 * 86_400;
    await postStripe(
      svc.baseUrl,
      fx.subscriptionUpdated({
        ...base,
        created: next(),
        cancelAtPeriodEnd: true,
        currentPeriodEnd: periodEnd,
      }),
    );
    const canceling = await statusBecomes(svc, acct, 'canceling');
    expect(canceling.scheduled_cancel_at).toBe(new Date(periodEnd * 1000).toISOString());
    await postStripe(svc.baseUrl, fx.subscriptionUpdated({ ...base, created: next() }));
    const restored = await statusBecomes(svc, acct, 'early_payment');
    expect(restored.scheduled_cancel_at).toBeNull();
  });

  it('when the subscription is deleted, then canceled, and the gate denies confirm but not propose', async () => {
    await postStripe(svc.baseUrl, fx.subscriptionDeleted({ ...base, created: next() }));
    await statusBecomes(svc, acct, 'canceled');
    const confirm = await json(svc.admin(`/v1/gate/${acct}/confirm`));
    expect(confirm.status).toBe(200);
    expect(confirm.body).toMatchObject({
      allowed: false,
      status: 'canceled',
      reason: 'status:canceled',
    });
    const propose = await json(svc.admin(`/v1/gate/${acct}/propose`));
    expect(propose.body).toMatchObject({ allowed: true });
  });

  it('when an unknown event type arrives, then 200, stored, audited as ignored, state unchanged', async () => {
    const r = await postStripe(
      svc.baseUrl,
      fx.customerUpdated({ shape, customerId, created: next() }),
    );
    expect(r.status).toBe(200);
    expect(await outcomeOf(svc, r.body.event_id)).toBe('ignored');
    expect((await getAccount(svc, acct))?.status).toBe('canceled');
  });

  it('then every row is consistent: events stored once, last_event_id joins, an audit row per event', async () => {
    const events = await json(svc.admin(`/v1/accounts/${acct}/events`));
    const list = events.body.events as { id: string; outcome: string }[];
    const audit = events.body.audit as { event_id: string }[];
    // register, checkout, failed, paid, cancel scheduled, withdrawn, deleted, customer.updated; the repeated register is a duplicate
    expect(list.length).toBe(8);
    expect(Number(list[0]?.id)).toBeGreaterThan(Number(list.at(-1)?.id));
    expect(new Set(audit.map((a) => a.event_id))).toEqual(new Set(list.map((e) => e.id)));
    const mismatch = await svc.db.pool.query(
      `SELECT a.account_id FROM billing_accounts a JOIN billing_events e ON e.id = a.last_event_id
        WHERE e.account_id <> a.account_id OR e.outcome <> 'applied'`,
    );
    expect(mismatch.rows).toEqual([]);
  });
});

describe.each(fx.PAYLOAD_SHAPES)("Stripe's own lifecycle over HTTP (%s payloads)", (shape) => {
  /** Posts the events and waits until the account's workflow has applied each of them. */
  async function deliver(events: fx.StripeEventJson[]): Promise<string[]> {
    const outcomes: string[] = [];
    for (const e of events) {
      const r = await postStripe(svc.baseUrl, e);
      expect(r.status).toBe(200);
      outcomes.push(await outcomeOf(svc, r.body.event_id));
    }
    return outcomes;
  }

  it.each(orders(['created', 'paid', 'updated'] as const).map((o) => o.join(', ')))(
    'when Checkout sends created (incomplete), invoice.paid and updated (active) of one second as %s, then the account is active and may confirm',
    async (order) => {
      const acct = `acct_co_${shape}_${order.replace(/, /g, '_')}_${Date.now()}`;
      const ids = { shape, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
      const invoiceId = fx.stripeId('in');
      const created = nowS();
      const events = {
        created: fx.subscriptionCreated({
          ...ids,
          accountId: acct,
          created,
          status: 'incomplete',
          latestInvoiceId: invoiceId,
        }),
        paid: fx.invoicePaid({
          ...ids,
          accountId: acct,
          created,
          invoiceId,
          billingReason: 'subscription_create',
        }),
        updated: fx.subscriptionUpdated({
          ...ids,
          accountId: acct,
          created,
          latestInvoiceId: invoiceId,
          previousAttributes: { status: 'incomplete' },
        }),
      };
      await deliver(order.split(', ').map((k) => events[k as keyof typeof events]));
      expect((await getAccount(svc, acct))?.status).toBe('active');
      const confirm = await json(svc.admin(`/v1/gate/${acct}/confirm`));
      expect(confirm.body).toMatchObject({
        allowed: true,
        status: 'active',
        reason: 'status:active',
      });
    },
  );

  it("when the host app registers the account with a trial after Stripe's first webhook, then its trial counts and its email is kept (201), and again 200", async () => {
    const acct = `acct_late_${shape}_${Date.now()}`;
    const ids = { shape, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
    const invoiceId = fx.stripeId('in');
    const created = nowS();
    await deliver([
      fx.subscriptionCreated({
        ...ids,
        accountId: acct,
        created,
        status: 'incomplete',
        latestInvoiceId: invoiceId,
      }),
    ]);
    expect((await getAccount(svc, acct))?.status).toBe('past_due');
    const trialEnd = new Date(Date.now() + 14 * 86_400_000).toISOString();
    const late = await register(svc, {
      account_id: acct,
      trial_end: trialEnd,
      email: 'late@example.jp',
    });
    expect(late.status).toBe(201);
    expect(late.body.account).toMatchObject({
      status: 'free',
      trial_end: trialEnd,
      email: 'late@example.jp',
      stripe_customer_id: ids.customerId,
    });
    const again = await register(svc, { account_id: acct, trial_days: 30 });
    expect(again.status).toBe(200);
    expect((await getAccount(svc, acct))?.trial_end).toBe(trialEnd);
    expect((await json(svc.admin(`/v1/gate/${acct}/confirm`))).body).toMatchObject({
      allowed: true,
      status: 'free',
    });
    await deliver([
      fx.invoicePaid({
        ...ids,
        accountId: acct,
        created: created + 5,
        invoiceId,
        invoiceCreated: created,
        billingReason: 'subscription_create',
      }),
    ]);
    expect((await getAccount(svc, acct))?.status).toBe('early_payment');
  });

  it('when two renewals fail and the customer pays only the older invoice, then the gate denies confirm naming the newer invoice', async () => {
    const acct = `acct_renewals_${shape}_${Date.now()}`;
    const ids = { shape, customerId: fx.stripeId('cus'), subscriptionId: fx.stripeId('sub') };
    const [older, newer] = [fx.stripeId('in'), fx.stripeId('in')];
    const t = nowS();
    const month = 30 * 86_400;
    await deliver([
      fx.subscriptionCreated({ ...ids, accountId: acct, created: t - 2 * month }),
      fx.invoicePaymentFailed({ ...ids, accountId: acct, created: t - month, invoiceId: older }),
      fx.subscriptionUpdated({
        ...ids,
        accountId: acct,
        created: t - month,
        status: 'past_due',
        latestInvoiceId: older,
      }),
      fx.invoicePaymentFailed({ ...ids, accountId: acct, created: t - 10, invoiceId: newer }),
      fx.invoicePaid({
        ...ids,
        accountId: acct,
        created: t,
        invoiceId: older,
        invoiceCreated: t - month,
      }),
    ]);
    const confirm = await json(svc.admin(`/v1/gate/${acct}/confirm`));
    expect(confirm.body).toMatchObject({
      allowed: false,
      status: 'past_due',
      reason: 'status:past_due',
      provenance: { object: `stripe:${ids.subscriptionId}`, invoice: newer },
    });
    expect(confirm.body.message).toContain(newer);
  });
});

describe('Stripe account resolution', () => {
  it('when an event carries no account id, then it lands on stripe:<customer>, and later events follow the link', async () => {
    const customerId = fx.stripeId('cus');
    const subscriptionId = fx.stripeId('sub');
    const r = await postStripe(
      svc.baseUrl,
      fx.subscriptionCreated({ customerId, subscriptionId, created: nowS() }),
    );
    expect(r.body.account_id).toBe(`stripe:${customerId}`);
    await statusBecomes(svc, `stripe:${customerId}`, 'active');
    const f = await postStripe(
      svc.baseUrl,
      fx.invoicePaymentFailed({ customerId, subscriptionId, created: nowS() + 5 }),
    );
    expect(f.body.account_id).toBe(`stripe:${customerId}`);
    await statusBecomes(svc, `stripe:${customerId}`, 'past_due');
  });
});

describe('Temporal UI search attributes', () => {
  it('when an account changes status, then its workflow is found by BillingAccountId, BillingStatus and BillingProvider', async () => {
    const customerId = fx.stripeId('cus');
    const subscriptionId = fx.stripeId('sub');
    const id = `acct_sa_${Date.now()}`;
    await postStripe(
      svc.baseUrl,
      fx.subscriptionCreated({ customerId, subscriptionId, accountId: id, created: nowS() }),
    );
    await statusBecomes(svc, id, 'active');
    const periodEnd = nowS() + 30 * 86_400;
    await postStripe(
      svc.baseUrl,
      fx.subscriptionUpdated({
        customerId,
        subscriptionId,
        accountId: id,
        created: nowS() + 1,
        cancelAtPeriodEnd: true,
        currentPeriodEnd: periodEnd,
      }),
    );
    await statusBecomes(svc, id, 'canceling');
    const { client } = svc.running.temporalClient();
    const query = `BillingAccountId = "${id}" AND BillingStatus = "canceling" AND BillingProvider = "stripe"`;
    const found = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.length > 0 ? ids : undefined;
      },
      { what: 'the workflow in visibility', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(found).toEqual([`billing-account:${id}`]);
    const described = await client.workflow.getHandle(`billing-account:${id}`).describe();
    const cancelAt = described.typedSearchAttributes
      .getAll()
      .find((p) => p.key.name === 'ScheduledCancelAt');
    expect((cancelAt?.value as Date).toISOString()).toBe(new Date(periodEnd * 1000).toISOString());
  });
});

describe('API and health', () => {
  it('when /v1 is called without the admin token, then 401 with a JSON error', async () => {
    const r = await json(fetch(`${svc.baseUrl}/v1/accounts/x/events`));
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: { code: 'missing_admin_token', message: expect.any(String) } });
    const wrong = await json(
      fetch(`${svc.baseUrl}/v1/accounts/x/events`, { headers: { authorization: 'Bearer nope' } }),
    );
    expect(wrong.status).toBe(401);
  });

  it('when an account does not exist, then 404 and the gate denies confirm with no_billing_account', async () => {
    expect((await json(svc.admin('/v1/accounts/nobody'))).status).toBe(404);
    const gate = await json(svc.admin('/v1/gate/nobody/confirm'));
    expect(gate.body).toMatchObject({ allowed: false, reason: 'no_billing_account', status: null });
  });

  it('when health is asked, then healthz and readyz answer 200 and metrics expose the gate counters', async () => {
    expect((await json(fetch(`${svc.baseUrl}/healthz`))).status).toBe(200);
    const ready = await json(fetch(`${svc.baseUrl}/readyz`));
    expect(ready.body).toEqual({ ok: true, postgres: true, temporal: true });
    const metrics = await (await fetch(`${svc.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^confirm_total \d+/m);
    expect(metrics).toMatch(/^confirm_rejected \d+/m);
    expect(metrics).toMatch(/^propose_total \d+/m);
    expect(metrics).toMatch(/billing_webhooks_total\{source="stripe",result="accepted"\} \d+/);
    expect(metrics).toMatch(/billing_accounts\{status="canceled"\} \d+/);
    expect(metrics).toMatch(/billing_last_sync_age_seconds \d/);
  });
});
