import fs from 'node:fs';
import path from 'node:path';

import Stripe from 'stripe';

import { AppError } from '../../src/domain/errors';
import {
  HANDLED_STRIPE_EVENT_TYPES,
  normalizeStripeEvent,
  type NormalizeStripeOptions,
} from '../../src/domain/normalize-stripe';
import type { EventData, NormalizedEvent } from '../../src/domain/types';
import * as fx from '../fixtures/stripe';
import { signStripePayload, stripeV1Signature } from '../helpers/stripe-signing';

const OPTS: NormalizeStripeOptions = { pastDueGraceMs: 3 * 24 * 3600 * 1000 };
const CREATED = 1_767_225_600; // 2026-01-01T00:00:00Z
const CREATED_ISO = '2026-01-01T00:00:00.000Z';

/** Round-trips through the raw body, as the webhook route will. */
function normalize(event: fx.StripeEventJson, opts = OPTS): NormalizedEvent {
  return normalizeStripeEvent(JSON.parse(fx.toBody(event)), opts);
}

function dataOf<K extends EventData['kind']>(
  n: NormalizedEvent,
  kind: K,
): Extract<EventData, { kind: K }> {
  expect(n.data.kind).toBe(kind);
  return n.data as Extract<EventData, { kind: K }>;
}

function objectOf(event: fx.StripeEventJson): Record<string, unknown> {
  return event.data.object;
}

interface Ids {
  shape: fx.PayloadShape;
  eventId: string;
  customerId: string;
  subscriptionId: string;
  accountId?: string;
  created: number;
}

interface HandledCase {
  type: string;
  kind: EventData['kind'];
  build: (ids: Ids) => fx.StripeEventJson;
}

const HANDLED_CASES: HandledCase[] = [
  {
    type: 'checkout.session.completed',
    kind: 'stripe.subscription_started',
    build: (ids) => fx.checkoutSessionCompleted(ids),
  },
  {
    type: 'customer.subscription.created',
    kind: 'stripe.subscription_started',
    build: (ids) => fx.subscriptionCreated(ids),
  },
  {
    type: 'customer.subscription.updated',
    kind: 'stripe.subscription_updated',
    build: (ids) => fx.subscriptionUpdated({ ...ids, cancelAtPeriodEnd: true }),
  },
  {
    type: 'customer.subscription.deleted',
    kind: 'stripe.subscription_deleted',
    build: (ids) => fx.subscriptionDeleted(ids),
  },
  {
    type: 'invoice.payment_failed',
    kind: 'stripe.payment_failed',
    build: (ids) => fx.invoicePaymentFailed(ids),
  },
  { type: 'invoice.paid', kind: 'stripe.payment_succeeded', build: (ids) => fx.invoicePaid(ids) },
  {
    type: 'invoice.payment_succeeded',
    kind: 'stripe.payment_succeeded',
    build: (ids) => fx.invoicePaymentSucceeded(ids),
  },
  { type: 'invoice.voided', kind: 'stripe.invoice_closed', build: (ids) => fx.invoiceVoided(ids) },
  {
    type: 'invoice.marked_uncollectible',
    kind: 'stripe.invoice_closed',
    build: (ids) => fx.invoiceMarkedUncollectible(ids),
  },
  {
    type: 'customer.subscription.paused',
    kind: 'stripe.subscription_updated',
    build: (ids) => fx.subscriptionPaused(ids),
  },
  {
    type: 'customer.subscription.resumed',
    kind: 'stripe.subscription_updated',
    build: (ids) => fx.subscriptionResumed(ids),
  },
  {
    type: 'checkout.session.async_payment_succeeded',
    kind: 'stripe.subscription_started',
    build: (ids) => fx.checkoutSessionAsyncPaymentSucceeded(ids),
  },
  {
    type: 'checkout.session.async_payment_failed',
    kind: 'stripe.subscription_started',
    build: (ids) => fx.checkoutSessionAsyncPaymentFailed(ids),
  },
];

const SHAPE_X_TYPE = fx.PAYLOAD_SHAPES.flatMap((shape) =>
  HANDLED_CASES.map((c) => ({ shape, ...c })),
);

