// Stripe's own lifecycle (SPEC §3 rules 6–10 and the table): sequences Stripe sends every day —
// Checkout, renewals, retries, plan changes, late registrations — in both API shapes, through the
// normalizer and the account loop with its timers. Each `describe` is one case the status used to
// get wrong.
import { decideGate } from '../../src/domain/gate';
import { INVOICES_KEPT } from '../../src/domain/invoice-evidence';
import type { AccountState } from '../../src/domain/types';
import {
  checkoutSessionAsyncPaymentFailed,
  checkoutSessionAsyncPaymentSucceeded,
  checkoutSessionCompleted,
  DEFAULT_CREATED,
  invoiceMarkedUncollectible,
  invoicePaid,
  invoicePaymentFailed,
  invoiceVoided,
  PAYLOAD_SHAPES,
  type PayloadShape,
  type StripeEventJson,
  subscriptionCreated,
  subscriptionDeleted,
  subscriptionPaused,
  subscriptionResumed,
  subscriptionUpdated,
} from '../fixtures/stripe';
import { AccountSim, iso } from '../helpers/account-sim';
import { orders } from '../helpers/orders';

const DAY = 86_400;
const T = DEFAULT_CREATED;
const GRACE_MS = 3 * DAY * 1000;
const customerId = 'cus_lifecycle01';

/** The gate's answer to `confirm` from the account as it stands. */
function confirm(state: AccountState | null, now: number) {
  return decideGate({
    accountId: 'acct_sim',
    action: 'confirm',
    account: state && {
      status: state.status,
      status_since: state.status_since,
      status_event_ref: null,
      grace_until: state.grace_until,
      status_object: state.status_object ?? null,
      status_reason: state.status_reason ?? null,
    },
    gatedActions: ['confirm'],
    overrides: [],
    now: new Date(now * 1000),
  });
}

