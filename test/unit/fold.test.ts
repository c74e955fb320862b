// The account's events and deadlines folded onto its state (src/domain/fold.ts): the workflow's
// batch and the reads of SPEC §6 use the same functions. Real Stripe payloads, normalized.
import {
  foldEvents,
  foldForRead,
  nextDeadlineAt,
  passDeadlines,
  timerEventFields,
} from '../../src/domain/fold';
import { nextTimer, transition } from '../../src/domain/transition';
import type { AccountState, BillingEvent } from '../../src/domain/types';
import * as fx from '../fixtures/stripe';
import { AccountSim, iso } from '../helpers/account-sim';

const DAY = 86_400;
const T0 = fx.DEFAULT_CREATED;
const ids = { subscriptionId: 'sub_fold', customerId: 'cus_fold', accountId: 'acct_sim' };

/** An active subscription whose cancel is scheduled at T0 + 30 days, applied. */
function canceling(sim = new AccountSim()): { sim: AccountSim; cancelAt: number } {
  const cancelAt = T0 + 30 * DAY;
  sim.deliver(sim.stripe(fx.subscriptionCreated({ ...ids, created: T0 })));
  sim.deliver(sim.stripe(fx.subscriptionUpdated({ ...ids, created: T0 + DAY, cancelAt })));
  expect(sim.status).toBe('canceling');
  return { sim, cancelAt };
}

const at = (unixSeconds: number) => new Date(unixSeconds * 1000);

describe('foldEvents', () => {
  it('when a batch is folded, then each event is decided by transition on the state the one before left', () => {
    const sim = new AccountSim();
    const events = [
      sim.stripe(fx.subscriptionCreated({ ...ids, created: T0 })),
      sim.stripe(fx.invoicePaymentFailed({ ...ids, invoiceId: 'in_1', created: T0 + 10 })),
      // The same invoice's older attempt: older than the newest evidence about it.
      sim.stripe(fx.invoicePaymentFailed({ ...ids, invoiceId: 'in_1', created: T0 + 5 })),
      sim.stripe(fx.invoicePaid({ ...ids, invoiceId: 'in_1', created: T0 + 20 })),
    ];
    const fold = foldEvents(null, events);
    let state: AccountState | null = null;
    const expected = events.map((event) => {
      const decision = transition(state, event);
      state = decision.state;
      return { event, decision };
    });
    expect(fold).toEqual({ state, steps: expected, not_folded: null });
    expect(fold.steps.map((s) => s.decision.outcome)).toEqual([
      'applied',
      'applied',
      'stale',
      'applied',
    ]);
    expect(fold.state?.status).toBe('active');
  });

  it('when a stored event has a kind this version cannot decide, then the fold stops before it and names it', () => {
    const sim = new AccountSim();
    const created = sim.stripe(fx.subscriptionCreated({ ...ids, created: T0 }));
    const unknown: BillingEvent = {
      ...sim.stripe(fx.invoicePaymentFailed({ ...ids, created: T0 + 10 })),
      data: { kind: 'stripe.thin_event' } as unknown as BillingEvent['data'],
    };
    const later = sim.stripe(fx.invoicePaymentFailed({ ...ids, created: T0 + 20 }));
    const fold = foldEvents(null, [created, unknown, later]);
    expect(fold.steps.map((s) => s.event.event_id)).toEqual([created.event_id]);
    expect(fold.not_folded).toEqual({ event: unknown, reason: 'unknown_event_kind' });
    expect(fold.state?.status).toBe('active');
  });
});

