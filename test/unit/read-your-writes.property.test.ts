// Property (SPEC §6 "Read your writes"): for any history and any split of its deliveries into
// events the workflow has applied and events it has stored but not applied yet (the worker
// stopped at the split), the read's answer — foldForRead over the projection, the pending events
// and the deadlines passed by `now` — is what the projection says once the workflow has applied
// them. The workflow is modelled by AccountSim (test/helpers/account-sim.ts): events decided one
// by one as they come, timers firing as the clock passes their deadlines.
import fc from 'fast-check';

import { foldForRead } from '../../src/domain/fold';
import type { AccountState, BillingEvent } from '../../src/domain/types';
import { AccountSim, iso } from '../helpers/account-sim';
import {
  describeRun,
  EventBook,
  histories,
  NUM_RUNS,
  plan,
  REPLAY,
} from '../helpers/stripe-histories';
import { T0 } from '../helpers/stripe-world';

/** What an answer shows of the account; event ids aside (a read's timer events are not stored). */
function visible(s: AccountState | null) {
  if (s === null) return null;
  return {
    status: s.status,
    scheduled_cancel_at: s.scheduled_cancel_at,
    grace_until: s.grace_until,
    trial_end: s.trial_end,
    status_since: s.status_since,
    status_object: s.status_object ?? null,
    status_reason: s.status_reason ?? null,
    provider: s.provider,
    provider_status: s.provider_status,
    plan: s.plan,
    amount: s.amount,
    objects: s.objects ?? null,
    as_of: s.as_of ?? null,
  };
}

const RUNS = Math.max(100, Math.floor(NUM_RUNS / 3));

describe('read your writes (property)', () => {
  it('when the workflow stops at any point of any history, then the read folds the stored events and passed deadlines into what the workflow then commits', () => {
    fc.assert(
      fc.property(histories, fc.nat(), ([{ world, end }, d], cut) => {
        // PAST_DUE_GRACE when the events were stored (a grace end is a deadline too).
        const pastDueGraceMs = world.scenario.graceMs;
        // The workflow runs until the split, then stops; events keep being stored (acknowledged).
        const workflow = new AccountSim({ pastDueGraceMs });
        const book = new EventBook(d);
        const log: string[] = [];
        const deliveries = plan(world, d, 'shuffled');
        const split = cut % (deliveries.length + 1);
        const stored = new Set<string>();
        const pending: BillingEvent[] = [];
        let clock = T0;
        deliveries.forEach((delivery, n) => {
          clock = Math.max(clock, delivery.e.created);
          const event = book.event(workflow, delivery);
          if (stored.has(event.dedupe_key)) return; // a resend: the same row, nothing new
          stored.add(event.dedupe_key);
          if (n < split) {
            workflow.advanceTo(iso(clock));
            log.push(`${iso(clock)} applied ${delivery.e.label}`);
            workflow.deliver(event);
          } else {
            log.push(`${iso(clock)} stored, not applied: ${delivery.e.label}`);
            pending.push(event);
          }
        });
        const projection = workflow.state;
        const now = new Date(Math.max(clock, end) * 1000);

        const read = foldForRead(projection, pending, now);

        // The workflow comes back at `now`: one batch of everything stored, then the timers due.
        workflow.deliverAll(pending);
        workflow.advanceTo(now.toISOString());
        const context = `split after ${split} of ${deliveries.length}, now ${now.toISOString()}\n${describeRun(world, log)}`;
        expect({ read: visible(read.state), context }).toEqual({
          read: visible(workflow.state),
          context,
        });
        expect(read.events.map((s) => s.event.event_id)).toEqual(pending.map((e) => e.event_id));
        expect(read.not_folded).toBeNull();

        // And the same as a workflow that never stopped (SPEC §3 rule 4: timers re-derive).
        const live = new AccountSim({ pastDueGraceMs });
        const liveBook = new EventBook(d);
        let liveClock = T0;
        for (const delivery of deliveries) {
          liveClock = Math.max(liveClock, delivery.e.created);
          live.advanceTo(iso(liveClock));
          live.deliver(liveBook.event(live, delivery));
        }
        live.advanceTo(now.toISOString());
        const statusOf = (s: AccountState | null) =>
          s && { status: s.status, scheduled_cancel_at: s.scheduled_cancel_at };
        expect({ read: statusOf(read.state), context }).toEqual({
          read: statusOf(live.state),
          context,
        });
      }),
      { numRuns: RUNS, ...REPLAY },
    );
  });
});
