// A small model of Stripe's subscription lifecycle and of MyASP's status posts, for property tests
// of the domain: it generates what each object really is (the truth) and the events Stripe and
// MyASP would send about it, and a delivery order for them (shuffled, some twice). Used by the
// derived-status property and the read-your-writes property.
import fc from 'fast-check';

import type { BillingEvent, Status } from '../../src/domain/types';
import {
  DEFAULT_CREATED,
  invoicePaid,
  invoicePaymentFailed,
  type PayloadShape,
  subscriptionCreated,
  subscriptionDeleted,
  subscriptionUpdated,
} from '../fixtures/stripe';
import { mockEvent, mockInvoice, mockSubscription } from '../fixtures/stripe-mock';
import { type AccountSim, iso } from './account-sim';

export const DAY = 86_400;
export const T0 = DEFAULT_CREATED;
export const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 3000);
// A failure prints its seed and path: FC_SEED=<seed> FC_PATH=<path> replays exactly that case.
export const REPLAY = process.env.FC_SEED
  ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH, endOnFailure: true }
  : {};

// ---------------------------------------------------------------------------------------------
// The model: what each object really is

type SubStatus =
  'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'paused' | 'canceled';

interface TrueSub {
  id: string;
  status: SubStatus;
  cancelAt: number | null;
  trialEnd: number | null;
  periodEnd: number;
  lastAt: number;
}

/** Which payload builder and API shape: hand-written fixtures, or Stripe's own (stripe-mock). */
export type Variant = { shape: PayloadShape; stripeMock: boolean };

export interface Emitted {
  /** How to build the event for the simulator. */
  build: (sim: AccountSim, v: Variant) => BillingEvent;
  label: string;
  created: number;
}

type Action =
  | { kind: 'create'; start: 'active' | 'trialing' | 'incomplete'; trialDays: number; dt: number }
  | {
      kind: 'pay' | 'fail' | 'cancel' | 'withdraw' | 'delete' | 'pause' | 'resume' | 'expire';
      sub: number;
      dt: number;
    }
  | { kind: 'oneOff'; paid: boolean; dt: number }
  | { kind: 'myasp'; code: '1' | '2' | '3' | '4'; dt: number };

export interface Scenario {
  trialDays: number | null;
  actions: Action[];
  tail: number;
}

export class World {
  now = T0;
  subs: TrueSub[] = [];
  membership: { code: '1' | '2' | '3' | '4'; at: number } | null = null;
  readonly events: Emitted[] = [];
  readonly registeredTrialEnd: number | null;

  constructor(readonly scenario: Scenario) {
    this.registeredTrialEnd =
      scenario.trialDays === null || scenario.trialDays === 0
        ? null
        : T0 + scenario.trialDays * DAY;
  }

  private emit(label: string, created: number, build: Emitted['build']): void {
    this.events.push({ label, created, build });
  }

  private snapshot(sub: TrueSub, at: number, type: 'created' | 'updated' | 'deleted'): void {
    sub.lastAt = at;
    const o = {
      subscriptionId: sub.id,
      customerId: 'cus_model',
      created: at,
      status: sub.status,
      currentPeriodStart: sub.periodEnd - 30 * DAY,
      currentPeriodEnd: sub.periodEnd,
      cancelAt: sub.cancelAt,
      trialEnd: sub.status === 'trialing' ? sub.trialEnd : null,
      requestId: null,
    };
    const label = `${type} ${sub.id} status=${sub.status} cancel_at=${sub.cancelAt === null ? '-' : iso(sub.cancelAt)}`;
    const builder =
      type === 'created'
        ? subscriptionCreated
        : type === 'deleted'
          ? subscriptionDeleted
          : subscriptionUpdated;
    const status = sub.status;
    const mock = { ...o, customerId: o.customerId, periodEnd: sub.periodEnd, status };
    this.emit(label, at, (sim, v) =>
      sim.stripe(
        v.stripeMock
          ? mockEvent(`customer.subscription.${type}`, mockSubscription(mock, v.shape), at, v.shape)
          : builder({ ...o, shape: v.shape }),
      ),
    );
  }

  private invoice(sub: TrueSub | null, at: number, paid: boolean): void {
    if (sub) sub.lastAt = at;
    const o = { subscriptionId: sub?.id ?? null, customerId: 'cus_model', created: at };
    const label = `invoice.${paid ? 'paid' : 'payment_failed'} ${sub?.id ?? 'one-off'}`;
    const type = paid ? 'invoice.paid' : 'invoice.payment_failed';
    this.emit(label, at, (sim, v) =>
      sim.stripe(
        v.stripeMock
          ? mockEvent(type, mockInvoice({ ...o, paid }, v.shape), at, v.shape)
          : paid
            ? invoicePaid({ ...o, shape: v.shape })
            : invoicePaymentFailed({ ...o, shape: v.shape }),
      ),
    );
  }

