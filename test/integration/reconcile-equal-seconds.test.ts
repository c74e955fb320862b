// Equal-second conflicts over HTTP (SPEC §3 rule 2): two signed webhooks of one subscription carry
// the same `created` second and disagree. With STRIPE_API_KEY the account workflow asks Stripe (a
// stateful stand-in behind stripe-node) and applies its answer as a `reconcile` event; without it
// arrival order stands and Stripe is never asked.
import { accountWorkflowId } from '../../src/temporal/ids';
import { mockEvent, mockSubscription } from '../fixtures/stripe-mock';
import { auditRows, outcomeOf, statusBecomes } from '../helpers/accounts';
import { postStripe } from '../helpers/http';
import { startService, type TestService } from '../helpers/service';
import { StripeStandin } from '../helpers/stripe-standin';
import { waitFor } from '../helpers/wait';

const DAY = 86_400;
const API_KEY = 'sk_test_equal_seconds_0123456';
const NOW = Math.floor(Date.now() / 1000);

let withKey: TestService;
let withoutKey: TestService;
let stripe: StripeStandin;

beforeAll(async () => {
  stripe = new StripeStandin(API_KEY);
  const stripeUrl = await stripe.start();
  withKey = await startService({ env: { STRIPE_API_KEY: API_KEY, STRIPE_API_URL: stripeUrl } });
  withoutKey = await startService({ env: { STRIPE_API_URL: stripeUrl } });
});

afterAll(async () => {
  await withKey?.stop();
  await withoutKey?.stop();
  await stripe?.stop();
});

const subscription = (accountId: string, id: string, cancelAtPeriodEnd: boolean) =>
  mockSubscription(
    {
      subscriptionId: id,
      customerId: `cus_${accountId}`,
      status: 'active',
      created: NOW - 60 * DAY,
      periodEnd: NOW + 20 * DAY,
      cancelAtPeriodEnd,
      accountId,
    },
    'basil',
  );

async function webhook(svc: TestService, type: string, object: object, created: number) {
  const r = await postStripe(svc.baseUrl, mockEvent(type, object as never, created, 'basil'));
  expect(r.status).toBe(200);
  expect(await outcomeOf(svc, r.body.event_id)).toBe('applied');
  return String(r.body.event_id);
}

/**
 * Stripe withdrew a scheduled cancel; both updates carry the same second and the cancel arrives
 * last, so arrival order alone leaves the account canceling.
 */
async function sameSecondDisagreement(svc: TestService, account: string, sub: string) {
  await webhook(
    svc,
    'customer.subscription.created',
    subscription(account, sub, false),
    NOW - 30 * DAY,
  );
  const second = NOW - 60;
  await webhook(svc, 'customer.subscription.updated', subscription(account, sub, false), second);
  return webhook(svc, 'customer.subscription.updated', subscription(account, sub, true), second);
}

const asked = (sub: string) => stripe.requests.filter((r) => r.path.endsWith(`/${sub}`));

describe('equal-second conflicts', () => {
  it('when two same-second updates disagree and STRIPE_API_KEY is set, then the workflow asks Stripe and the account ends in the status Stripe holds, audited as billing.reconciled', async () => {
    const account = 'acct_eq_key';
    stripe.put(subscription(account, 'sub_eq_key', false));
    const last = await sameSecondDisagreement(withKey, account, 'sub_eq_key');

    const active = await statusBecomes(withKey, account, 'active');
    expect(active.scheduled_cancel_at).toBeNull();
    expect(asked('sub_eq_key')).toEqual([
      expect.objectContaining({ method: 'GET', path: '/v1/subscriptions/sub_eq_key' }),
    ]);
    const conflictAudit = await withKey.db.pool.query<{ details: object }>(
      'SELECT details FROM audit_logs WHERE event_id = $1::bigint',
      [last],
    );
    expect(conflictAudit.rows[0]?.details).toMatchObject({
      equal_second_conflict: {
        subscription_id: 'sub_eq_key',
        fields: expect.arrayContaining(['cancel_at_period_end']),
      },
    });
    expect(await auditRows(withKey, account, 'billing.reconciled')).toEqual([
      expect.objectContaining({
        actor: 'reconcile',
        from_status: 'canceling',
        to_status: 'active',
        details: expect.objectContaining({
          source: 'reconcile',
          provider: 'stripe',
          differences: expect.arrayContaining(['cancel_at_period_end']),
        }),
      }),
    ]);
  });

  it('when two same-second updates disagree and STRIPE_API_KEY is not set, then nothing is fetched and arrival order stands', async () => {
    const account = 'acct_eq_nokey';
    stripe.put(subscription(account, 'sub_eq_nokey', false));
    const last = await sameSecondDisagreement(withoutKey, account, 'sub_eq_nokey');
    await statusBecomes(withoutKey, account, 'canceling');

    // The batch that applied the last event and whatever it decided to do next are recorded by
    // the same workflow task: once its marker is in the history, an ask would be there too.
    const handle = withoutKey.running
      .temporalClient()
      .client.workflow.getHandle(accountWorkflowId(account));
    const history = await waitFor(
      async () => {
        const h = await handle.fetchHistory();
        const batches = (h.events ?? []).filter((e) =>
          (e.markerRecordedEventAttributes?.details?.result?.payloads ?? []).some((p) =>
            Buffer.from(p.data ?? [])
              .toString('utf8')
              .includes(`"event_id":"${last}"`),
          ),
        );
        return batches.length > 0 ? h : undefined;
      },
      { what: 'the batch of the last event in the history' },
    );
    const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
    expect(scheduled).toEqual([]);
    expect(asked('sub_eq_nokey')).toEqual([]);
    const reconciled = await withoutKey.db.pool.query(
      `SELECT 1 FROM billing_events WHERE account_id = $1::text AND source = 'reconcile'`,
      [account],
    );
    expect(reconciled.rowCount).toBe(0);
  });
});