function idsFor(shape: fx.PayloadShape): Ids {
  return {
    shape,
    eventId: fx.stripeId('evt'),
    customerId: fx.stripeId('cus', 14),
    subscriptionId: fx.stripeId('sub'),
    accountId: 'acct-42',
    created: CREATED,
  };
}

describe('normalizeStripeEvent: every handled type in both payload shapes', () => {
  it('when the table is read, then it covers every handled type', () => {
    expect(new Set(HANDLED_CASES.map((c) => c.type))).toEqual(new Set(HANDLED_STRIPE_EVENT_TYPES));
  });

  it('when the deploy guide lists the events to send the Stripe endpoint, then they are exactly the handled types', () => {
    const guide = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'deploy.md'), 'utf8');
    const section = guide.split('## The Stripe webhook endpoint')[1]?.split('\n## ')[0] ?? '';
    const listed = [...section.matchAll(/`((?:checkout|customer|invoice)\.[a-z_.]+)`/g)].map(
      (m) => m[1],
    );
    expect(new Set(listed)).toEqual(new Set(HANDLED_STRIPE_EVENT_TYPES));
  });

  it.each(SHAPE_X_TYPE)(
    'when a $shape $type arrives, then it becomes $kind with its links and object key',
    ({ shape, type, kind, build }) => {
      const ids = idsFor(shape);
      const event = build(ids);
      expect(event.api_version).toBe(fx.API_VERSIONS[shape]);

      const n = normalize(event);

      expect(n).toMatchObject({
        source: 'stripe',
        dedupe_key: `stripe:${ids.eventId}`,
        event_type: type,
        occurred_at: CREATED_ISO,
        object_key: `stripe:${ids.subscriptionId}`,
        account_hint: {
          explicit_account_id: 'acct-42',
          stripe_customer_id: ids.customerId,
          myasp_user_id: null,
        },
      });
      expect(n.data).toMatchObject({
        kind,
        customer_id: ids.customerId,
        subscription_id: ids.subscriptionId,
      });
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s subscription event arrives, then plan is the price id and amount is unit × quantity',
    (shape) => {
      const event = fx.subscriptionCreated({
        shape,
        priceId: 'price_pro_monthly',
        lookupKey: 'pro_monthly',
        nickname: 'Pro',
        unitAmount: 1980,
        quantity: 3,
      });
      const data = dataOf(normalize(event), 'stripe.subscription_started');
      expect(data).toMatchObject({
        stripe_type: 'customer.subscription.created',
        subscription_status: 'active',
        plan: 'price_pro_monthly',
        amount: 5940,
      });
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s subscription has a price without unit_amount, then amount is null',
    (shape) => {
      const data = dataOf(
        normalize(fx.subscriptionCreated({ shape, unitAmount: null })),
        'stripe.subscription_started',
      );
      expect(data.amount).toBeNull();
    },
  );
});