describe.each(PAYLOAD_SHAPES)("Stripe's own lifecycle (%s payloads)", (shape: PayloadShape) => {
  const sub = (subscriptionId: string, created: number, extra: object = {}) => ({
    shape,
    customerId,
    subscriptionId,
    created,
    currentPeriodStart: T,
    currentPeriodEnd: T + 30 * DAY,
    ...extra,
  });
  const inv = (subscriptionId: string, invoiceId: string, created: number, extra: object = {}) => ({
    shape,
    customerId,
    subscriptionId,
    invoiceId,
    created,
    ...extra,
  });
  const deliverAll = (sim: AccountSim, events: readonly StripeEventJson[]) => {
    for (const e of events) sim.deliver(sim.stripe(e));
  };

  /** A subscription paid on the spot at T, its first invoice `in_first`. */
  function paying(sim: AccountSim, id = 'sub_1'): void {
    deliverAll(sim, [
      subscriptionCreated(sub(id, T, { latestInvoiceId: 'in_first' })),
      invoicePaid(inv(id, 'in_first', T, { billingReason: 'subscription_create' })),
    ]);
  }

  describe('Checkout paid on the spot', () => {
    const checkout = {
      created: subscriptionCreated(
        sub('sub_co', T, { status: 'incomplete', latestInvoiceId: 'in_co' }),
      ),
      paid: invoicePaid(inv('sub_co', 'in_co', T, { billingReason: 'subscription_create' })),
      updated: subscriptionUpdated(
        sub('sub_co', T, {
          latestInvoiceId: 'in_co',
          previousAttributes: { status: 'incomplete' },
        }),
      ),
    };

    it('when customer.subscription.created (incomplete) arrives after invoice.paid and the active update of the same second, then the account is active and may confirm', () => {
      const sim = new AccountSim();
      deliverAll(sim, [checkout.updated, checkout.paid, checkout.created]);
      expect(sim.status).toBe('active');
      expect(confirm(sim.state, T + 60).allowed).toBe(true);
    });

    it.each(orders(['created', 'paid'] as const))(
      'when only %s and %s of one second have arrived (the active update still on its way), then the account is already active',
      (...order) => {
        const sim = new AccountSim();
        deliverAll(
          sim,
          order.map((k) => checkout[k]),
        );
        expect(sim.status).toBe('active');
        expect(sim.state?.status_reason).toBe('invoice_paid:in_co');
      },
    );

    it.each(orders(['created', 'paid', 'updated'] as const))(
      'when the triple arrives as %s, %s, %s, then the account is active, or early_payment in the trial',
      (...order) => {
        const plain = new AccountSim();
        deliverAll(
          plain,
          order.map((k) => checkout[k]),
        );
        expect(plain.status).toBe('active');
        const trial = new AccountSim();
        trial.deliver(trial.register(iso(T + 14 * DAY), iso(T - 60)));
        deliverAll(
          trial,
          order.map((k) => checkout[k]),
        );
        expect(trial.status).toBe('early_payment');
        trial.advanceTo(iso(T + 15 * DAY));
        expect(trial.status).toBe('active');
      },
    );
  });

  describe('a canceled subscription stays canceled', () => {
    it('when an update of the same second is delivered after the deletion, then the account stays canceled for good', () => {
      const sim = new AccountSim();
      paying(sim);
      sim.deliver(sim.stripe(subscriptionDeleted(sub('sub_1', T + 10 * DAY))));
      const late = sim.deliver(
        sim.stripe(subscriptionUpdated(sub('sub_1', T + 10 * DAY, { cancelAtPeriodEnd: true }))),
      );
      expect(late.outcome).toBe('stale');
      expect(late.audit.details.reason).toBe('behind_in_lifecycle');
      sim.advanceTo(iso(T + 60 * DAY));
      expect(sim.status).toBe('canceled');
      expect(confirm(sim.state, T + 60 * DAY).allowed).toBe(false);
    });
  });

  describe('the latest invoice decides', () => {
    /** Renewal 1 (in_r1) fails on day 30 and makes it past_due; renewal 2 (in_r2) fails on day 60. */
    function twoRenewalsFailing(): AccountSim {
      const sim = new AccountSim();
      paying(sim);
      deliverAll(sim, [
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 30 * DAY)),
        subscriptionUpdated(
          sub('sub_1', T + 30 * DAY, { status: 'past_due', latestInvoiceId: 'in_r1' }),
        ),
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 33 * DAY, { invoiceCreated: T + 30 * DAY })),
        // Already past_due: Stripe sends no snapshot for the second renewal's failure.
        invoicePaymentFailed(inv('sub_1', 'in_r2', T + 60 * DAY)),
      ]);
      return sim;
    }

    it('when two renewals fail and the customer pays only the older invoice, then the account stays past_due, named by the newer one', () => {
      const sim = twoRenewalsFailing();
      // Paid from the first dunning e-mail; the latest invoice is still unpaid: no snapshot.
      sim.deliver(
        sim.stripe(
          invoicePaid(inv('sub_1', 'in_r1', T + 61 * DAY, { invoiceCreated: T + 30 * DAY })),
        ),
      );
      expect(sim.status).toBe('past_due');
      expect(sim.state?.status_reason).toBe('payment_failed:in_r2');
      const gate = confirm(sim.state, T + 61 * DAY);
      expect(gate.allowed).toBe(false);
      expect(gate.message).toContain('in_r2');
      expect(gate.provenance?.invoice).toBe('in_r2');
    });

    it('when the newer unpaid invoice is then voided, then it drops out and the paid one makes the account active', () => {
      const sim = twoRenewalsFailing();
      sim.deliver(
        sim.stripe(
          invoicePaid(inv('sub_1', 'in_r1', T + 61 * DAY, { invoiceCreated: T + 30 * DAY })),
        ),
      );
      sim.deliver(
        sim.stripe(
          invoiceVoided(inv('sub_1', 'in_r2', T + 62 * DAY, { invoiceCreated: T + 60 * DAY })),
        ),
      );
      expect(sim.status).toBe('active');
      expect(sim.state?.status_reason).toBe('invoice_paid:in_r1');
    });

    it('when Smart Retries retry an older invoice after the latest renewal was paid, and fail, then the account stays active', () => {
      const sim = new AccountSim();
      paying(sim);
      deliverAll(sim, [
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 30 * DAY)),
        subscriptionUpdated(
          sub('sub_1', T + 30 * DAY, { status: 'past_due', latestInvoiceId: 'in_r1' }),
        ),
        invoicePaid(inv('sub_1', 'in_r2', T + 60 * DAY)),
        subscriptionUpdated(sub('sub_1', T + 60 * DAY, { latestInvoiceId: 'in_r2' })),
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 62 * DAY, { invoiceCreated: T + 30 * DAY })),
      ]);
      expect(sim.status).toBe('active');
      expect(confirm(sim.state, T + 62 * DAY).allowed).toBe(true);
    });

    it('when the latest invoice is marked uncollectible before any snapshot says so, then dunning ends', () => {
      const sim = new AccountSim();
      paying(sim);
      deliverAll(sim, [
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 30 * DAY)),
        subscriptionUpdated(
          sub('sub_1', T + 30 * DAY, { status: 'past_due', latestInvoiceId: 'in_r1' }),
        ),
      ]);
      expect(sim.status).toBe('past_due');
      sim.deliver(
        sim.stripe(
          invoiceMarkedUncollectible(
            inv('sub_1', 'in_r1', T + 45 * DAY, { invoiceCreated: T + 30 * DAY }),
          ),
        ),
      );
      expect(sim.status).toBe('active');
      expect(sim.state?.status_reason).toBe('invoice_uncollectible:in_r1');
    });
  });

  describe('plan changes', () => {
    const failedUpgrade = invoicePaymentFailed(
      inv('sub_1', 'in_up', T + 10 * DAY, { billingReason: 'subscription_update' }),
    );
    const pending = subscriptionUpdated(
      sub('sub_1', T + 10 * DAY, {
        latestInvoiceId: 'in_up',
        pendingUpdate: true,
        previousAttributes: { pending_update: null },
      }),
    );

    it.each([
      ['the failure first', [failedUpgrade, pending]],
      ['the pending update first', [pending, failedUpgrade]],
    ])(
      'when an upgrade with pending_if_incomplete fails its proration invoice (%s), then the account stays active',
      (_label, events) => {
        const sim = new AccountSim();
        paying(sim);
        deliverAll(sim, events);
        expect(sim.status).toBe('active');
        expect(confirm(sim.state, T + 10 * DAY).allowed).toBe(true);
      },
    );

    it("when an upgrade with Stripe's default allow_incomplete fails, then the account is past_due", () => {
      const sim = new AccountSim();
      paying(sim);
      deliverAll(sim, [
        failedUpgrade,
        subscriptionUpdated(
          sub('sub_1', T + 10 * DAY, { status: 'past_due', latestInvoiceId: 'in_up' }),
        ),
      ]);
      expect(sim.status).toBe('past_due');
    });
  });

  describe('late registration', () => {
    it('when the host app registers the account with a trial after Stripe’s first webhook, then the trial counts and its email is kept', () => {
      const sim = new AccountSim();
      sim.deliver(
        sim.stripe(
          subscriptionCreated(
            sub('sub_1', T, { status: 'incomplete', latestInvoiceId: 'in_first' }),
          ),
        ),
      );
      expect(sim.status).toBe('past_due');
      const registered = sim.deliver(
        sim.api(
          {
            kind: 'account.registered',
            trial_end: iso(T + 14 * DAY),
            email: 'taro@example.jp',
            stripe_customer_id: customerId,
            myasp_user_id: null,
          },
          iso(T + 60),
        ),
      );
      expect(registered.outcome).toBe('applied');
      expect(sim.status).toBe('free');
      expect(sim.state).toMatchObject({ email: 'taro@example.jp', trial_end: iso(T + 14 * DAY) });
      expect(confirm(sim.state, T + 120).allowed).toBe(true);
      sim.deliver(
        sim.stripe(
          invoicePaid(
            inv('sub_1', 'in_first', T + 120, {
              billingReason: 'subscription_create',
              invoiceCreated: T,
            }),
          ),
        ),
      );
      expect(sim.status).toBe('early_payment');
      const again = sim.deliver(sim.register(iso(T + 30 * DAY), iso(T + DAY)));
      expect(again.outcome).toBe('ignored');
      expect(sim.state?.trial_end).toBe(iso(T + 14 * DAY));
    });
  });

  describe('corrections across the trial end', () => {
    it.each(['free', 'early_payment'] as const)(
      'when an operator corrects a trial account to %s, then the status is derived again when the trial ends',
      (corrected) => {
        const sim = new AccountSim();
        sim.deliver(sim.register(iso(T + 14 * DAY), iso(T - DAY)));
        paying(sim);
        sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_1', 'in_r1', T + 2 * DAY))));
        expect(sim.status).toBe('past_due');
        sim.deliver(
          sim.api(
            {
              kind: 'manual.correction',
              status: corrected,
              reason: 'goodwill',
              actor: 'ops',
              scheduled_cancel_at: null,
            },
            iso(T + 3 * DAY),
            'manual',
          ),
        );
        expect(sim.status).toBe(corrected);
        sim.advanceTo(iso(T + 14 * DAY + 1));
        expect(sim.status).toBe('past_due');
        expect(sim.state?.status_object).toBe('stripe:sub_1');
      },
    );
  });

  describe('dunning grace per spell', () => {
    function recoveredSpell(recovery: 'snapshot' | 'uncollectible'): AccountSim {
      const sim = new AccountSim({ pastDueGraceMs: GRACE_MS });
      paying(sim);
      deliverAll(sim, [
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 30 * DAY)),
        subscriptionUpdated(
          sub('sub_1', T + 30 * DAY, { status: 'past_due', latestInvoiceId: 'in_r1' }),
        ),
      ]);
      expect(sim.state?.grace_until).toBe(iso(T + 33 * DAY));
      // Recovered: an endpoint that listens to subscription events only, or the invoice written off.
      if (recovery === 'uncollectible') {
        sim.deliver(
          sim.stripe(
            invoiceMarkedUncollectible(
              inv('sub_1', 'in_r1', T + 31 * DAY, { invoiceCreated: T + 30 * DAY }),
            ),
          ),
        );
      }
      sim.deliver(
        sim.stripe(subscriptionUpdated(sub('sub_1', T + 31 * DAY, { latestInvoiceId: 'in_r1' }))),
      );
      expect(sim.status).toBe('active');
      return sim;
    }

    it.each(['snapshot', 'uncollectible'] as const)(
      'when a renewal fails months after an earlier spell was recovered (by %s), then the new spell gets its full grace',
      (recovery) => {
        const sim = recoveredSpell(recovery);
        deliverAll(sim, [
          invoicePaymentFailed(inv('sub_1', 'in_r4', T + 120 * DAY)),
          subscriptionUpdated(
            sub('sub_1', T + 120 * DAY, { status: 'past_due', latestInvoiceId: 'in_r4' }),
          ),
        ]);
        expect(sim.status).toBe('past_due');
        expect(sim.state?.grace_until).toBe(iso(T + 123 * DAY));
        const gate = confirm(sim.state, T + 121 * DAY);
        expect(gate).toMatchObject({ allowed: true, reason: `grace:${iso(T + 123 * DAY)}` });
      },
    );

    it('when a spell goes on with retries and a second renewal, then its grace still counts from its first failure', () => {
      const sim = new AccountSim({ pastDueGraceMs: GRACE_MS });
      paying(sim);
      deliverAll(sim, [
        subscriptionUpdated(
          sub('sub_1', T + 30 * DAY, { status: 'past_due', latestInvoiceId: 'in_r1' }),
        ),
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 30 * DAY)),
        invoicePaymentFailed(inv('sub_1', 'in_r1', T + 32 * DAY, { invoiceCreated: T + 30 * DAY })),
      ]);
      expect(sim.state?.grace_until).toBe(iso(T + 33 * DAY));
      sim.advanceTo(iso(T + 34 * DAY));
      expect(sim.state?.grace_until).toBeNull();
      sim.deliver(sim.stripe(invoicePaymentFailed(inv('sub_1', 'in_r2', T + 60 * DAY))));
      expect(sim.status).toBe('past_due');
      expect(sim.state?.grace_until).toBeNull();
    });
  });

  describe('the first invoice', () => {
    it('when the first invoice (subscription_create) fails in the trial before customer.subscription.created arrives, then the account is free, not past_due', () => {
      const sim = new AccountSim();
      sim.deliver(sim.register(iso(T + 14 * DAY), iso(T - DAY)));
      sim.deliver(
        sim.stripe(
          invoicePaymentFailed(
            inv('sub_1', 'in_first', T, { billingReason: 'subscription_create' }),
          ),
        ),
      );
      expect(sim.status).toBe('free');
      expect(confirm(sim.state, T).allowed).toBe(true);
      sim.deliver(
        sim.stripe(
          subscriptionCreated(
            sub('sub_1', T, { status: 'incomplete', latestInvoiceId: 'in_first' }),
          ),
        ),
      );
      expect(sim.status).toBe('free');
      sim.advanceTo(iso(T + 14 * DAY + 1));
      expect(sim.status).toBe('past_due');
      expect(sim.state?.status_reason).toBe('trial_over');
    });
  });

  describe('send_invoice subscriptions (paid against an invoice, e.g. by bank transfer)', () => {
    const billed = { collectionMethod: 'send_invoice' as const };

    it('when a failure event or an open invoice comes, then nothing starts; a past_due snapshot starts dunning with its grace', () => {
      const sim = new AccountSim({ pastDueGraceMs: GRACE_MS });
      sim.deliver(
        sim.stripe(
          subscriptionCreated(sub('sub_1', T, { ...billed, latestInvoiceId: 'in_first' })),
        ),
      );
      expect(sim.status).toBe('active');
      sim.deliver(
        sim.stripe(
          invoicePaymentFailed(
            inv('sub_1', 'in_first', T + 5 * DAY, {
              ...billed,
              invoiceCreated: T,
              billingReason: 'subscription_create',
            }),
          ),
        ),
      );
      expect(sim.status).toBe('active');
      sim.deliver(
        sim.stripe(
          subscriptionUpdated(
            sub('sub_1', T + 31 * DAY, {
              ...billed,
              status: 'past_due',
              latestInvoiceId: 'in_first',
            }),
          ),
        ),
      );
      expect(sim.status).toBe('past_due');
      expect(sim.state?.grace_until).toBe(iso(T + 34 * DAY));
      sim.deliver(
        sim.stripe(
          invoicePaid(inv('sub_1', 'in_first', T + 32 * DAY, { ...billed, invoiceCreated: T })),
        ),
      );
      expect(sim.status).toBe('active');
    });
  });

  describe('send_invoice: an older invoice paid after the next one was issued', () => {
    it('when the customer pays the older transfer after the renewal invoice was issued, then the spell and its grace still count from the overdue snapshot', () => {
      const billed = { collectionMethod: 'send_invoice' as const };
      const sim = new AccountSim({ pastDueGraceMs: GRACE_MS });
      sim.deliver(
        sim.stripe(
          subscriptionCreated(sub('sub_1', T, { ...billed, latestInvoiceId: 'in_first' })),
        ),
      );
      // Overdue, then the renewal's invoice is issued (only the snapshot names it), then the
      // first one is paid by transfer: the latest is still unpaid, so Stripe sends no snapshot.
      deliverAll(sim, [
        subscriptionUpdated(
          sub('sub_1', T + 31 * DAY, {
            ...billed,
            status: 'past_due',
            latestInvoiceId: 'in_first',
          }),
        ),
        subscriptionUpdated(
          sub('sub_1', T + 31 * DAY + 1, {
            ...billed,
            status: 'past_due',
            latestInvoiceId: 'in_renewal',
          }),
        ),
        invoicePaid(inv('sub_1', 'in_first', T + 31 * DAY + 2, { ...billed, invoiceCreated: T })),
        subscriptionUpdated(
          sub('sub_1', T + 32 * DAY, {
            ...billed,
            status: 'past_due',
            latestInvoiceId: 'in_renewal',
            cancelAt: T + 60 * DAY,
          }),
        ),
      ]);
      expect(sim.status).toBe('past_due');
      expect(sim.state?.grace_until).toBe(iso(T + 34 * DAY));
    });
  });

  describe('Checkout awaiting an asynchronous payment (konbini, bank transfer)', () => {
    const session = { shape, customerId, subscriptionId: 'sub_ko', invoiceId: 'in_ko' };
    const awaiting = [
      subscriptionCreated(sub('sub_ko', T, { status: 'incomplete', latestInvoiceId: 'in_ko' })),
      checkoutSessionCompleted({ ...session, created: T, paymentStatus: 'unpaid' }),
    ];

    it('when the session completes unpaid, then it only links the ids; when the payment comes, then the account is active', () => {
      const sim = new AccountSim();
      deliverAll(sim, awaiting);
      expect(sim.status).toBe('past_due');
      expect(sim.state).toMatchObject({
        stripe_customer_id: customerId,
        stripe_subscription_id: 'sub_ko',
      });
      const paid = sim.deliver(
        sim.stripe(checkoutSessionAsyncPaymentSucceeded({ ...session, created: T + 2 * DAY })),
      );
      expect(paid.audit.action).toBe('billing.checkout_payment_succeeded');
      expect(sim.status).toBe('active');
    });

    it('when the awaited payment fails, then the subscription counts as none (free in the trial)', () => {
      const sim = new AccountSim();
      sim.deliver(sim.register(iso(T + 14 * DAY), iso(T - DAY)));
      deliverAll(sim, awaiting);
      const failed = sim.deliver(
        sim.stripe(checkoutSessionAsyncPaymentFailed({ ...session, created: T + 3 * DAY })),
      );
      expect(failed.audit.action).toBe('billing.checkout_payment_failed');
      expect(sim.status).toBe('free');
      expect(sim.state?.stripe_subscription_id).toBe('sub_ko');
    });

    it.each(orders(['paid', 'updated', 'async'] as const).map((o) => o.join(', ')))(
      'when the payment comes as %s in one second, then the account is active',
      (order) => {
        const later = T + 2 * DAY;
        const events = {
          paid: invoicePaid(
            inv('sub_ko', 'in_ko', later, {
              invoiceCreated: T,
              billingReason: 'subscription_create',
            }),
          ),
          updated: subscriptionUpdated(
            sub('sub_ko', later, {
              latestInvoiceId: 'in_ko',
              previousAttributes: { status: 'incomplete' },
            }),
          ),
          async: checkoutSessionAsyncPaymentSucceeded({ ...session, created: later }),
        };
        const sim = new AccountSim();
        deliverAll(sim, awaiting);
        deliverAll(
          sim,
          order.split(', ').map((k) => events[k as keyof typeof events]),
        );
        expect(sim.status).toBe('active');
      },
    );
  });

  describe('paused subscriptions', () => {
    it('when a paused subscription carries no status_details, then it is dunning; resumed, it is active', () => {
      const sim = new AccountSim();
      paying(sim);
      sim.deliver(sim.stripe(subscriptionPaused(sub('sub_1', T + 40 * DAY))));
      expect(sim.status).toBe('past_due');
      sim.deliver(sim.stripe(subscriptionResumed(sub('sub_1', T + 45 * DAY))));
      expect(sim.status).toBe('active');
    });
  });
});