  /** What Stripe does by itself as time passes: trials convert, scheduled cancels end. */
  private passTo(t: number): void {
    for (;;) {
      const due = this.subs
        .flatMap((s) => [
          s.status === 'trialing' && s.trialEnd !== null && s.trialEnd <= t
            ? { at: s.trialEnd, sub: s, what: 'trial' as const }
            : null,
          s.cancelAt !== null && s.status !== 'canceled' && s.cancelAt <= t
            ? { at: s.cancelAt, sub: s, what: 'cancel' as const }
            : null,
        ])
        .filter((x) => x !== null)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      const at = Math.max(due.at, due.sub.lastAt + 1);
      if (due.what === 'trial') {
        due.sub.status = 'active';
        this.invoice(due.sub, at, true);
        this.snapshot(due.sub, at, 'updated');
      } else {
        due.sub.status = 'canceled';
        due.sub.cancelAt = null;
        this.snapshot(due.sub, at, 'deleted');
      }
    }
    this.now = Math.max(this.now, t);
  }

  private open(index: number): TrueSub | undefined {
    const open = this.subs.filter(
      (s) => s.status !== 'canceled' && s.status !== 'incomplete_expired',
    );
    return open.length === 0 ? undefined : open[index % open.length];
  }

  apply(a: Action): void {
    this.passTo(this.now + a.dt);
    const at = (sub: TrueSub) => Math.max(this.now, sub.lastAt + 1);
    if (a.kind === 'create') {
      if (this.subs.length >= 3) return;
      const sub: TrueSub = {
        id: `sub_m${this.subs.length + 1}`,
        status: a.start,
        cancelAt: null,
        trialEnd: a.start === 'trialing' ? this.now + a.trialDays * DAY : null,
        periodEnd: this.now + 30 * DAY,
        lastAt: this.now - 1,
      };
      this.subs.push(sub);
      this.snapshot(sub, this.now, 'created');
      if (a.start === 'active') this.invoice(sub, this.now, true);
      return;
    }
    if (a.kind === 'oneOff') return this.invoice(null, this.now, a.paid);
    if (a.kind === 'myasp') {
      // MyASP's ts has one-second resolution: one member's posts are a second apart at least.
      if (this.membership) this.now = Math.max(this.now, this.membership.at + 1);
      this.membership = { code: a.code, at: this.now };
      const ts = iso(this.now);
      const code = a.code;
      this.emit(`myasp status=${code}`, this.now, (sim) => sim.myasp('m1', code, ts));
      return;
    }
    const sub = this.open(a.sub);
    if (!sub) return;
    const t = at(sub);
    this.now = t;
    switch (a.kind) {
      case 'pay':
        if (sub.status === 'trialing' || sub.status === 'paused') return;
        this.invoice(sub, t, true);
        if (sub.status !== 'active') {
          sub.status = 'active';
          this.snapshot(sub, t, 'updated');
        }
        return;
      case 'fail':
        if (sub.status === 'trialing' || sub.status === 'paused') return;
        this.invoice(sub, t, false);
        if (sub.status === 'active') {
          sub.status = 'past_due';
          this.snapshot(sub, t, 'updated');
        }
        return;
      case 'cancel':
        if (sub.status === 'incomplete') return;
        sub.cancelAt = sub.periodEnd;
        return this.snapshot(sub, t, 'updated');
      case 'withdraw':
        if (sub.cancelAt === null) return;
        sub.cancelAt = null;
        return this.snapshot(sub, t, 'updated');
      case 'delete':
        sub.status = 'canceled';
        sub.cancelAt = null;
        return this.snapshot(sub, t, 'deleted');
      case 'pause':
        if (sub.status !== 'active') return;
        sub.status = 'paused';
        return this.snapshot(sub, t, 'updated');
      case 'resume':
        if (sub.status !== 'paused') return;
        sub.status = 'active';
        return this.snapshot(sub, t, 'updated');
      case 'expire':
        if (sub.status !== 'incomplete') return;
        sub.status = 'incomplete_expired';
        return this.snapshot(sub, t, 'updated');
    }
  }

  finish(): number {
    this.passTo(this.now + this.scenario.tail);
    return this.now;
  }

