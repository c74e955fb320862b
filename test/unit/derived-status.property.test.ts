// Property: whatever order the provider's events arrive in, with duplicates and timers firing in
// between, the account ends in the status its objects imply (SPEC §3). A small model of Stripe's
// subscription lifecycle and of MyASP's status posts (test/helpers/stripe-world.ts) generates the
// truth and the events Stripe and MyASP would send; the account loop sees only the events,
// reordered.
import fc from 'fast-check';

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
  it('when events arrive shuffled, duplicated and between timers, then the status is what the objects imply', () => {
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
      }),
      { numRuns: NUM_RUNS, ...REPLAY },
    );
  });
});
