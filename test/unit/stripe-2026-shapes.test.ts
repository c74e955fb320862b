// Stripe as it is in 2026 (SPEC §3 rule 11): flexible billing mode (customer-portal cancels, items
// of different intervals), `customer_account`, and thin event notifications — read by the pure
// normalization and decided by the pure transition. Payloads follow stripe-mock's fixtures3.json
// shapes (test/fixtures/stripe.ts).
import Stripe from 'stripe';

import { foldEvents, whyNotFoldable } from '../../src/domain/fold';
import { normalizeStripeEvent, normalizeThinEvent } from '../../src/domain/normalize-stripe';
import { accountExtras } from '../../src/domain/schedule-evidence';
import {
  fetchedSnapshotEvent,
  isThinNotification,
  readThinNotification,
  snapshotTypeOf,
} from '../../src/domain/stripe/thin';
import { transition } from '../../src/domain/transition';
import type { AccountState, BillingEvent, NormalizedEvent } from '../../src/domain/types';
import * as fx from '../fixtures/stripe';
import {
  mockEntitlementSummary,
  mockEvent,
  mockSubscriptionSchedule,
} from '../fixtures/stripe-mock';
import { signStripePayload } from '../helpers/stripe-signing';
import { thinOf } from '../helpers/stripe-thin';

const OPTS = { pastDueGraceMs: null };
const DAY = 86_400;
const NOW = fx.DEFAULT_CREATED;
const iso = (s: number) => new Date(s * 1000).toISOString();

let seq = 0;
function stored(n: NormalizedEvent, account = 'acct_2026'): BillingEvent {
  seq += 1;
  return {
    event_id: String(seq),
    source: n.source,
    dedupe_key: n.dedupe_key,
    event_type: n.event_type,
    account_id: account,
    occurred_at: n.occurred_at,
    object_key: n.object_key,
    data: n.data,
  };
}

/** The account after the events, each normalized from its payload and folded in order. */
function accountAfter(...events: fx.StripeEventJson[]): AccountState | null {
  const fold = foldEvents(
    null,
    events.map((e) => stored(normalizeStripeEvent(JSON.parse(fx.toBody(e)), OPTS))),
  );
  expect(fold.not_folded).toBeNull();
  return fold.state;
}

const ids = () => ({
  shape: 'basil' as const,
  customerId: fx.stripeId('cus'),
  subscriptionId: fx.stripeId('sub'),
  accountId: `acct_${fx.stripeId('x', 8)}`,
});

/** A flexible-billing subscription (the default since 2025-09-30.clover). */
function flexible(sub: Record<string, unknown>): Record<string, unknown> {
  return {
    ...sub,
    billing_mode: { type: 'flexible', flexible: { proration_discounts: 'included' } },
  };
}

describe('flexible billing mode', () => {
  it('when the customer portal cancels at the period end (cancel_at set, cancel_at_period_end false), then canceling at that time', () => {
    const o = { ...ids(), created: NOW, currentPeriodEnd: NOW + 30 * DAY };
    const created = fx.subscriptionCreated(o);
    const portal = fx.subscriptionUpdated({ ...o, created: NOW + 60, cancelAt: NOW + 30 * DAY });
    portal.data.object = flexible({ ...portal.data.object, cancel_at_period_end: false });
    expect(portal.data.object).toMatchObject({
      cancel_at: NOW + 30 * DAY,
      cancel_at_period_end: false,
    });
    const state = accountAfter(created, portal);
    expect(state).toMatchObject({ status: 'canceling', scheduled_cancel_at: iso(NOW + 30 * DAY) });
  });

  it('when items of different intervals have several period ends and the cancel is at period end, then the cancel time is the latest item period end', () => {
    const o = { ...ids(), created: NOW, currentPeriodEnd: NOW + 30 * DAY };
    const update = fx.subscriptionUpdated({
      ...o,
      created: NOW + 60,
      cancelAtPeriodEnd: true,
      cancelAt: null,
    });
    const sub = update.data.object as { items: { data: Record<string, unknown>[] } };
    const monthly = sub.items.data[0] ?? {};
    const yearly = {
      ...monthly,
      id: fx.stripeId('si', 14),
      current_period_end: NOW + 365 * DAY,
      price: {
        ...(monthly.price as object),
        id: fx.stripeId('price'),
        recurring: { interval: 'year', interval_count: 1 },
      },
    };
    update.data.object = flexible({ ...sub, items: { ...sub.items, data: [monthly, yearly] } });
    const state = accountAfter(fx.subscriptionCreated(o), update);
    expect(state).toMatchObject({ status: 'canceling', scheduled_cancel_at: iso(NOW + 365 * DAY) });
  });

  it('when a flexible subscription is active with no cancel, then active with no scheduled cancel', () => {
    const created = fx.subscriptionCreated(ids());
    created.data.object = flexible(created.data.object);
    expect(accountAfter(created)).toMatchObject({ status: 'active', scheduled_cancel_at: null });
  });
});

