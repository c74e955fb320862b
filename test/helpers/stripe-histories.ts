// Random histories for the property tests of the domain: a scenario of what happens to the
// account's objects (test/helpers/stripe-world.ts turns it into the truth and the events Stripe and
// MyASP send), and a delivery of those events — reordered, some twice, in either API shape. Used
// by the derived-status property and the read-your-writes property.
import fc from 'fast-check';

import type { BillingEvent } from '../../src/domain/types';
import type { PayloadShape } from '../fixtures/stripe';
import { type AccountSim, iso } from './account-sim';
import {
  type Action,
  DAY,
  type Emitted,
  type Scenario,
  type SubKind,
  type Variant,
  World,
} from './stripe-world';

export const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 3000);
const GRACE_MS = 3 * DAY * 1000;
// A failure prints its seed and path: FC_SEED=<seed> FC_PATH=<path> replays exactly that case.
export const REPLAY = process.env.FC_SEED
  ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH, endOnFailure: true }
  : {};

// ---------------------------------------------------------------------------------------------
// Generators

const dt = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 120 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }).map((d) => d * DAY) },
);
const sub = fc.nat(5);
const subAction = (kind: SubKind) => fc.record({ kind: fc.constant(kind), sub, dt });

const create = fc.record({
  kind: fc.constant('create' as const),
  start: fc.oneof(
    { weight: 4, arbitrary: fc.constant('checkout' as const) },
    fc.constantFrom(
      'trialing' as const,
      'incomplete' as const,
      'konbini' as const,
      'invoiced' as const,
    ),
  ),
  trialDays: fc.integer({ min: 1, max: 30 }),
  trialPauses: fc.boolean(),
  dt,
});

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: create },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('renew' as const),
      sub,
      ok: fc.boolean(),
      // A failed renewal pauses the subscription where the account chose that (flexible billing).
      pause: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      retries: fc.array(fc.boolean(), { maxLength: 2 }),
      dt,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('retry' as const),
      sub,
      invoice: fc.nat(4),
      ok: fc.boolean(),
      dt,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('void' as const, 'writeOff' as const),
      sub,
      invoice: fc.nat(4),
      dt,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('upgrade' as const),
      sub,
      ok: fc.boolean(),
      pending: fc.boolean(),
      dt,
    }),
  },
  subAction('cancel'),
  subAction('withdraw'),
  subAction('delete'),
  subAction('pause'),
  subAction('resume'),
  subAction('expire'),
  subAction('overdue'),
  subAction('exhaust'),
  subAction('asyncPay'),
  subAction('asyncFail'),
  fc.record({ kind: fc.constant('oneOff' as const), paid: fc.boolean(), dt }),
  fc.record({
    kind: fc.constant('myasp' as const),
    code: fc.constantFrom('1' as const, '2' as const, '3' as const, '4' as const),
    dt,
  }),
  fc.record({ kind: fc.constant('register' as const), trialDays: fc.constantFrom(0, 7, 14), dt }),
  fc.record({
    kind: fc.constant('correct' as const),
    status: fc.constantFrom(
      'free' as const,
      'early_payment' as const,
      'active' as const,
      'past_due' as const,
      'stopped' as const,
      'canceled' as const,
    ),
    dt,
  }),
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  trialDays: fc.constantFrom(null, 0, 7, 14),
  graceMs: fc.constantFrom(null, GRACE_MS),
  // Most histories start with a subscription; some never have one.
  actions: fc
    .tuple(fc.option(create, { freq: 5 }), fc.array(action, { minLength: 1, maxLength: 30 }))
    .map(([first, rest]) => (first === null ? rest : [first, ...rest])),
  // Often soon after the last event, so a dunning grace may still run at the end.
  tail: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 4 * DAY }),
    fc.integer({ min: 0, max: 60 }).map((d) => d * DAY),
  ),
});

/** A delivery: an order key per event, some events twice, and a payload shape per event. */
const delivery = (n: number) =>
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

export type Delivery = { keys: number[]; duplicates: number[]; variants: Variant[] };
export type Planned = { e: Emitted; i: number };

/**
 * Any order (`shuffled`), or in `created` order with each second's events in any order
 * (`by_second`: Stripe keeps no order within a second). Either way the host app's and the
 * operator's events come no later than their time: nothing created after them exists yet.
 */
export function plan(world: World, d: Delivery, mode: 'shuffled' | 'by_second'): Planned[] {
  const key = (i: number) => d.keys[i] ?? 0;
  const order: Planned[] = world.events
    .map((e, i) => ({ e, i }))
    .sort((a, b) =>
      mode === 'shuffled'
        ? key(a.i) - key(b.i) || a.i - b.i
        : a.e.created - b.e.created || key(a.i) - key(b.i) || a.i - b.i,
    );
  // The host app's and the operator's events keep their own order: they come one after another.
  const slots = order.flatMap((p, at) => (p.e.api ? [at] : []));
  const apis = slots.map((at) => order[at] as Planned).sort((a, b) => a.i - b.i);
  slots.forEach((at, k) => (order[at] = apis[k] as Planned));
  for (const api of apis) {
    const from = order.indexOf(api);
    const firstLater = order.findIndex((p) => p.e.created > api.e.created);
    if (firstLater !== -1 && firstLater < from) {
      order.splice(from, 1);
      order.splice(firstLater, 0, api);
    }
  }
  return [...order, ...d.duplicates.map((i) => ({ e: world.events[i] as Emitted, i }))];
}

/** A generated history (its world, run to its end) and a delivery of its events. */
export const histories = scenario.chain((s) => {
  const world = new World(s);
  for (const a of s.actions) world.apply(a);
  const end = world.finish();
  return fc.tuple(fc.constant({ world, end }), delivery(world.events.length));
});

/** Each generated event built once: a second delivery is the same event again. */
export class EventBook {
  private readonly built = new Map<number, BillingEvent>();

  constructor(private readonly d: Delivery) {}

  event(sim: AccountSim, planned: Planned): BillingEvent {
    const known = this.built.get(planned.i);
    if (known) return known;
    const variant = this.d.variants[planned.i] ?? { shape: 'basil', stripeMock: false };
    const event = planned.e.build(sim, variant);
    this.built.set(planned.i, event);
    return event;
  }
}

/** The history in creation order and the deliveries made, for a failure's message. */
export function describeRun(world: World, log: string[]): string {
  const created = world.events.map((e) => `${iso(e.created)} ${e.label}`).join('\n  ');
  return `history in creation order:\n  ${created}\ndeliveries:\n  ${log.join('\n  ')}`;
}