describe('what the latest-invoice rule reads (SPEC §3 rule 7), in both payload shapes', () => {
  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice event arrives, then its id, own created, billing_reason and collection_method are kept',
    (shape) => {
      const data = dataOf(
        normalize(
          fx.invoicePaymentFailed({
            shape,
            invoiceId: 'in_renewal',
            created: CREATED + 3 * 86_400,
            invoiceCreated: CREATED,
            billingReason: 'subscription_update',
            collectionMethod: 'send_invoice',
          }),
        ),
        'stripe.payment_failed',
      );
      expect(data).toMatchObject({
        invoice_id: 'in_renewal',
        invoice_created: CREATED_ISO,
        billing_reason: 'subscription_update',
        collection_method: 'send_invoice',
      });
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice is voided or marked uncollectible, then it is closed as that',
    (shape) => {
      const voided = dataOf(normalize(fx.invoiceVoided({ shape })), 'stripe.invoice_closed');
      expect(voided.closed_as).toBe('void');
      const written = dataOf(
        normalize(fx.invoiceMarkedUncollectible({ shape })),
        'stripe.invoice_closed',
      );
      expect(written.closed_as).toBe('uncollectible');
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s subscription shows its latest invoice, a pending update and send_invoice, then all three are kept',
    (shape) => {
      const data = dataOf(
        normalize(
          fx.subscriptionUpdated({
            shape,
            latestInvoiceId: 'in_upgrade',
            pendingUpdate: true,
            collectionMethod: 'send_invoice',
            previousAttributes: { pending_update: null },
          }),
        ),
        'stripe.subscription_updated',
      );
      expect(data).toMatchObject({
        latest_invoice: 'in_upgrade',
        pending_update: true,
        collection_method: 'send_invoice',
        past_due_grace_ms: OPTS.pastDueGraceMs,
      });
      const plain = dataOf(
        normalize(fx.subscriptionUpdated({ shape })),
        'stripe.subscription_updated',
      );
      expect(plain.pending_update).toBe(false);
    },
  );

  it('when a paused subscription carries status_details, then why it is paused is kept; without them it is null', () => {
    const requested = dataOf(
      normalize(fx.subscriptionPaused({ shape: 'basil', pausedReason: 'pause_requested' })),
      'stripe.subscription_updated',
    );
    expect(requested).toMatchObject({
      subscription_status: 'paused',
      paused_reason: 'pause_requested',
    });
    const legacy = dataOf(
      normalize(fx.subscriptionPaused({ shape: 'legacy', pausedReason: 'pause_requested' })),
      'stripe.subscription_updated',
    );
    expect(legacy.paused_reason).toBeNull();
  });

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s checkout session completes, then its first invoice and its own created are kept with its payment status',
    (shape) => {
      const data = dataOf(
        normalize(
          fx.checkoutSessionCompleted({ shape, invoiceId: 'in_first', paymentStatus: 'unpaid' }),
        ),
        'stripe.subscription_started',
      );
      expect(data).toMatchObject({
        invoice_id: 'in_first',
        payment_status: 'unpaid',
        session_created: new Date((CREATED - 120) * 1000).toISOString(),
      });
    },
  );
});

