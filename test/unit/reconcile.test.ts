// Reconciliation decided purely (SPEC §3 rule 2): a subscription fetched from Stripe, compared with
// the account's object, becomes a `reconcile` event only where they differ, and that event is
// applied like any other provider evidence at its fetch time.
import { reconcileMembership, reconcileSubscription } from '../../src/domain/reconcile';
import {
  DEFAULT_CREATED,
  invoicePaymentFailed,
  PAYLOAD_SHAPES,
  type PayloadShape,
  subscriptionCreated,
  subscriptionDeleted,
  subscriptionObject,
  subscriptionUpdated,
} from '../fixtures/stripe';
import { AccountSim, iso } from '../helpers/account-sim';

const DAY = 86_400;
const T = DEFAULT_CREATED;
const customerId = 'cus_reconcile01';
const priceId = 'price_reconcile01';

describe.each(PAYLOAD_SHAPES)('reconciliation (%s payloads)', (shape: PayloadShape) => {
  const sub = (subscriptionId: string, created: number, extra: object = {}) => ({
    shape,
    customerId,
    subscriptionId,
    priceId,
    created,
    currentPeriodStart: T,
    currentPeriodEnd: T + 30 * DAY,
    ...extra,
  });
  const inv = (subscriptionId: string, created: number) => ({
    shape,
    customerId,
    subscriptionId,
    priceId,
    created,
  });
  const fetched = (subscriptionId: string, extra: object = {}) =>
    subscriptionObject(sub(subscriptionId, T, extra));

  it('when the account agrees with what Stripe holds, then there is nothing to record', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    expect(reconcileSubscription(sim.state, fetched('sub_1'), iso(T + DAY))).toBeNull();
  });

  it('when customer.subscription.deleted was lost, then the fetched subscription cancels the account and names what differed', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    const finding = reconcileSubscription(
      sim.state,
      fetched('sub_1', { status: 'canceled' }),
      iso(T + 40 * DAY),
    );
    expect(finding?.data.differences).toEqual(expect.arrayContaining(['status', 'standing']));
    expect(finding?.object_key).toBe('stripe:sub_1');
    const decision = sim.deliver(sim.reconcile(finding!));
    expect(decision.outcome).toBe('applied');
    expect(sim.status).toBe('canceled');
    expect(decision.audit.action).toBe('billing.reconciled');
    expect(decision.audit.details).toMatchObject({
      source: 'reconcile',
      provider: 'stripe',
      differences: finding?.data.differences,
      subscription_status: 'canceled',
    });
    expect(
      reconcileSubscription(sim.state, fetched('sub_1', { status: 'canceled' }), iso(T + 41 * DAY)),
    ).toBeNull();
  });

  it('when the renewal invoice.paid was lost after a failed payment, then the active subscription Stripe holds makes the account active again', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_1', T + 30 * DAY))));
    expect(sim.status).toBe('past_due');
    const finding = reconcileSubscription(sim.state, fetched('sub_1'), iso(T + 31 * DAY));
    expect(finding?.data.differences).toEqual(['standing']);
    sim.deliver(sim.reconcile(finding!));
    expect(sim.status).toBe('active');
    expect(reconcileSubscription(sim.state, fetched('sub_1'), iso(T + 32 * DAY))).toBeNull();
  });

  it('when Stripe holds a second subscription the account never heard of, then it is recorded and counts', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_old', T))));
    sim.deliver(sim.stripe(subscriptionDeleted(sub('sub_old', T + 10 * DAY))));
    expect(sim.status).toBe('canceled');
    const finding = reconcileSubscription(sim.state, fetched('sub_new'), iso(T + 20 * DAY));
    expect(finding?.data.differences).toEqual(['unknown_subscription']);
    sim.deliver(sim.reconcile(finding!));
    expect(sim.status).toBe('active');
    expect(sim.state?.status_object).toBe('stripe:sub_new');
  });

  it('when an old webhook is delivered late after reconciliation, then it is stale and the status stays as Stripe holds it', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    const finding = reconcileSubscription(
      sim.state,
      fetched('sub_1', { status: 'canceled' }),
      iso(T + 40 * DAY),
    );
    sim.deliver(sim.reconcile(finding!));
    const late = sim.deliver(
      sim.stripe(subscriptionUpdated(sub('sub_1', T + 20 * DAY, { cancelAtPeriodEnd: true }))),
    );
    expect(late.outcome).toBe('stale');
    expect(sim.status).toBe('canceled');
  });

  it('when a scheduled cancel was withdrawn and the webhook lost, then the withdrawal is recorded', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    sim.deliver(
      sim.stripe(subscriptionUpdated(sub('sub_1', T + DAY, { cancelAtPeriodEnd: true }))),
    );
    expect(sim.status).toBe('canceling');
    const finding = reconcileSubscription(sim.state, fetched('sub_1'), iso(T + 2 * DAY));
    expect(finding?.data.differences).toEqual(
      expect.arrayContaining(['cancel_at', 'cancel_at_period_end', 'standing']),
    );
    sim.deliver(sim.reconcile(finding!));
    expect(sim.status).toBe('active');
    expect(sim.state?.scheduled_cancel_at).toBeNull();
  });

  it('when two snapshots of one subscription carry the same second and disagree, then the later arrival is applied and flagged so Stripe can settle it', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    const first = sim.deliver(sim.stripe(subscriptionUpdated(sub('sub_1', T + DAY))));
    expect(first.equal_second_conflict).toBeUndefined();
    const second = sim.deliver(
      sim.stripe(subscriptionUpdated(sub('sub_1', T + DAY, { cancelAtPeriodEnd: true }))),
    );
    expect(second.outcome).toBe('applied');
    expect(sim.status).toBe('canceling');
    const conflict = {
      subscription_id: 'sub_1',
      fields: ['cancel_at', 'cancel_at_period_end'],
      with_event_id: first.state?.last_event_id,
    };
    expect(second.equal_second_conflict).toEqual(conflict);
    expect(second.audit.details).toMatchObject({ equal_second_conflict: conflict });

    // Stripe's answer, stored as a reconcile event, settles it and is never flagged itself.
    const finding = reconcileSubscription(sim.state, fetched('sub_1'), iso(T + DAY));
    const settled = sim.deliver(sim.reconcile(finding!));
    expect(settled.outcome).toBe('applied');
    expect(settled.equal_second_conflict).toBeUndefined();
    expect(sim.status).toBe('active');
  });

  it('when same-second snapshots agree, or an invoice shares the second, then nothing is flagged', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    const agreeing = sim.deliver(sim.stripe(subscriptionUpdated(sub('sub_1', T))));
    expect(agreeing.outcome).toBe('applied');
    expect(agreeing.equal_second_conflict).toBeUndefined();
    const invoice = sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_1', T))));
    expect(invoice.equal_second_conflict).toBeUndefined();
    const later = sim.deliver(
      sim.stripe(subscriptionUpdated(sub('sub_1', T + 1, { cancelAtPeriodEnd: true }))),
    );
    expect(later.equal_second_conflict).toBeUndefined();
  });

  it('when both sides say canceled, then other fields of the ended subscription do not count as drift', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
    sim.deliver(sim.stripe(subscriptionDeleted(sub('sub_1', T + DAY))));
    const ended = fetched('sub_1', { status: 'canceled', cancelAtPeriodEnd: true });
    expect(reconcileSubscription(sim.state, ended, iso(T + 2 * DAY))).toBeNull();
  });
});

describe('MyASP member list reconciliation', () => {
  it('when the export says cancelled and the account is registered, then the row is recorded and cancels the account', () => {
    const sim = new AccountSim();
    sim.deliver(sim.myasp('u1', '1', iso(T)));
    const finding = reconcileMembership(
      sim.state,
      { user_id: 'u1', code: '4', at: null },
      iso(T + DAY),
    );
    expect(finding?.data.differences).toEqual(['status']);
    const decision = sim.deliver(sim.reconcile(finding!));
    expect(sim.status).toBe('canceled');
    expect(decision.audit).toMatchObject({
      action: 'billing.reconciled',
      details: { provider: 'myasp', differences: ['status'], provider_status: '4' },
    });
  });

  it('when the export agrees, or its row is older than what the account knows, then nothing is recorded', () => {
    const sim = new AccountSim();
    sim.deliver(sim.myasp('u1', '2', iso(T + DAY)));
    expect(
      reconcileMembership(sim.state, { user_id: 'u1', code: '2', at: null }, iso(T + 2 * DAY)),
    ).toBeNull();
    expect(
      reconcileMembership(sim.state, { user_id: 'u1', code: '1', at: iso(T) }, iso(T + 2 * DAY)),
    ).toBeNull();
  });
});