describe('paused subscriptions told apart by status_details (API 2026-09-30.endive and later)', () => {
  const shape = 'basil' as const;
  const sub = (created: number, extra: object = {}) => ({
    shape,
    customerId,
    subscriptionId: 'sub_p',
    created,
    ...extra,
  });

  function pausedFor(reason: string): AccountSim {
    const sim = new AccountSim({ pastDueGraceMs: GRACE_MS });
    sim.deliver(sim.stripe(subscriptionCreated(sub(T))));
    sim.deliver(sim.stripe(subscriptionPaused(sub(T + 40 * DAY, { pausedReason: reason }))));
    return sim;
  }

  it('when the customer asked for the pause, then the account is stopped', () => {
    const sim = pausedFor('pause_requested');
    expect(sim.status).toBe('stopped');
    expect(sim.state?.status_reason).toBe('pause_requested');
    expect(sim.decisions.at(-1)?.decision.audit.action).toBe('billing.subscription_paused');
  });

  it('when a trial ended without a payment method, then the account is past_due without grace', () => {
    const sim = pausedFor('trial_end_without_payment_method');
    expect(sim.status).toBe('past_due');
    expect(sim.state?.grace_until).toBeNull();
  });

  it('when a payment failure paused it, then it is dunning with the grace of its spell', () => {
    const sim = pausedFor('first_payment_failure');
    expect(sim.status).toBe('past_due');
    expect(sim.state?.grace_until).toBe(iso(T + 43 * DAY));
  });
});

