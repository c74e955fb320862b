// Property: whatever order the provider's events arrive in, with duplicates and timers firing in
// between, the account ends in the status its objects imply (SPEC §3). A model of Stripe's
// subscription lifecycle and of MyASP's status posts (test/helpers/stripe-world.ts, written from
// SPEC and Stripe's emission rules) generates the truth and the events Stripe and MyASP would
// send; the account loop sees only the events, reordered.
import fc from 'fast-check';

import { AccountSim, iso } from '../helpers/account-sim';
import {
  type Delivery,
  describeRun,
  EventBook,
  histories,
  NUM_RUNS,
  plan,
  REPLAY,
} from '../helpers/stripe-histories';
import { type Expected, T0, type World } from '../helpers/stripe-world';

function run(world: World, end: number, d: Delivery, mode: 'shuffled' | 'by_second') {
  const sim = new AccountSim({ pastDueGraceMs: world.scenario.graceMs });
  const book = new EventBook(d);
  const log: string[] = [];
  let clock = T0;
  for (const planned of plan(world, d, mode)) {
    const { e } = planned;
    clock = Math.max(clock, e.created);
    sim.advanceTo(iso(clock));
    const event = book.event(sim, planned);
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
        describeRun(world, log),
    );
  }
}

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