describe('cancel_at from both period-end locations', () => {
  const periodEnd = CREATED + 31 * 86_400;
  const periodEndIso = new Date(periodEnd * 1000).toISOString();

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s update has only cancel_at_period_end, then cancel_at is the period end',
    (shape) => {
      const event = fx.subscriptionUpdated({
        shape,
        cancelAtPeriodEnd: true,
        cancelAt: null,
        currentPeriodEnd: periodEnd,
      });
      const sub = objectOf(event);
      if (shape === 'legacy') expect(sub.current_period_end).toBe(periodEnd);
      else expect(sub).not.toHaveProperty('current_period_end');

      const data = dataOf(normalize(event), 'stripe.subscription_updated');
      expect(data).toMatchObject({ subscription_status: 'active', cancel_at: periodEndIso });
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s update carries cancel_at_period_end and the cancel_at Stripe fills in, then cancel_at is that time',
    (shape) => {
      const event = fx.subscriptionUpdated({
        shape,
        cancelAtPeriodEnd: true,
        currentPeriodEnd: periodEnd,
      });
      expect(objectOf(event).cancel_at).toBe(periodEnd);
      expect(dataOf(normalize(event), 'stripe.subscription_updated').cancel_at).toBe(periodEndIso);
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s update sets cancel_at before the period end, then cancel_at wins',
    (shape) => {
      const cancelAt = CREATED + 10 * 86_400;
      const event = fx.subscriptionUpdated({ shape, cancelAt, currentPeriodEnd: periodEnd });
      expect(dataOf(normalize(event), 'stripe.subscription_updated').cancel_at).toBe(
        new Date(cancelAt * 1000).toISOString(),
      );
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s update withdraws the cancel, then cancel_at is null',
    (shape) => {
      const event = fx.subscriptionUpdated({ shape });
      expect(objectOf(event)).toMatchObject({ cancel_at: null, cancel_at_period_end: false });
      expect(event.data.previous_attributes).toMatchObject({ cancel_at_period_end: true });
      expect(dataOf(normalize(event), 'stripe.subscription_updated').cancel_at).toBeNull();
    },
  );

  it.each(['past_due', 'unpaid'])(
    'when an update moves the subscription to %s, then the status is carried and no cancel is scheduled',
    (status) => {
      const data = dataOf(
        normalize(fx.subscriptionUpdated({ status })),
        'stripe.subscription_updated',
      );
      expect(data).toMatchObject({ subscription_status: status, cancel_at: null });
    },
  );

  it('when a basil subscription has items ending at different times, then the latest end is used', () => {
    const event = fx.subscriptionUpdated({ cancelAtPeriodEnd: true, cancelAt: null });
    const items = (objectOf(event).items as { data: Record<string, unknown>[] }).data;
    const later = CREATED + 365 * 86_400;
    items.push({ ...items[0], id: 'si_yearly', current_period_end: later });
    expect(dataOf(normalize(event), 'stripe.subscription_updated').cancel_at).toBe(
      new Date(later * 1000).toISOString(),
    );
  });

  it('when a legacy payload carries both the top-level and item periods, then the top-level one is used', () => {
    const event = fx.subscriptionUpdated({
      shape: 'legacy',
      cancelAtPeriodEnd: true,
      cancelAt: null,
      currentPeriodEnd: periodEnd,
    });
    const items = (objectOf(event).items as { data: Record<string, unknown>[] }).data;
    items[0]!.current_period_end = periodEnd + 999;
    expect(dataOf(normalize(event), 'stripe.subscription_updated').cancel_at).toBe(periodEndIso);
  });
});

describe('invoices', () => {
  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s payment fails, then amount is amount_due and the configured grace is stamped',
    (shape) => {
      const event = fx.invoicePaymentFailed({ shape, amountDue: 2178, priceId: 'price_pro' });
      const data = dataOf(normalize(event, { pastDueGraceMs: 1000 }), 'stripe.payment_failed');
      expect(data).toMatchObject({ amount: 2178, plan: 'price_pro', past_due_grace_ms: 1000 });
      const noGrace = dataOf(normalize(event, { pastDueGraceMs: null }), 'stripe.payment_failed');
      expect(noGrace.past_due_grace_ms).toBeNull();
    },
  );

  it.each(fx.PAYLOAD_SHAPES)('when a %s invoice is paid, then amount is amount_paid', (shape) => {
    const event = fx.invoicePaid({ shape, unitAmount: 1980, quantity: 2 });
    expect(objectOf(event).amount_paid).toBe(3960);
    expect(dataOf(normalize(event), 'stripe.payment_succeeded').amount).toBe(3960);
  });

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice has proration lines first, then plan is the first regular line price',
    (shape) => {
      const event = fx.invoicePaid({
        shape,
        lines: [
          { priceId: 'price_old', amount: -990, proration: true },
          { priceId: 'price_new', amount: 2980 },
        ],
      });
      expect(dataOf(normalize(event), 'stripe.payment_succeeded').plan).toBe('price_new');
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice has no subscription, then the object key is the invoice',
    (shape) => {
      const event = fx.invoicePaid({ shape, subscriptionId: null, invoiceId: 'in_oneoff' });
      const n = normalize(event);
      expect(n.object_key).toBe('stripe:in_oneoff');
      expect(dataOf(n, 'stripe.payment_succeeded').subscription_id).toBeNull();
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice names its subscription only on its lines, then the lines are used',
    (shape) => {
      const event = fx.invoicePaid({ shape, subscriptionId: 'sub_fromlines' });
      const invoice = objectOf(event);
      if (shape === 'basil') invoice.parent = null;
      else invoice.subscription = null;
      const n = normalize(event);
      expect(n.object_key).toBe('stripe:sub_fromlines');
      expect(dataOf(n, 'stripe.payment_succeeded').subscription_id).toBe('sub_fromlines');
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice has no lines, then its own subscription field is used',
    (shape) => {
      const event = fx.invoicePaid({ shape, subscriptionId: 'sub_top' });
      const invoice = objectOf(event);
      invoice.lines = { object: 'list', data: [], has_more: false, total_count: 0, url: '/v1/x' };
      if (shape === 'basil') expect(invoice).not.toHaveProperty('subscription');
      else expect(invoice).not.toHaveProperty('parent');
      const n = normalize(event);
      expect(n.object_key).toBe('stripe:sub_top');
      expect(dataOf(n, 'stripe.payment_succeeded')).toMatchObject({
        subscription_id: 'sub_top',
        plan: null,
      });
    },
  );

  it('when a legacy invoice has its subscription expanded, then its id and metadata are used', () => {
    const event = fx.invoicePaid({ shape: 'legacy' });
    const invoice = objectOf(event);
    invoice.subscription = fx.subscriptionObject({
      shape: 'legacy',
      subscriptionId: 'sub_expanded',
      accountId: 'acct-from-sub',
    });
    invoice.subscription_details = null;
    const n = normalize(event);
    expect(n.object_key).toBe('stripe:sub_expanded');
    expect(n.account_hint.explicit_account_id).toBe('acct-from-sub');
  });
});

describe('checkout sessions', () => {
  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s subscription checkout completes, then status is unknown and amount is amount_total',
    (shape) => {
      const event = fx.checkoutSessionCompleted({ shape, amountTotal: 1980 });
      const data = dataOf(normalize(event), 'stripe.subscription_started');
      expect(data).toMatchObject({
        stripe_type: 'checkout.session.completed',
        subscription_status: null,
        plan: null,
        amount: 1980,
      });
    },
  );

  it('when the session has its subscription expanded, then status, plan and amount come from it', () => {
    const event = fx.checkoutSessionCompleted({ amountTotal: 0 });
    objectOf(event).subscription = fx.subscriptionObject({
      subscriptionId: 'sub_expanded',
      status: 'trialing',
      priceId: 'price_pro',
      unitAmount: 2980,
    });
    const n = normalize(event);
    expect(n.object_key).toBe('stripe:sub_expanded');
    expect(dataOf(n, 'stripe.subscription_started')).toMatchObject({
      subscription_id: 'sub_expanded',
      subscription_status: 'trialing',
      plan: 'price_pro',
      amount: 2980,
    });
  });

  it.each([
    { mode: 'payment' as const, subscriptionId: undefined },
    { mode: 'subscription' as const, subscriptionId: null },
  ])(
    'when a $mode checkout has no subscription, then it is unhandled but the account can still be found',
    ({ mode, subscriptionId }) => {
      const event = fx.checkoutSessionCompleted({
        mode,
        subscriptionId,
        customerId: 'cus_pay',
        clientReferenceId: 'acct-7',
      });
      const n = normalize(event);
      expect(n.data).toEqual({ kind: 'unhandled' });
      expect(n.object_key).toBeNull();
      expect(n.account_hint).toEqual({
        explicit_account_id: 'acct-7',
        stripe_customer_id: 'cus_pay',
        myasp_user_id: null,
      });
    },
  );
});

describe('account hint precedence: metadata > client_reference_id > customer', () => {
  it.each(fx.PAYLOAD_SHAPES)('when a %s checkout has both, then metadata wins', (shape) => {
    const event = fx.checkoutSessionCompleted({
      shape,
      accountId: 'acct-meta',
      clientReferenceId: 'acct-ref',
      customerId: 'cus_1',
    });
    expect(normalize(event).account_hint).toEqual({
      explicit_account_id: 'acct-meta',
      stripe_customer_id: 'cus_1',
      myasp_user_id: null,
    });
  });

  it('when a checkout has only client_reference_id, then it is the explicit account', () => {
    const event = fx.checkoutSessionCompleted({
      clientReferenceId: 'acct-ref',
      customerId: 'cus_1',
    });
    expect(normalize(event).account_hint.explicit_account_id).toBe('acct-ref');
  });

  it.each(HANDLED_CASES)(
    'when a $type carries no account id, then only the customer is hinted',
    ({ build }) => {
      const n = normalize(build({ ...idsFor('basil'), accountId: undefined }));
      expect(n.account_hint.explicit_account_id).toBeNull();
      expect(n.account_hint.stripe_customer_id).toMatch(/^cus_/);
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice has account_id on itself and on its subscription snapshot, then its own wins',
    (shape) => {
      const event = fx.invoicePaid({
        shape,
        accountId: 'acct-snapshot',
        invoiceMetadata: { account_id: 'acct-invoice' },
      });
      expect(normalize(event).account_hint.explicit_account_id).toBe('acct-invoice');
    },
  );

  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s invoice has account_id only in the subscription snapshot, then it is found',
    (shape) => {
      const event = fx.invoicePaymentFailed({ shape, accountId: 'acct-snapshot' });
      const invoice = objectOf(event);
      if (shape === 'basil') {
        expect(invoice).not.toHaveProperty('subscription_details');
        expect(invoice.parent).toMatchObject({
          subscription_details: { metadata: { account_id: 'acct-snapshot' } },
        });
      } else {
        expect(invoice.subscription_details).toEqual({ metadata: { account_id: 'acct-snapshot' } });
      }
      expect(normalize(event).account_hint.explicit_account_id).toBe('acct-snapshot');
    },
  );

  it.each(HANDLED_CASES)(
    'when a $type has its customer expanded, then the customer id is still read',
    ({ build }) => {
      const event = build(idsFor('legacy'));
      objectOf(event).customer = fx.customerObject({ customerId: 'cus_expanded' });
      const n = normalize(event);
      expect(n.account_hint.stripe_customer_id).toBe('cus_expanded');
      expect(n.data).toMatchObject({ customer_id: 'cus_expanded' });
    },
  );

  it('when account_id has surrounding spaces or is blank, then it is trimmed or ignored', () => {
    const padded = fx.subscriptionCreated({ accountId: '  acct-9 ' });
    expect(normalize(padded).account_hint.explicit_account_id).toBe('acct-9');
    const blank = fx.subscriptionCreated({ accountId: '   ' });
    expect(normalize(blank).account_hint.explicit_account_id).toBeNull();
  });
});

describe('types we do not interpret', () => {
  it.each(fx.PAYLOAD_SHAPES)(
    'when a %s customer.updated arrives, then it is unhandled with the customer hinted',
    (shape) => {
      const event = fx.customerUpdated({ shape, customerId: 'cus_u', accountId: 'acct-c' });
      const n = normalize(event);
      expect(n).toEqual({
        source: 'stripe',
        dedupe_key: `stripe:${event.id}`,
        event_type: 'customer.updated',
        occurred_at: CREATED_ISO,
        object_key: null,
        data: { kind: 'unhandled' },
        account_hint: {
          explicit_account_id: 'acct-c',
          stripe_customer_id: 'cus_u',
          myasp_user_id: null,
        },
      });
    },
  );

  it('when a product.created arrives, then it is unhandled with no hint', () => {
    const n = normalize(fx.productCreated());
    expect(n.data).toEqual({ kind: 'unhandled' });
    expect(n.object_key).toBeNull();
    expect(n.account_hint).toEqual({
      explicit_account_id: null,
      stripe_customer_id: null,
      myasp_user_id: null,
    });
  });

  it.each(['constructor', '__proto__', 'toString', 'customer.subscription.pending_update_applied'])(
    'when the type is %s, then it is unhandled',
    (type) => {
      const event = { ...fx.subscriptionCreated(), type };
      expect(normalize(event).data).toEqual({ kind: 'unhandled' });
    },
  );
});

describe('malformed events', () => {
  function expectMalformed(event: unknown): void {
    let thrown: unknown;
    try {
      normalizeStripeEvent(event, OPTS);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect(thrown).toMatchObject({ code: 'malformed_event', status: 400 });
    expect((thrown as AppError).message).toMatch(/\.$/);
  }

  const valid = (): Record<string, unknown> =>
    JSON.parse(fx.toBody(fx.subscriptionCreated())) as Record<string, unknown>;

  it.each([null, 42, 'evt_1', [], [fx.subscriptionCreated()]])(
    'when the body is %p, then it is malformed_event',
    (body) => expectMalformed(body),
  );

  it.each<[string, (e: Record<string, unknown>) => void]>([
    ['id is missing', (e) => delete e.id],
    ['id does not start with evt_', (e) => (e.id = 'sub_123')],
    ['id is a number', (e) => (e.id = 123)],
    ['type is missing', (e) => delete e.type],
    ['type is empty', (e) => (e.type = '')],
    ['data is missing', (e) => delete e.data],
    ['data.object is missing', (e) => (e.data = {})],
    ['data.object is an array', (e) => (e.data = { object: [] })],
    ['created is missing', (e) => delete e.created],
    ['created is fractional', (e) => (e.created = 1767225600.5)],
    ['created is a string', (e) => (e.created = '1767225600')],
    ['created is in milliseconds beyond any date', (e) => (e.created = 9e15)],
    ['created is negative', (e) => (e.created = -1)],
  ])('when %s, then it is malformed_event', (_name, mutate) => {
    const event = valid();
    mutate(event);
    expectMalformed(event);
  });

  it('when a subscription event carries an invoice, then it is malformed_event', () => {
    const event = fx.invoicePaid();
    expectMalformed({ ...event, type: 'customer.subscription.updated' });
  });

  it('when a handled object has no id, then it is malformed_event', () => {
    const event = fx.invoicePaid();
    delete objectOf(event).id;
    expectMalformed(event);
  });

  it('when a subscription update has no status, then it is malformed_event', () => {
    const event = fx.subscriptionUpdated();
    delete objectOf(event).status;
    expectMalformed(event);
  });

  it('when cancel_at_period_end is set but no period end exists, then it is malformed_event', () => {
    const event = fx.subscriptionUpdated({ cancelAtPeriodEnd: true, cancelAt: null });
    const items = (objectOf(event).items as { data: Record<string, unknown>[] }).data;
    delete items[0]!.current_period_end;
    expectMalformed(event);
  });
});

describe('stripe-signing helper against the real stripe package', () => {
  const secret = 'whsec_test_primary';
  const body = fx.toBody(fx.invoicePaid());
  const now = () => Math.floor(Date.now() / 1000);

  it('when a body is signed by the helper, then constructEvent accepts it', () => {
    const header = signStripePayload(body, secret);
    const event = Stripe.webhooks.constructEvent(body, header, secret);
    expect(event.type).toBe('invoice.paid');
  });

  it('when the body is tampered with, then constructEvent rejects it', () => {
    const header = signStripePayload(body, secret);
    const tampered = body.replace('"amount_paid": 1980', '"amount_paid": 1');
    expect(tampered).not.toBe(body);
    expect(() => Stripe.webhooks.constructEvent(tampered, header, secret)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
  });

  it('when signed with another secret, then constructEvent rejects it', () => {
    const header = signStripePayload(body, 'whsec_someone_else');
    expect(() => Stripe.webhooks.constructEvent(body, header, secret)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
  });

  it('when two secrets sign one header (rotation), then either secret verifies it', () => {
    const header = signStripePayload(body, 'whsec_new', { extraSecrets: ['whsec_old'] });
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(() => Stripe.webhooks.constructEvent(body, header, 'whsec_new')).not.toThrow();
    expect(() => Stripe.webhooks.constructEvent(body, header, 'whsec_old')).not.toThrow();
  });

  it('when the valid v1 comes after bogus ones, then it is still accepted', () => {
    const header = signStripePayload(body, secret, { extraV1: ['0'.repeat(64)], validLast: true });
    expect(header).toMatch(/^t=\d+,v1=0{64},v1=[0-9a-f]{64}$/);
    expect(() => Stripe.webhooks.constructEvent(body, header, secret)).not.toThrow();
  });

  it('when the timestamp is older than the tolerance, then constructEvent rejects it', () => {
    const header = signStripePayload(body, secret, { timestamp: now() - 600 });
    expect(() => Stripe.webhooks.constructEvent(body, header, secret, 300)).toThrow(
      /Timestamp outside the tolerance zone/,
    );
  });

  it('when the timestamp is in the future, then the header carries it (stripe-node itself only rejects old ones)', () => {
    const future = now() + 3600;
    const header = signStripePayload(body, secret, { timestamp: future });
    expect(header.startsWith(`t=${future},`)).toBe(true);
    // The route must reject future timestamps itself (SPEC §9); stripe-node does not.
    expect(() => Stripe.webhooks.constructEvent(body, header, secret, 300)).not.toThrow();
  });

  it('when a v1 is computed for a given timestamp, then it matches the one in the header', () => {
    const t = 1_767_225_600;
    expect(signStripePayload(body, secret, { timestamp: t })).toBe(
      `t=${t},v1=${stripeV1Signature(body, secret, t)}`,
    );
  });

  it('when the timestamp is zero, then the helper refuses rather than signing "now"', () => {
    expect(() => signStripePayload(body, secret, { timestamp: 0 })).toThrow(/positive/);
  });
});