describe('customer_account (Accounts v2 on v1 objects)', () => {
  it('when a subscription names its customer by customer_account only, then the acct_… id is the account hint and the link', () => {
    const o = { ...ids(), accountId: undefined };
    const created = fx.subscriptionCreated(o);
    created.data.object = {
      ...created.data.object,
      customer: null,
      customer_account: 'acct_1Nv0FGQ9RKHgCVdK',
    };
    const n = normalizeStripeEvent(JSON.parse(fx.toBody(created)), OPTS);
    expect(n.account_hint.stripe_customer_id).toBe('acct_1Nv0FGQ9RKHgCVdK');
    expect(n.data).toMatchObject({ customer_id: 'acct_1Nv0FGQ9RKHgCVdK' });
  });

  it('when both customer and customer_account are there, then customer is the hint', () => {
    const o = ids();
    const created = fx.subscriptionCreated(o);
    created.data.object = { ...created.data.object, customer_account: 'acct_1Nv0FGQ9RKHgCVdK' };
    expect(normalizeStripeEvent(created, OPTS).account_hint.stripe_customer_id).toBe(o.customerId);
  });
});

describe('thin event notifications', () => {
  const snapshot = fx.subscriptionUpdated({ ...ids(), created: NOW });
  const thin = thinOf(snapshot);

  it("when a thin notification is signed, then stripe-node's parseEventNotification takes it and constructEvent refuses it", () => {
    const header = signStripePayload(thin.body, 'whsec_unit_thin');
    const parser = new Stripe('sk_test_unit');
    expect(parser.parseEventNotification(thin.body, header, 'whsec_unit_thin')).toMatchObject({
      id: thin.id,
      type: 'v1.customer.subscription.updated',
    });
    expect(() => parser.webhooks.constructEvent(thin.body, header, 'whsec_unit_thin')).toThrow();
    expect(isThinNotification(JSON.parse(thin.body))).toBe(true);
    expect(isThinNotification(snapshot)).toBe(false);
  });

  it('when it is stored, then under its own id, waiting: a fold stops at it (thin_event_not_fetched)', () => {
    const n = normalizeThinEvent(readThinNotification(JSON.parse(thin.body)));
    expect(n).toMatchObject({
      dedupe_key: `stripe:${thin.id}`,
      event_type: 'v1.customer.subscription.updated',
      occurred_at: iso(NOW),
      data: { kind: 'stripe.thin_event', related_object: { type: 'subscription' } },
      account_hint: { stripe_subscription_id: String(snapshot.data.object.id) },
    });
    const event = stored(n);
    expect(whyNotFoldable(event)).toBe('thin_event_not_fetched');
    const later = stored(normalizeStripeEvent(snapshot, OPTS));
    const fold = foldEvents(null, [event, later]);
    expect(fold.steps).toHaveLength(0);
    expect(fold.not_folded).toMatchObject({ reason: 'thin_event_not_fetched' });
    // Once its fetch is stored, its own outcome is `duplicate`: the fetched event carries the change.
    expect(transition(null, event)).toMatchObject({
      outcome: 'duplicate',
      audit: { action: 'billing.event_duplicate' },
    });
  });

  it('when its fetch is read, then it is the snapshot event of the same change, at the fetch time', () => {
    const fetchedAt = NOW + 5;
    const envelope = fetchedSnapshotEvent({
      thin: readThinNotification(thin.notification),
      fullEvent: thin.fullEvent,
      object: thin.object,
      fetchedAtSeconds: fetchedAt,
    });
    const n = normalizeStripeEvent(envelope, OPTS);
    expect(n).toMatchObject({
      dedupe_key: `stripe:${snapshot.id}`,
      event_type: 'customer.subscription.updated',
      occurred_at: iso(fetchedAt),
      data: { kind: 'stripe.subscription_updated' },
    });
    expect(snapshotTypeOf('v1.invoice.paid')).toBe('invoice.paid');
    const noSnapshot = fetchedSnapshotEvent({
      thin: readThinNotification(thin.notification),
      fullEvent: { ...thin.fullEvent, snapshot_event: undefined },
      object: thin.object,
      fetchedAtSeconds: fetchedAt,
    });
    expect(noSnapshot.id).toBe(`${thin.id}_fetched`);
  });

  it('when a thin notification lacks its id, type or ISO created, then it is malformed', () => {
    const body = JSON.parse(thin.body) as Record<string, unknown>;
    expect(() => readThinNotification({ ...body, id: 'x' })).toThrow(/id starting with "evt_"/);
    expect(() => readThinNotification({ ...body, type: '' })).toThrow(/needs a type/);
    expect(() => readThinNotification({ ...body, created: 12 })).toThrow(/ISO-8601/);
  });
});

