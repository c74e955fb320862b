// Stripe's own object fixtures (stripe-mock's fixtures3.json), in both API shapes, through the
// normalizer and the account loop: the derived status holds for what Stripe really sends.
import { normalizeStripeEvent } from '../../src/domain/normalize-stripe';
import { PAYLOAD_SHAPES, type PayloadShape } from '../fixtures/stripe';
import {
  mockCheckoutSession,
  mockEvent,
  mockInvoice,
  mockSubscription,
  type MockSubscriptionOptions,
} from '../fixtures/stripe-mock';
import { AccountSim, iso } from '../helpers/account-sim';

const DAY = 86_400;
const T = 1_767_225_600;
const customerId = 'cus_fixture01';

describe.each(PAYLOAD_SHAPES)("Stripe's fixtures in the %s shape", (shape: PayloadShape) => {
  const sub = (o: Partial<MockSubscriptionOptions> & { subscriptionId: string; created: number }) =>
    mockSubscription({ customerId, status: 'active', periodEnd: T + 30 * DAY, ...o }, shape);
  const subEvent = (
    type: 'created' | 'updated' | 'deleted',
    o: Partial<MockSubscriptionOptions> & { subscriptionId: string; created: number },
  ) =>
    mockEvent(
      `customer.subscription.${type}`,
      sub({ ...(type === 'deleted' ? { status: 'canceled' } : {}), ...o }),
      o.created,
      shape,
    );
  const invoiceEvent = (subscriptionId: string | null, created: number, paid: boolean) =>
    mockEvent(
      paid ? 'invoice.paid' : 'invoice.payment_failed',
      mockInvoice({ subscriptionId, customerId, created, paid, accountId: 'acct_fx' }, shape),
      created,
      shape,
    );

  describe('normalization', () => {
    it('when the fixture subscription schedules a cancel at period end, then the cancel time is its period end', () => {
      const n = normalizeStripeEvent(
        subEvent('updated', { subscriptionId: 'sub_fx', created: T, cancelAtPeriodEnd: true }),
        { pastDueGraceMs: null },
      );
      expect(n.data).toMatchObject({
        kind: 'stripe.subscription_updated',
        subscription_id: 'sub_fx',
        customer_id: customerId,
        subscription_status: 'active',
        cancel_at: iso(T + 30 * DAY),
        cancel_at_period_end: true,
      });
    });

    it("when the fixture invoice belongs to a subscription, then it is found in this shape's field", () => {
      const n = normalizeStripeEvent(invoiceEvent('sub_fx', T, false), { pastDueGraceMs: null });
      expect(n.data).toMatchObject({ kind: 'stripe.payment_failed', subscription_id: 'sub_fx' });
      expect(n.account_hint.explicit_account_id).toBe('acct_fx');
    });

    it('when the fixture invoice is a one-off, then it names no subscription', () => {
      const n = normalizeStripeEvent(invoiceEvent(null, T, true), { pastDueGraceMs: null });
      expect(n.data).toMatchObject({ kind: 'stripe.payment_succeeded', subscription_id: null });
    });

    it('when the fixture checkout session completes in subscription mode, then it starts that subscription', () => {
      const session = mockCheckoutSession({ subscriptionId: 'sub_fx', customerId, created: T });
      const n = normalizeStripeEvent(mockEvent('checkout.session.completed', session, T, shape), {
        pastDueGraceMs: null,
      });
      expect(n.data).toMatchObject({
        kind: 'stripe.subscription_started',
        subscription_id: 'sub_fx',
        payment_status: 'paid',
      });
    });
  });

  describe('sequences', () => {
    it('when a customer cancels and subscribes again (default_incomplete), then the account is active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subEvent('created', { subscriptionId: 'sub_a', created: T })));
      sim.deliver(sim.stripe(subEvent('deleted', { subscriptionId: 'sub_a', created: T + DAY })));
      expect(sim.status).toBe('canceled');
      sim.deliver(
        sim.stripe(
          subEvent('created', {
            subscriptionId: 'sub_b',
            created: T + 2 * DAY,
            status: 'incomplete',
          }),
        ),
      );
      sim.deliver(sim.stripe(invoiceEvent('sub_b', T + 2 * DAY + 1, true)));
      sim.deliver(
        sim.stripe(subEvent('updated', { subscriptionId: 'sub_b', created: T + 2 * DAY + 2 })),
      );
      expect(sim.status).toBe('active');
      expect(sim.state?.stripe_subscription_id).toBe('sub_b');
    });

    it('when the add-on of two subscriptions is deleted and its payment failed, then the base keeps the account active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subEvent('created', { subscriptionId: 'sub_base', created: T })));
      sim.deliver(sim.stripe(subEvent('created', { subscriptionId: 'sub_addon', created: T + 5 })));
      sim.deliver(sim.stripe(invoiceEvent('sub_addon', T + DAY, false)));
      sim.deliver(
        sim.stripe(subEvent('deleted', { subscriptionId: 'sub_addon', created: T + 2 * DAY })),
      );
      expect(sim.status).toBe('active');
      expect(sim.state?.stripe_subscription_id).toBe('sub_base');
    });

    it('when the cancel timer has fired and a withdrawal sent before the period end arrives, then the account is active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subEvent('created', { subscriptionId: 'sub_a', created: T })));
      sim.deliver(
        sim.stripe(
          subEvent('updated', {
            subscriptionId: 'sub_a',
            created: T + DAY,
            cancelAtPeriodEnd: true,
          }),
        ),
      );
      sim.advanceTo(iso(T + 31 * DAY));
      expect(sim.status).toBe('canceled');
      sim.deliver(
        sim.stripe(subEvent('updated', { subscriptionId: 'sub_a', created: T + 29 * DAY })),
      );
      expect(sim.status).toBe('active');
    });

    it('when the first payment fails in the trial and the subscription expires, then the trial is kept', () => {
      const sim = new AccountSim();
      sim.deliver(sim.register(iso(T + 14 * DAY), iso(T)));
      sim.deliver(
        sim.stripe(
          subEvent('created', { subscriptionId: 'sub_a', created: T + 1, status: 'incomplete' }),
        ),
      );
      sim.deliver(sim.stripe(invoiceEvent('sub_a', T + 2, false)));
      sim.deliver(
        sim.stripe(
          subEvent('updated', {
            subscriptionId: 'sub_a',
            created: T + DAY,
            status: 'incomplete_expired',
          }),
        ),
      );
      expect(sim.status).toBe('free');
    });
  });

  describe("Stripe's own lifecycle (SPEC §3 rules 7–8)", () => {
    const invoice = (
      type: 'invoice.paid' | 'invoice.payment_failed',
      o: { invoiceId: string; created: number; invoiceCreated?: number; billingReason?: string },
    ) =>
      mockEvent(
        type,
        mockInvoice(
          {
            subscriptionId: 'sub_fx',
            customerId,
            paid: type === 'invoice.paid',
            accountId: 'acct_fx',
            ...o,
          },
          shape,
        ),
        o.created,
        shape,
      );

    it('when Checkout sends created (incomplete) last after invoice.paid and the active update of one second, then the account is active', () => {
      const sim = new AccountSim();
      const latest = { latestInvoiceId: 'in_fx_first' };
      sim.deliver(
        sim.stripe(subEvent('updated', { subscriptionId: 'sub_fx', created: T, ...latest })),
      );
      sim.deliver(
        sim.stripe(
          invoice('invoice.paid', {
            invoiceId: 'in_fx_first',
            created: T,
            billingReason: 'subscription_create',
          }),
        ),
      );
      sim.deliver(
        sim.stripe(
          subEvent('created', {
            subscriptionId: 'sub_fx',
            created: T,
            status: 'incomplete',
            ...latest,
          }),
        ),
      );
      expect(sim.status).toBe('active');
    });

    it('when two renewals fail and only the older is paid, then past_due; when Smart Retries fail an older invoice after a paid renewal, then active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subEvent('created', { subscriptionId: 'sub_fx', created: T })));
      sim.deliver(
        sim.stripe(
          invoice('invoice.payment_failed', { invoiceId: 'in_fx_1', created: T + 30 * DAY }),
        ),
      );
      sim.deliver(
        sim.stripe(
          subEvent('updated', {
            subscriptionId: 'sub_fx',
            created: T + 30 * DAY,
            status: 'past_due',
            latestInvoiceId: 'in_fx_1',
          }),
        ),
      );
      sim.deliver(
        sim.stripe(
          invoice('invoice.payment_failed', { invoiceId: 'in_fx_2', created: T + 60 * DAY }),
        ),
      );
      sim.deliver(
        sim.stripe(
          invoice('invoice.paid', {
            invoiceId: 'in_fx_1',
            created: T + 61 * DAY,
            invoiceCreated: T + 30 * DAY,
          }),
        ),
      );
      expect(sim.status).toBe('past_due');
      expect(sim.state?.status_reason).toBe('payment_failed:in_fx_2');
      sim.deliver(
        sim.stripe(invoice('invoice.paid', { invoiceId: 'in_fx_3', created: T + 90 * DAY })),
      );
      sim.deliver(
        sim.stripe(
          invoice('invoice.payment_failed', {
            invoiceId: 'in_fx_2',
            created: T + 92 * DAY,
            invoiceCreated: T + 60 * DAY,
          }),
        ),
      );
      expect(sim.status).toBe('active');
    });

    it("when the fixture's pending update is shown and its subscription_update invoice fails, then the account stays active", () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subEvent('created', { subscriptionId: 'sub_fx', created: T })));
      sim.deliver(
        sim.stripe(
          subEvent('updated', {
            subscriptionId: 'sub_fx',
            created: T + DAY,
            latestInvoiceId: 'in_fx_up',
            pendingUpdate: true,
          }),
        ),
      );
      sim.deliver(
        sim.stripe(
          invoice('invoice.payment_failed', {
            invoiceId: 'in_fx_up',
            created: T + DAY,
            billingReason: 'subscription_update',
          }),
        ),
      );
      expect(sim.status).toBe('active');
    });
  });
});