describe('passDeadlines', () => {
  it('when a scheduled cancel time has passed and its timer has not fired, then the account is canceled by the timer event the workflow would record', () => {
    const { sim, cancelAt } = canceling();
    const before = sim.state as AccountState;
    const passed = passDeadlines(before, at(cancelAt + 60));
    expect(passed.state).toMatchObject({
      status: 'canceled',
      scheduled_cancel_at: null,
      status_since: iso(cancelAt),
      status_reason: 'canceled_at_period_end',
    });
    const fields = timerEventFields({
      account_id: 'acct_sim',
      timer: 'cancel_at_period_end',
      due_at: iso(cancelAt),
      after_event_id: before.last_event_id,
    });
    expect(passed.steps.map((s) => s.event)).toEqual([{ event_id: fields.dedupe_key, ...fields }]);
    expect(fields.dedupe_key).toBe(
      `timer:acct_sim:cancel_at_period_end:${iso(cancelAt)}:${before.last_event_id}`,
    );
    // The workflow's own loop, firing the same timer, ends in the same state.
    sim.advanceTo(iso(cancelAt + 60));
    expect({ ...passed.state, last_event_id: null, status_event_id: null }).toEqual({
      ...sim.state,
      last_event_id: null,
      status_event_id: null,
    });
  });

  it('when the cancel time is still ahead, then nothing is folded', () => {
    const { sim, cancelAt } = canceling();
    expect(passDeadlines(sim.state, at(cancelAt - 1))).toEqual({ state: sim.state, steps: [] });
    expect(nextTimer(sim.state)?.due_at).toBe(iso(cancelAt));
  });

  it('when a registered trial ended with no subscription, then the account is past_due (trial_over)', () => {
    const sim = new AccountSim();
    sim.deliver(sim.register(iso(T0 + 14 * DAY), iso(T0)));
    expect(sim.status).toBe('free');
    const passed = passDeadlines(sim.state, at(T0 + 15 * DAY));
    expect(passed.state).toMatchObject({ status: 'past_due', status_reason: 'trial_over' });
    expect(passed.steps.map((s) => s.event.event_type)).toEqual(['timer.trial_end']);
  });

  it('when the dunning grace ended, then confirm loses its grace: past_due with no grace_until', () => {
    const sim = new AccountSim({ pastDueGraceMs: 3 * DAY * 1000 });
    sim.deliver(sim.stripe(fx.subscriptionCreated({ ...ids, created: T0 })));
    sim.deliver(sim.stripe(fx.invoicePaymentFailed({ ...ids, created: T0 + 10 })));
    expect(sim.state).toMatchObject({ status: 'past_due', grace_until: iso(T0 + 10 + 3 * DAY) });
    const passed = passDeadlines(sim.state, at(T0 + 4 * DAY));
    expect(passed.state).toMatchObject({ status: 'past_due', grace_until: null });
    expect(passed.steps.map((s) => s.event.event_type)).toEqual(['timer.grace_end']);
  });

  it('when several deadlines passed, then each is honoured in turn, as the workflow fires them', () => {
    const sim = new AccountSim();
    sim.deliver(sim.register(iso(T0 + 14 * DAY), iso(T0)));
    const sub = { ...ids, status: 'trialing', trialEnd: T0 + 7 * DAY, cancelAt: T0 + 10 * DAY };
    sim.deliver(sim.stripe(fx.subscriptionCreated({ ...sub, created: T0 + 1 })));
    expect(sim.status).toBe('canceling');
    const passed = passDeadlines(sim.state, at(T0 + 20 * DAY));
    sim.advanceTo(iso(T0 + 20 * DAY));
    expect(passed.steps.map((s) => s.event.data)).toEqual(
      sim.decisions.filter((d) => d.event.source === 'timer').map((d) => d.event.data),
    );
    expect(passed.steps.length).toBeGreaterThan(1);
    expect(passed.state?.status).toBe(sim.status);
    expect(nextTimer(passed.state)).toEqual(nextTimer(sim.state));
  });
});

describe('foldForRead', () => {
  it('when events are pending and a deadline passes after them, then they are folded first and the deadline honoured after', () => {
    const { sim, cancelAt } = canceling();
    const paid = sim.stripe(fx.invoicePaid({ ...ids, created: T0 + 2 * DAY }));
    const read = foldForRead(sim.state, [paid], at(cancelAt + 1));
    expect(read.events.map((s) => [s.event.event_id, s.decision.outcome])).toEqual([
      [paid.event_id, 'applied'],
    ]);
    expect(read.deadlines.map((s) => s.event.event_type)).toEqual(['timer.cancel_at_period_end']);
    expect(read.state?.status).toBe('canceled');
    expect(read.not_folded).toBeNull();
  });
});

describe('nextDeadlineAt', () => {
  it('when the account has a deadline ahead, then it is the due time of the timer the workflow arms; with none, null', () => {
    const { sim, cancelAt } = canceling();
    expect(nextDeadlineAt(sim.state)).toBe(iso(cancelAt));
    expect(nextDeadlineAt(sim.state)).toBe(nextTimer(sim.state)?.due_at);
    sim.advanceTo(iso(cancelAt + 1));
    expect(sim.status).toBe('canceled');
    expect(nextDeadlineAt(sim.state)).toBeNull();
    expect(nextDeadlineAt(null)).toBeNull();
  });
});
