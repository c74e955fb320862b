// Property: whatever order the provider's events arrive in, with duplicates and timers firing in
// between, the account ends in the status its objects imply (SPEC §3). A model of Stripe's
// subscription lifecycle and of MyASP's status posts (test/helpers/stripe-world.ts, written from
// SPEC and Stripe's emission rules) generates the truth and the events Stripe and MyASP would
// send; the account loop sees only the events, reordered.
import fc from 'fast-check';

import type { BillingEvent } from '../../src/domain/types';
import type { PayloadShape } from '../fixtures/stripe';
import { AccountSim, iso } from '../helpers/account-sim';
import {
  type Action,
  DAY,
  type Emitted,
  type Expected,
  type Scenario,
  type SubKind,
  T0,
  type Variant,
  World,
} from '../helpers/stripe-world';

const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 3000);
const GRACE_MS = 3 * DAY * 1000;
// A failure prints its seed and path: FC_SEED=<seed> FC_PATH=<path> replays exactly that case.
const REPLAY = process.env.FC_SEED
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

type Delivery = { keys: number[]; duplicates: number[]; variants: Variant[] };
type Planned = { e: Emitted; i: number };

/**
 * Any order (`shuffled`), or in `created` order with each second's events in any order
 * (`by_second`: Stripe keeps no order within a second). Either way the host app's and the
 * operator's events come no later than their time: nothing created after them exists yet.
 */
function plan(world: World, d: Delivery, mode: 'shuffled' | 'by_second'): Planned[] {
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

function run(world: World, end: number, d: Delivery, mode: 'shuffled' | 'by_second') {
  const sim = new AccountSim({ pastDueGraceMs: world.scenario.graceMs });
  const built = new Map<number, BillingEvent>();
  const log: string[] = [];
  let clock = T0;
  for (const { e, i } of plan(world, d, mode)) {
    clock = Math.max(clock, e.created);
    sim.advanceTo(iso(clock));
    const event =
      built.get(i) ?? e.build(sim, d.variants[i] ?? { shape: 'basil', stripeMock: false });
    built.set(i, event);
    const outcome = sim.deliver(event).outcome;
    log.push(
      `${iso(clock)} deliver [created ${iso(e.created)}] ${e.label} → ${outcome}, ${sim.status}`,
    );
  }
  sim.advanceTo(iso(end));
  return { sim, log };
}

function check(world: World, end: number, d: Delivery, mode: 'shuffled' | 'by_second') {
  const { sim, log } = run(world, end, d, mode);
  if (sim.state === null) {
    // Only one-off invoices (or nothing): no object the account could stand on.
    expect(world.subs.length + (world.membership ? 1 : 0)).toBe(0);
    return;
  }
  const want: Partial<Expected> = world.expected(end);
  // Grace counts from a spell's first evidence: in any order, an older one may arrive stale.
  if (mode === 'shuffled') delete want.grace_until;
  const got: Partial<Expected> = {
    status: sim.state.status,
    scheduled_cancel_at: sim.state.scheduled_cancel_at ?? null,
    ...(mode === 'by_second' ? { grace_until: sim.state.grace_until ?? null } : {}),
  };
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(
      `expected ${JSON.stringify(want)} at ${iso(end)}, got ${JSON.stringify(got)} (${mode}, grace ${world.scenario.graceMs ?? '-'})\n` +
        `history in creation order:\n  ${world.events.map((e) => `${iso(e.created)} ${e.label}`).join('\n  ')}\n` +
        `deliveries:\n  ${log.join('\n  ')}`,
    );
  }
}

const histories = scenario.chain((s) => {
  const world = new World(s);
  for (const a of s.actions) world.apply(a);
  const end = world.finish();
  return fc.tuple(fc.constant({ world, end }), delivery(world.events.length));
});

describe('derived status (property)', () => {
  it('when events arrive shuffled, duplicated and between timers, then the status is what the objects imply', () => {
    fc.assert(
      fc.property(histories, ([{ world, end }, d]) => check(world, end, d, 'shuffled')),
      { numRuns: NUM_RUNS, ...REPLAY },
    );
  });

  it("when each second's events arrive in any order, then the status and the dunning grace are what the objects imply", () => {
    fc.assert(
      fc.property(histories, ([{ world, end }, d]) => check(world, end, d, 'by_second')),
      { numRuns: NUM_RUNS, ...REPLAY },
    );
  });
});
