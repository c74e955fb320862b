// Reconciliation's requests against Stripe's own API contract: stripe-node, configured exactly as
// `reconcile` configures it, talks to stripe-mock, which validates every request against Stripe's
// OpenAPI spec and answers from Stripe's fixtures. stripe-mock keeps no state, so this proves the
// requests and the reading of real response bodies; the drift scenarios are in reconcile.test.ts.
import { reconcileStripe } from '../../src/services/reconcile/stripe';
import { createStripeApi } from '../../src/services/stripe-api';
import { applyThrough, type BillingTemporal, connectTemporal } from '../../src/temporal/client';
import { register, statusBecomes } from '../helpers/accounts';
import { startService, type TestService } from '../helpers/service';
import { startStripeMock, type StripeMock } from '../helpers/stripe-mock-process';

let mock: StripeMock;
let svc: TestService;
let temporal: BillingTemporal;

beforeAll(async () => {
  mock = await startStripeMock();
  svc = await startService();
  temporal = connectTemporal({
    address: process.env.TEST_TEMPORAL_ADDRESS ?? '',
    namespace: svc.config.temporalNamespace,
    taskQueue: svc.config.taskQueue,
  });
});

afterAll(async () => {
  await temporal?.connection.close();
  await svc?.stop();
  await mock?.stop();
});

const api = () => createStripeApi({ apiKey: 'sk_test_123', apiUrl: mock.url });

describe('reconcile against stripe-mock', () => {
  it('when stripe-mock is sent a parameter Stripe does not define, then it refuses it (the contract is checked)', async () => {
    const res = await fetch(`${mock.url}/v1/subscriptions?customer=cus_1&no_such_parameter=1`, {
      headers: { authorization: 'Bearer sk_test_123' },
    });
    expect(res.status).toBe(400);
  });

  it('when reconcile lists and fetches subscriptions, then Stripe accepts every request and its fixture bodies are read', async () => {
    const listed = await api().listSubscriptions('cus_contract');
    expect(listed.length).toBeGreaterThan(0);
    expect(listed[0]).toMatchObject({ object: 'subscription' });
    const one = (await api().retrieveSubscription('sub_contract')) as { object: string };
    expect(one.object).toBe('subscription');
  });

  it('when an account linked to a customer has never heard of the subscription Stripe lists, then it is recorded once and a second run finds nothing', async () => {
    const account = 'acct_contract';
    const r = await register(svc, {
      account_id: account,
      trial_days: 0,
      stripe_customer_id: 'cus_contract',
    });
    expect(r.status).toBe(201);
    await statusBecomes(svc, account, 'past_due');
    const deps = { pool: svc.db.pool, apply: applyThrough(temporal) };
    const first = await reconcileStripe(deps, api(), { accountId: account, startedBy: 'test' });
    expect(first.errors).toEqual([]);
    expect(first.corrections).toEqual([
      expect.objectContaining({
        account_id: account,
        differences: ['unknown_subscription'],
        outcome: 'applied',
      }),
    ]);
    const second = await reconcileStripe(deps, api(), { accountId: account, startedBy: 'test' });
    expect(second).toMatchObject({ errors: [], events_recorded: 0, accounts_checked: 1 });
  });
});
