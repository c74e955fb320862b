// Property: whatever order the provider's events arrive in, with duplicates and timers firing in
// between, the account ends in the status its objects imply (SPEC §3). A model of Stripe's
// subscription lifecycle and of MyASP's status posts (test/helpers/stripe-world.ts, written from
// SPEC and Stripe's emission rules) generates the truth and the events Stripe and MyASP would
// send; the account loop sees only the events, reordered.
import fc from 'fast-check';

import { changesOfFold, type VisibleState, visibleState } from '../../src/domain/changes';
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
  expectChangesAreTransitions(sim, world.expected(end), () => describeRun(world, log));
}

describe('derived status (property)', () => {
  it('when events arrive shuffled, duplicated and between timers, then the status is what the objects imply, and the changes told are its transitions', () => {
    fc.assert(
      fc.property(histories, ([{ world, end }, d]) => check(world, end, d, 'shuffled')),
      { numRuns: NUM_RUNS, ...REPLAY },
    );
  });

  it("when each second's events arrive in any order, then the status and the dunning grace are what the objects imply, and the changes told are its transitions", () => {
    fc.assert(
      fc.property(histories, ([{ world, end }, d]) => check(world, end, d, 'by_second')),
      { numRuns: NUM_RUNS, ...REPLAY },
    );
  });
});

/** A visible state as comparable text: instants as epoch milliseconds. */
function key(v: VisibleState | null): string {
  if (v === null) return 'null';
  const t = (x: string | null) => (x === null ? null : Date.parse(x));
  return JSON.stringify([
    v.status,
    t(v.scheduled_cancel_at),
    t(v.grace_until),
    t(v.trial_end),
    v.status_object,
  ]);
}

/**
 * SPEC §10: the changes the host app is told of are exactly the transitions of the account's
 * visible state, one per applied event that moved it, chained previous → current, ending in what
 * the model says; duplicates and stale events (never applied) make none.
 */
function expectChangesAreTransitions(
  sim: AccountSim,
  want: { status: string; scheduled_cancel_at: string | null },
  describe: () => string,
): void {
  const changes = changesOfFold(null, sim.decisions);
  const transitions: [string, string][] = [];
  let before = key(null);
  for (const { decision } of sim.decisions) {
    if (decision.outcome !== 'applied') continue;
    const after = key(visibleState(decision.state));
    if (after !== before) transitions.push([before, after]);
    before = after;
  }
  const told = changes.map((c): [string, string] => [key(c.previous), key(c.current)]);
  const last = changes.at(-1)?.current;
  const applied = new Set(
    sim.decisions.filter((d) => d.decision.outcome === 'applied').map((d) => d.event.event_id),
  );
  const ok =
    JSON.stringify(told) === JSON.stringify(transitions) &&
    changes.every((c, i) => i === 0 || key(c.previous) === key(changes[i - 1]?.current ?? null)) &&
    changes.every((c) => c.cause !== null && applied.has(c.cause.event_id)) &&
    last?.status === want.status &&
    (last?.scheduled_cancel_at ?? null) === want.scheduled_cancel_at;
  if (!ok)
    throw new Error(
      `changes ${JSON.stringify(told)}\nare not the transitions ${JSON.stringify(transitions)} ending in ${JSON.stringify(want)}\n${describe()}`,
    );
}