describe('subscription schedules and entitlement summaries are shown, never deciding the status', () => {
  function folded(state: AccountState | null, ...events: fx.StripeEventJson[]) {
    return foldEvents(
      state,
      events.map((e) => stored(normalizeStripeEvent(JSON.parse(fx.toBody(e)), OPTS))),
    );
  }

  it('when a schedule will switch the plan, then the account shows what and when, and its status stays', () => {
    const o = ids();
    const active = accountAfter(fx.subscriptionCreated({ ...o, created: NOW }));
    const schedule = mockSubscriptionSchedule({
      ...o,
      currentPrice: 'price_monthly',
      nextPrice: 'price_yearly',
      startedAt: NOW,
      switchAt: NOW + 30 * DAY,
    });
    const fold = folded(
      active,
      mockEvent('subscription_schedule.created', schedule, NOW + 60, 'basil'),
    );
    expect(fold.steps[0]?.decision).toMatchObject({
      outcome: 'applied',
      audit: { action: 'billing.plan_change_scheduled' },
    });
    expect(fold.state?.status).toBe('active');
    expect(accountExtras(fold.state?.objects)).toEqual({
      pending_plan_change: {
        schedule_id: schedule.id,
        subscription_id: o.subscriptionId,
        plan: 'price_yearly',
        at: iso(NOW + 30 * DAY),
      },
      active_features: null,
    });
    const released = folded(
      fold.state,
      mockEvent(
        'subscription_schedule.released',
        { ...schedule, status: 'released' },
        NOW + 120,
        'basil',
      ),
    );
    expect(accountExtras(released.state?.objects).pending_plan_change).toBeNull();
    expect(released.state?.status).toBe('active');
  });

  it('when an entitlement summary is updated, then the account shows its active feature lookup keys, and its status stays', () => {
    const o = ids();
    const pastDue = accountAfter(
      fx.subscriptionCreated({ ...o, created: NOW }),
      fx.subscriptionUpdated({ ...o, created: NOW + 60, status: 'past_due' }),
    );
    expect(pastDue?.status).toBe('past_due');
    const summary = mockEntitlementSummary(o.customerId, ['export', 'api_access']);
    const event = mockEvent(
      'entitlements.active_entitlement_summary.updated',
      summary,
      NOW + 120,
      'basil',
    );
    const n = normalizeStripeEvent(event, OPTS);
    expect(n.account_hint.stripe_customer_id).toBe(o.customerId);
    const fold = folded(pastDue, event);
    expect(fold.state?.status).toBe('past_due');
    expect(accountExtras(fold.state?.objects).active_features).toEqual(['api_access', 'export']);
    const older = mockEntitlementSummary(o.customerId, []);
    const stale = folded(
      fold.state,
      mockEvent('entitlements.active_entitlement_summary.updated', older, NOW + 90, 'basil'),
    );
    expect(stale.steps[0]?.decision.outcome).toBe('stale');
  });
});