  /** The status the objects imply at `at`, from the model's own truth. */
  expected(at: number): { status: Status; scheduled_cancel_at: string | null } {
    type S = 'live' | 'canceling' | 'dunning' | 'stopped' | 'ended';
    const standings: { s: S; cancelAt: number | null }[] = [];
    for (const sub of this.subs) {
      if (sub.status === 'canceled') standings.push({ s: 'ended', cancelAt: null });
      else if (['past_due', 'paused'].includes(sub.status))
        standings.push({ s: 'dunning', cancelAt: null });
      else if (sub.status === 'active' || sub.status === 'trialing')
        standings.push(
          sub.cancelAt !== null
            ? { s: 'canceling', cancelAt: sub.cancelAt }
            : { s: 'live', cancelAt: null },
        );
    }
    const code = this.membership?.code;
    if (code === '1' || code === '3') standings.push({ s: 'live', cancelAt: null });
    if (code === '2') standings.push({ s: 'stopped', cancelAt: null });
    if (code === '4') standings.push({ s: 'ended', cancelAt: null });
    const trialEnds = [
      this.registeredTrialEnd,
      ...this.subs.filter((s) => s.status === 'trialing').map((s) => s.trialEnd),
    ].filter((x): x is number => x !== null);
    const inTrial = trialEnds.some((end) => at < end);
    const has = (s: S) => standings.filter((x) => x.s === s);
    if (has('live').length)
      return { status: inTrial ? 'early_payment' : 'active', scheduled_cancel_at: null };
    if (has('canceling').length) {
      const latest = Math.max(...has('canceling').map((x) => x.cancelAt as number));
      return { status: 'canceling', scheduled_cancel_at: iso(latest) };
    }
    if (has('dunning').length) return { status: 'past_due', scheduled_cancel_at: null };
    if (has('stopped').length) return { status: 'stopped', scheduled_cancel_at: null };
    if (has('ended').length) return { status: 'canceled', scheduled_cancel_at: null };
    return { status: inTrial ? 'free' : 'past_due', scheduled_cancel_at: null };
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

const dt = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 120 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }).map((d) => d * DAY) },
);
const subAction = (kind: Extract<Action, { sub: number }>['kind']) =>
  fc.record({ kind: fc.constant(kind), sub: fc.nat(5), dt });

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('create' as const),
    start: fc.constantFrom('active' as const, 'trialing' as const, 'incomplete' as const),
    trialDays: fc.integer({ min: 1, max: 30 }),
    dt,
  }),
  subAction('pay'),
  subAction('fail'),
  subAction('cancel'),
  subAction('withdraw'),
  subAction('delete'),
  subAction('pause'),
  subAction('resume'),
  subAction('expire'),
  fc.record({ kind: fc.constant('oneOff' as const), paid: fc.boolean(), dt }),
  fc.record({
    kind: fc.constant('myasp' as const),
    code: fc.constantFrom('1' as const, '2' as const, '3' as const, '4' as const),
    dt,
  }),
);

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  trialDays: fc.constantFrom(null, 0, 7, 14),
  actions: fc.array(action, { minLength: 1, maxLength: 25 }),
  tail: fc.integer({ min: 0, max: 60 }).map((d) => d * DAY),
});

/** A delivery order: every event at least once, some twice, shuffled; and payload shapes. */
export const delivery = (n: number) =>
  fc.record({
    keys: fc.array(fc.integer(), { minLength: n, maxLength: n }),
    duplicates: fc.array(fc.nat(Math.max(0, n - 1)), { maxLength: Math.min(n, 5) }),
    variants: fc.array(
      fc.record({
        shape: fc.constantFrom<PayloadShape>('legacy', 'basil'),
        stripeMock: fc.boolean(),
      }),
      { minLength: n, maxLength: n },
    ),
  });

/** A generated history (its world, run to its end) and a delivery order for its events. */
export const history = scenario.chain((s) => {
  const world = new World(s);
  for (const a of s.actions) world.apply(a);
  const end = world.finish();
  return fc.tuple(fc.constant({ world, end }), delivery(world.events.length));
});

export interface Delivery {
  keys: number[];
  duplicates: number[];
  variants: Variant[];
}

/** The deliveries in order: every event once in the shuffled order, then some a second time. */
export function deliveryOrder(world: World, d: Delivery): { e: Emitted; i: number }[] {
  const order = world.events
    .map((e, i) => ({ e, key: d.keys[i] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i);
  return [...order, ...d.duplicates.map((i) => ({ e: world.events[i] as Emitted, i }))];
}

/** Registers the account first, as the host app would, when the history has a registration. */
export function registerIfAny(sim: AccountSim, world: World): string | null {
  if (world.registeredTrialEnd === null && world.scenario.trialDays !== 0) return null;
  const trialEnd = world.registeredTrialEnd === null ? null : iso(world.registeredTrialEnd);
  sim.deliver(sim.register(trialEnd, iso(T0)));
  return `register trial_end=${trialEnd ?? '-'}`;
}

/** Each generated event built once: a second delivery is the same event again. */
export class EventBook {
  private readonly built = new Map<number, BillingEvent>();

  constructor(private readonly d: Delivery) {}

  event(sim: AccountSim, delivery: { e: Emitted; i: number }): BillingEvent {
    const known = this.built.get(delivery.i);
    if (known) return known;
    const variant = this.d.variants[delivery.i] ?? { shape: 'basil', stripeMock: false };
    const event = delivery.e.build(sim, variant);
    this.built.set(delivery.i, event);
    return event;
  }
}

/** The history in creation order and the deliveries made, for a failure's message. */
export function describeRun(world: World, log: string[]): string {
  const created = world.events.map((e) => `${iso(e.created)} ${e.label}`).join('\n  ');
  return `history in creation order:\n  ${created}\ndeliveries:\n  ${log.join('\n  ')}`;
}
