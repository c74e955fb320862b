// Property: whatever order the provider's events arrive in, with duplicates and timers firing in
// between, the account ends in the status its objects imply (SPEC §3). A small model of Stripe's
// subscription lifecycle and of MyASP's status posts (test/helpers/stripe-world.ts) generates the
// truth and the events Stripe and MyASP would send; the account loop sees only the events,
// reordered.
import fc from 'fast-check';

import { changesOfFold, type VisibleState, visibleState } from '../../src/domain/changes';
import { AccountSim, iso } from '../helpers/account-sim';
import {
  deliveryOrder,
  describeRun,
  EventBook,
  history,
  NUM_RUNS,
  registerIfAny,
  REPLAY,
  T0,
} from '../helpers/stripe-world';

describe('derived status (property)', () => {
  it('when events arrive shuffled, duplicated and between timers, then the status is what the objects imply, and the changes told are its transitions', () => {
    fc.assert(
      fc.property(history, ([{ world, end }, d]) => {
        const sim = new AccountSim();
        const book = new EventBook(d);
        const log: string[] = [];
        const registered = registerIfAny(sim, world);
        if (registered) log.push(registered);
        let clock = T0;
        for (const delivery of deliveryOrder(world, d)) {
          const { e } = delivery;
          clock = Math.max(clock, e.created);
          sim.advanceTo(iso(clock));
          const outcome = sim.deliver(book.event(sim, delivery)).outcome;
          log.push(
            `${iso(clock)} deliver [created ${iso(e.created)}] ${e.label} → ${outcome}, ${sim.status}`,
          );
        }
        sim.advanceTo(iso(end));
        if (sim.state === null) {
          // Only one-off invoices (or nothing): no object the account could stand on.
          expect(world.subs.length + (world.membership ? 1 : 0)).toBe(0);
          return;
        }
        const want = world.expected(end);
        const got = {
          status: sim.state?.status,
          scheduled_cancel_at: sim.state?.scheduled_cancel_at ?? null,
        };
        if (got.status !== want.status || got.scheduled_cancel_at !== want.scheduled_cancel_at) {
          throw new Error(
            `expected ${JSON.stringify(want)} at ${iso(end)}, got ${JSON.stringify(got)}\n` +
              describeRun(world, log),
          );
        }
        expectChangesAreTransitions(sim, want, () => describeRun(world, log));
      }),
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
