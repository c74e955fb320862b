// Real-world sequences whose status must be what the provider's objects imply (SPEC §3, "the
// status is derived from what each provider object says"). Payloads are realistic Stripe events
// in both API shapes; each sequence runs through the pure account loop, timers included.
import { nextTimer } from '../../src/domain/transition';
import {
  checkoutSessionCompleted,
  DEFAULT_CREATED,
  invoicePaid,
  invoicePaymentFailed,
  PAYLOAD_SHAPES,
  type PayloadShape,
  subscriptionCreated,
  subscriptionDeleted,
  subscriptionUpdated,
} from '../fixtures/stripe';
import { AccountSim, iso } from '../helpers/account-sim';

const DAY = 86_400;
const T = DEFAULT_CREATED;
const customerId = 'cus_derived01';

describe.each(PAYLOAD_SHAPES)('derived status (%s payloads)', (shape: PayloadShape) => {
  const sub = (subscriptionId: string, created: number, extra: object = {}) => ({
    shape,
    customerId,
    subscriptionId,
    created,
    currentPeriodStart: T,
    currentPeriodEnd: T + 30 * DAY,
    ...extra,
  });
  const inv = (subscriptionId: string | null, created: number, extra: object = {}) => ({
    shape,
    customerId,
    subscriptionId,
    created,
    ...extra,
  });

  describe('resubscribing after a cancel', () => {
    it('when a canceled customer subscribes again with default_incomplete, then the account is active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_old', T))));
      sim.deliver(sim.stripe(subscriptionDeleted(sub('sub_old', T + 40 * DAY))));
      expect(sim.status).toBe('canceled');
      sim.deliver(
        sim.stripe(subscriptionCreated(sub('sub_new', T + 50 * DAY, { status: 'incomplete' }))),
      );
      expect(sim.status).toBe('canceled');
      sim.deliver(sim.stripe(invoicePaid(inv('sub_new', T + 50 * DAY + 5))));
      expect(sim.status).toBe('active');
      sim.deliver(sim.stripe(subscriptionUpdated(sub('sub_new', T + 50 * DAY + 6))));
      expect(sim.status).toBe('active');
      expect(sim.state?.stripe_subscription_id).toBe('sub_new');
      expect(sim.state?.status_object).toBe('stripe:sub_new');
    });

    it('when MyASP stopped the account and the customer subscribes on Stripe, then the account is active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.myasp('u1', '1', iso(T)));
      sim.deliver(sim.myasp('u1', '2', iso(T + DAY)));
      expect(sim.status).toBe('stopped');
      sim.deliver(
        sim.stripe(subscriptionCreated(sub('sub_new', T + 2 * DAY, { status: 'incomplete' }))),
      );
      expect(sim.status).toBe('stopped');
      sim.deliver(sim.stripe(invoicePaid(inv('sub_new', T + 2 * DAY + 3))));
      sim.deliver(sim.stripe(subscriptionUpdated(sub('sub_new', T + 2 * DAY + 4))));
      expect(sim.status).toBe('active');
      expect(sim.state?.provider).toBe('stripe');
    });
  });

  describe('every event records its version', () => {
    it('when invoice.paid arrives while active and an older payment failure of that invoice comes after it, then the account stays active', () => {
      const sim = new AccountSim();
      const renewal = { invoiceId: 'in_renewal', invoiceCreated: T };
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      sim.deliver(sim.stripe(invoicePaid(inv('sub_1', T + 10, renewal))));
      const late = sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_1', T + 5, renewal))));
      expect(late.outcome).toBe('stale');
      expect(sim.status).toBe('active');
    });

    it('when a cancel is withdrawn and the older cancel arrives after the withdrawal, then the account stays active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      sim.deliver(sim.stripe(subscriptionUpdated(sub('sub_1', T + 10))));
      const late = sim.deliver(
        sim.stripe(subscriptionUpdated(sub('sub_1', T + 5, { cancelAtPeriodEnd: true }))),
      );
      expect(late.outcome).toBe('stale');
      expect(sim.status).toBe('active');
      expect(sim.state?.scheduled_cancel_at).toBeNull();
    });

    it('when MyASP sends status 1 at 10:00:05 and then status 2 stamped 10:00:00, then the account stays active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.myasp('u1', '1', '2026-03-01T09:00:00.000Z'));
      sim.deliver(sim.myasp('u1', '1', '2026-03-01T10:00:05.000Z'));
      const late = sim.deliver(sim.myasp('u1', '2', '2026-03-01T10:00:00.000Z'));
      expect(late.outcome).toBe('stale');
      expect(sim.status).toBe('active');
    });
  });

  describe('a deadline already behind the clock', () => {
    it('when a late event moves the trial end back before now, then the trial-end timer fires at once and the trial is over', () => {
      const sim = new AccountSim();
      sim.deliver(sim.register(iso(T + 14 * DAY), iso(T)));
      sim.deliver(sim.myasp('u1', '1', iso(T)));
      const trialing = sub('sub_1', T + DAY, { status: 'trialing', trialEnd: T + 15 * DAY });
      sim.deliver(sim.stripe(subscriptionCreated(trialing)), iso(T + DAY));
      // The subscription's own trial runs a day past the registration's.
      sim.advanceTo(iso(T + 14 * DAY + 3));
      expect(sim.status).toBe('early_payment');
      // Its deletion, sent on day 1 and delivered now, puts the trial end back on day 14: passed.
      sim.deliver(
        sim.stripe(subscriptionDeleted(sub('sub_1', T + DAY + 1))),
        iso(T + 14 * DAY + 3),
      );
      expect(nextTimer(sim.state)).toEqual({ timer: 'trial_end', due_at: iso(T + 14 * DAY) });
      sim.advanceTo(iso(T + 14 * DAY + 4));
      expect(sim.decisions.at(-1)?.event.source).toBe('timer');
      expect(sim.status).toBe('active');
    });
  });

  describe('provider evidence undoes a timer', () => {
    const periodEnd = T + 30 * DAY;
    function canceledByTimer(): AccountSim {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      sim.deliver(
        sim.stripe(subscriptionUpdated(sub('sub_1', T + DAY, { cancelAtPeriodEnd: true }))),
      );
      expect(sim.status).toBe('canceling');
      expect(nextTimer(sim.state)).toEqual({
        timer: 'cancel_at_period_end',
        due_at: iso(periodEnd),
      });
      sim.advanceTo(iso(periodEnd + 60));
      expect(sim.status).toBe('canceled');
      expect(sim.decisions.at(-1)?.event.source).toBe('timer');
      expect(sim.decisions.at(-1)?.decision.audit.action).toBe('billing.canceled_at_period_end');
      return sim;
    }

    it('when a withdrawal sent before the period end is delivered after the cancel timer, then the account is active again', () => {
      const sim = canceledByTimer();
      sim.deliver(sim.stripe(subscriptionUpdated(sub('sub_1', periodEnd - DAY))));
      expect(sim.status).toBe('active');
      expect(sim.state?.scheduled_cancel_at).toBeNull();
    });

    it('when the renewal invoice is paid after the cancel timer, then the account is active again', () => {
      const sim = canceledByTimer();
      sim.deliver(sim.stripe(invoicePaid(inv('sub_1', periodEnd + 120))));
      expect(sim.status).toBe('active');
    });

    it('when a newer subscription.updated says active after the cancel timer, then the account is active again', () => {
      const sim = canceledByTimer();
      sim.deliver(
        sim.stripe(
          subscriptionUpdated(
            sub('sub_1', periodEnd + 300, { currentPeriodEnd: periodEnd + 30 * DAY }),
          ),
        ),
      );
      expect(sim.status).toBe('active');
    });
  });

  describe('several subscriptions', () => {
    function baseAndAddOn(): AccountSim {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_base', T))));
      sim.deliver(
        sim.stripe(subscriptionCreated(sub('sub_addon', T + 60, { priceId: 'price_addon' }))),
      );
      return sim;
    }

    it('when the add-on is deleted, then the base plan keeps the account active', () => {
      const sim = baseAndAddOn();
      sim.deliver(sim.stripe(subscriptionDeleted(sub('sub_addon', T + DAY))));
      expect(sim.status).toBe('active');
      expect(sim.state?.stripe_subscription_id).toBe('sub_base');
    });

    it('when a payment of the add-on fails, then the account stays active and linked to the base plan', () => {
      const sim = baseAndAddOn();
      sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_addon', T + DAY))));
      expect(sim.status).toBe('active');
      expect(sim.state?.stripe_subscription_id).toBe('sub_base');
      expect(sim.state?.status_object).toBe('stripe:sub_base');
    });

    it('when the base plan fails too, then the account is past_due, named by the failing subscription', () => {
      const sim = baseAndAddOn();
      sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_addon', T + DAY))));
      sim.deliver(
        sim.stripe(invoicePaymentFailed(inv('sub_base', T + DAY + 1, { invoiceId: 'in_base' }))),
      );
      expect(sim.status).toBe('past_due');
      expect(sim.state?.status_object).toBe('stripe:sub_base');
      expect(sim.state?.status_reason).toBe('payment_failed:in_base');
    });
  });

  describe('one-off invoices', () => {
    it('when a one-off invoice fails for an active subscriber, then the account stays active', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      const d = sim.deliver(sim.stripe(invoicePaymentFailed(inv(null, T + DAY))));
      expect(d.outcome).toBe('ignored');
      expect(sim.status).toBe('active');
    });

    it('when a trial account pays a one-off invoice, then it stays free without a subscription', () => {
      const sim = new AccountSim();
      sim.deliver(sim.register(iso(T + 14 * DAY), iso(T)));
      sim.deliver(sim.stripe(invoicePaid(inv(null, T + DAY))));
      expect(sim.status).toBe('free');
      expect(sim.state?.stripe_subscription_id).toBeNull();
    });
  });

  describe('the rest of the list', () => {
    it('when invoice.paid follows past_due during canceling, then the scheduled cancel and its timer stay', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      sim.deliver(
        sim.stripe(subscriptionUpdated(sub('sub_1', T + DAY, { cancelAtPeriodEnd: true }))),
      );
      sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_1', T + 2 * DAY))));
      expect(sim.status).toBe('past_due');
      sim.deliver(sim.stripe(invoicePaid(inv('sub_1', T + 3 * DAY))));
      expect(sim.status).toBe('canceling');
      expect(sim.state?.scheduled_cancel_at).toBe(iso(T + 30 * DAY));
      expect(nextTimer(sim.state)).toEqual({
        timer: 'cancel_at_period_end',
        due_at: iso(T + 30 * DAY),
      });
    });

    it('when the subscription is paused, then the account is past_due', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      sim.deliver(sim.stripe(subscriptionUpdated(sub('sub_1', T + DAY, { status: 'paused' }))));
      expect(sim.status).toBe('past_due');
    });

    it('when an account is registered with trial_days 0, then it is past_due until a subscription exists', () => {
      const sim = new AccountSim();
      sim.deliver(sim.register(null, iso(T)));
      expect(sim.status).toBe('past_due');
      sim.deliver(
        sim.stripe(
          checkoutSessionCompleted({
            shape,
            customerId,
            subscriptionId: 'sub_1',
            created: T + DAY,
          }),
        ),
      );
      expect(sim.status).toBe('active');
    });

    it('when the first checkout fails during the trial, then the account keeps its trial and becomes past_due only when it ends', () => {
      const trialEnd = T + 14 * DAY;
      const sim = new AccountSim();
      sim.deliver(sim.register(iso(trialEnd), iso(T)));
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T + DAY, { status: 'incomplete' }))));
      sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_1', T + DAY + 2))));
      sim.deliver(
        sim.stripe(
          subscriptionDeleted(sub('sub_1', T + 2 * DAY, { status: 'incomplete_expired' })),
        ),
      );
      expect(sim.status).toBe('free');
      sim.advanceTo(iso(trialEnd + 1));
      expect(sim.status).toBe('past_due');
      expect(sim.decisions.at(-1)?.decision.audit.action).toBe('billing.trial_ended');
    });

    it('when a trialing subscription runs past the registration trial, then the account is early_payment until the subscription trial ends', () => {
      const sim = new AccountSim();
      sim.deliver(sim.register(iso(T + 7 * DAY), iso(T)));
      sim.deliver(
        sim.stripe(
          subscriptionCreated(
            sub('sub_1', T + DAY, { status: 'trialing', trialEnd: T + 14 * DAY }),
          ),
        ),
      );
      sim.advanceTo(iso(T + 8 * DAY));
      expect(sim.status).toBe('early_payment');
      expect(sim.state?.trial_end).toBe(iso(T + 14 * DAY));
      sim.advanceTo(iso(T + 15 * DAY));
      expect(sim.status).toBe('active');
    });
  });

  describe('audit names the provider action', () => {
    it('when a cancel is scheduled, then the audit row is billing.subscription_updated with the cancel fields', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      const d = sim.deliver(
        sim.stripe(subscriptionUpdated(sub('sub_1', T + DAY, { cancelAtPeriodEnd: true }))),
      );
      expect(d.audit.action).toBe('billing.subscription_updated');
      expect(d.audit.details).toMatchObject({
        subscription_id: 'sub_1',
        cancel_at_period_end: true,
        cancel_at: iso(T + 30 * DAY),
        status_object: 'stripe:sub_1',
        status_reason: 'cancel_scheduled',
      });
    });

    it('when a subscription is deleted, then the audit row is billing.subscription_deleted', () => {
      const sim = new AccountSim();
      sim.deliver(sim.stripe(subscriptionCreated(sub('sub_1', T))));
      const d = sim.deliver(sim.stripe(subscriptionDeleted(sub('sub_1', T + DAY))));
      expect(d.audit.action).toBe('billing.subscription_deleted');
    });
  });
});

describe('manual corrections', () => {
  it('when an operator corrects the status, then it holds until newer provider evidence arrives', () => {
    const sim = new AccountSim();
    sim.deliver(sim.stripe(subscriptionCreated({ subscriptionId: 'sub_1', created: T })));
    sim.deliver(sim.stripe(invoicePaymentFailed({ subscriptionId: 'sub_1', created: T + DAY })));
    expect(sim.status).toBe('past_due');
    sim.deliver(
      sim.api(
        {
          kind: 'manual.correction',
          status: 'active',
          reason: 'paid by bank transfer',
          actor: 'ops',
          scheduled_cancel_at: null,
        },
        iso(T + 2 * DAY),
        'manual',
      ),
    );
    expect(sim.status).toBe('active');
    expect(sim.state?.status_object).toBe('manual');
    // Older provider evidence does not override the operator.
    sim.deliver(
      sim.stripe(invoicePaymentFailed({ subscriptionId: 'sub_1', created: T + DAY + 60 })),
    );
    expect(sim.status).toBe('active');
    sim.deliver(
      sim.stripe(invoicePaymentFailed({ subscriptionId: 'sub_1', created: T + 3 * DAY })),
    );
    expect(sim.status).toBe('past_due');
  });
});