describe('evidence stays bounded', () => {
  it('when a subscription renews monthly for three years, some renewals failing, then the account keeps a few invoices and its state stops growing', () => {
    const sim = new AccountSim({ pastDueGraceMs: GRACE_MS });
    const size = () => JSON.stringify(sim.state).length;
    sim.deliver(
      sim.stripe(subscriptionCreated({ subscriptionId: 'sub_b', customerId, created: T })),
    );
    const sizes: number[] = [];
    for (let month = 1; month <= 36; month += 1) {
      const created = T + month * 30 * DAY;
      const o = { subscriptionId: 'sub_b', customerId, invoiceId: `in_b${month}`, created };
      if (month % 5 === 0) {
        sim.deliver(sim.stripe(invoicePaymentFailed(o)));
        sim.deliver(
          sim.stripe(invoicePaid({ ...o, created: created + 2 * DAY, invoiceCreated: created })),
        );
      } else {
        sim.deliver(sim.stripe(invoicePaid(o)));
      }
      sizes.push(size());
    }
    expect(sim.status).toBe('active');
    const kept = Object.keys(sim.state?.objects?.subscriptions.sub_b?.invoices ?? {});
    expect(kept).toEqual(['in_b31', 'in_b32', 'in_b33', 'in_b34', 'in_b35', 'in_b36']);
    expect(kept.length).toBe(INVOICES_KEPT);
    // After the first few months each renewal replaces the oldest: the state no longer grows.
    expect(Math.max(...sizes.slice(12))).toBeLessThanOrEqual(Math.max(...sizes.slice(6, 12)) + 16);
  });
});
