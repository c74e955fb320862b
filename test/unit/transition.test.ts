// SPEC §3 as a table: each row is one input on one starting state and the result it must give.
import { nextTimer, transition } from '../../src/domain/transition';
import type { AccountState, BillingEvent, EventData, Status } from '../../src/domain/types';

const T0 = '2026-05-01T00:00:00.000Z';
const TRIAL_END = '2026-05-15T00:00:00.000Z';
const IN_TRIAL = '2026-05-05T00:00:00.000Z';
const AFTER_TRIAL = '2026-06-01T00:00:00.000Z';
const PERIOD_END = '2026-07-01T00:00:00.000Z';

let seq = 0;
function event(data: EventData, overrides: Partial<BillingEvent> = {}): BillingEvent {
  seq += 1;
  return {
    event_id: String(1000 + seq),
    source: data.kind.startsWith('stripe')
      ? 'stripe'
      : data.kind.startsWith('myasp')
        ? 'myasp'
        : 'api',
    dedupe_key: `k${seq}`,
    event_type: data.kind,
    account_id: 'acct_1',
    occurred_at: AFTER_TRIAL,
    object_key: data.kind.startsWith('stripe') ? 'stripe:sub_1' : null,
    data,
    ...overrides,
  };
}

const registered: EventData = {
  kind: 'account.registered',
  trial_end: TRIAL_END,
  email: null,
  stripe_customer_id: null,
  myasp_user_id: null,
};
const minutesAfterT0 = (m: number) => new Date(Date.parse(T0) + m * 60_000).toISOString();

/** The account `events` leave behind, folded in order as the workflow and the rebuild do. */
function fold(events: [EventData, string][]): AccountState {
  const state = events.reduce<AccountState | null>(
    (s, [data, at]) => transition(s, event(data, { occurred_at: at })).state,
    null,
  );
  if (state === null) throw new Error('the events left no account');
  return state;
}

/**
 * An account registered with a trial to TRIAL_END in `status`, folded from the events that lead
 * there: `free` and `past_due` without a subscription (`no subscription`: the trial ran out) or
 * with sub_1 (its payment failed), `active` once the trial of a paying subscription ended.
 */
function account(status: Status, variant: 'no subscription' | null = null): AccountState {
  const history: [EventData, string][] = [[registered, T0]];
  if (status === 'free') return fold(history);
  if (variant === 'no subscription')
    return fold([...history, [timer('trial_end', TRIAL_END), TRIAL_END]]);
  history.push([started(), minutesAfterT0(1)]);
  const next: Partial<Record<Status, [EventData, string]>> = {
    active: [timer('trial_end', TRIAL_END), TRIAL_END],
    canceling: [updated('active', PERIOD_END), minutesAfterT0(2)],
    past_due: [failed, minutesAfterT0(2)],
  };
  const step = next[status];
  const state = fold(step ? [...history, step] : history);
  if (state.status !== status) throw new Error(`the events lead to ${state.status}, not ${status}`);
  return state;
}

function myaspAccount(status: 'active' | 'stopped'): AccountState {
  const history: [EventData, string][] = [[myasp('1'), T0]];
  if (status === 'stopped') history.push([myasp('2'), minutesAfterT0(1)]);
  return fold(history);
}

const links = { customer_id: 'cus_1', subscription_id: 'sub_1', plan: 'price_pro', amount: 1980 };
const started = (stripe_type = 'checkout.session.completed'): EventData => ({
  kind: 'stripe.subscription_started',
  stripe_type,
  subscription_status: 'active',
  ...links,
});
const updated = (subscription_status: string, cancel_at: string | null): EventData => ({
  kind: 'stripe.subscription_updated',
  subscription_status,
  cancel_at,
  ...links,
});
const failed: EventData = { kind: 'stripe.payment_failed', past_due_grace_ms: null, ...links };
const paid: EventData = { kind: 'stripe.payment_succeeded', ...links };
const deleted: EventData = { kind: 'stripe.subscription_deleted', ...links };
const timer = (
  t: 'trial_end' | 'cancel_at_period_end' | 'grace_end',
  due_at: string,
): EventData => ({
  kind: 'timer.fired',
  timer: t,
  due_at,
});

interface Row {
  when: string;
  state: AccountState | null;
  data: EventData;
  at?: string;
  outcome: string;
  status: Status | null;
  check?: (s: AccountState) => void;
}

const rows: Row[] = [
  {
    when: 'an account is registered with a trial end',
    state: null,
    data: {
      kind: 'account.registered',
      trial_end: TRIAL_END,
      email: 'a@example.jp',
      stripe_customer_id: null,
      myasp_user_id: null,
    },
    at: T0,
    outcome: 'applied',
    status: 'free',
    check: (s) => expect(nextTimer(s)).toEqual({ timer: 'trial_end', due_at: TRIAL_END }),
  },
  {
    when: 'checkout completes in trial',
    state: account('free'),
    data: started(),
    at: IN_TRIAL,
    outcome: 'applied',
    status: 'early_payment',
  },
  {
    when: 'checkout completes after the trial',
    state: account('past_due', 'no subscription'),
    data: started(),
    outcome: 'applied',
    status: 'active',
  },
  {
    when: 'a subscription is created for an unknown account',
    state: null,
    data: started('customer.subscription.created'),
    outcome: 'applied',
    status: 'active',
    check: (s) => {
      expect(s.stripe_customer_id).toBe('cus_1');
      expect(s.stripe_subscription_id).toBe('sub_1');
      expect(s.provider).toBe('stripe');
    },
  },
  {
    when: 'an invoice payment fails',
    state: account('active'),
    data: failed,
    outcome: 'applied',
    status: 'past_due',
  },
  {
    when: 'an invoice is paid while past_due',
    state: account('past_due'),
    data: paid,
    outcome: 'applied',
    status: 'active',
  },
  {
    when: 'an invoice is paid while past_due in trial',
    state: account('past_due'),
    data: paid,
    at: IN_TRIAL,
    outcome: 'applied',
    status: 'early_payment',
  },
  {
    when: 'an invoice is paid while active',
    state: account('active'),
    data: paid,
    // Nothing visible changes, but the invoice's version is recorded (an older failure is stale).
    outcome: 'applied',
    status: 'active',
    check: (s) => expect(s.object_versions['stripe:sub_1#invoice']).toBe(AFTER_TRIAL),
  },
  {
    when: 'a cancel at period end is scheduled',
    state: account('active'),
    data: updated('active', PERIOD_END),
    outcome: 'applied',
    status: 'canceling',
    check: (s) => {
      expect(s.scheduled_cancel_at).toBe(PERIOD_END);
      expect(nextTimer(s)).toEqual({ timer: 'cancel_at_period_end', due_at: PERIOD_END });
    },
  },
  {
    when: 'a scheduled cancel is moved',
    state: account('canceling'),
    data: updated('active', '2026-08-01T00:00:00.000Z'),
    outcome: 'applied',
    status: 'canceling',
    check: (s) => expect(nextTimer(s)?.due_at).toBe('2026-08-01T00:00:00.000Z'),
  },
  {
    when: 'a cancel is withdrawn after the trial',
    state: account('canceling'),
    data: updated('active', null),
    outcome: 'applied',
    status: 'active',
    check: (s) => {
      expect(s.scheduled_cancel_at).toBeNull();
      expect(nextTimer(s)).toBeNull();
    },
  },
  {
    when: 'a cancel is withdrawn in trial with a subscription',
    state: account('canceling'),
    data: updated('active', null),
    at: IN_TRIAL,
    outcome: 'applied',
    status: 'early_payment',
  },
  {
    when: 'the subscription turns past_due',
    state: account('active'),
    data: updated('past_due', null),
    outcome: 'applied',
    status: 'past_due',
  },
  {
    when: 'the subscription turns unpaid',
    state: account('canceling'),
    data: updated('unpaid', null),
    outcome: 'applied',
    status: 'past_due',
  },
  {
    when: 'the subscription is deleted',
    state: account('canceling'),
    data: deleted,
    outcome: 'applied',
    status: 'canceled',
    check: (s) => expect(nextTimer(s)).toBeNull(),
  },
  {
    when: 'the cancel timer fires while canceling',
    state: account('canceling'),
    data: timer('cancel_at_period_end', PERIOD_END),
    at: PERIOD_END,
    outcome: 'applied',
    status: 'canceled',
  },
  {
    when: 'the cancel timer fires after the cancel was withdrawn',
    state: account('active'),
    data: timer('cancel_at_period_end', PERIOD_END),
    at: PERIOD_END,
    // Nothing ends: the timer only moves the account's evidence clock to its deadline.
    outcome: 'applied',
    status: 'active',
    check: (s) => expect(s.as_of).toBe(PERIOD_END),
  },
  {
    when: 'the trial timer fires on a free account',
    state: account('free'),
    data: timer('trial_end', TRIAL_END),
    at: TRIAL_END,
    outcome: 'applied',
    status: 'past_due',
  },
  {
    when: 'the trial timer fires on an early_payment account',
    state: account('early_payment'),
    data: timer('trial_end', TRIAL_END),
    at: TRIAL_END,
    outcome: 'applied',
    status: 'active',
  },
  {
    when: 'the trial timer fires for an old trial end',
    state: account('free'),
    data: timer('trial_end', T0),
    at: T0,
    outcome: 'ignored',
    status: 'free',
  },
  {
    when: 'an unknown event type arrives',
    state: account('active'),
    data: { kind: 'unhandled' },
    outcome: 'ignored',
    status: 'active',
  },
  {
    when: 'MyASP says registered (1)',
    state: null,
    data: myasp('1'),
    outcome: 'applied',
    status: 'active',
  },
  {
    when: 'MyASP says stopped (2)',
    state: myaspAccount('active'),
    data: myasp('2'),
    outcome: 'applied',
    status: 'stopped',
  },
  {
    when: 'MyASP says revived (3)',
    state: myaspAccount('stopped'),
    data: myasp('3'),
    outcome: 'applied',
    status: 'active',
  },
  {
    when: 'MyASP says cancelled (4)',
    state: myaspAccount('active'),
    data: myasp('4'),
    outcome: 'applied',
    status: 'canceled',
    check: (s) => expect(s.provider_status).toBe('4'),
  },
  {
    when: 'an operator corrects the status',
    state: account('past_due'),
    data: {
      kind: 'manual.correction',
      status: 'active',
      reason: 'paid by bank transfer',
      actor: 'ops@example.jp',
      scheduled_cancel_at: null,
    },
    outcome: 'applied',
    status: 'active',
  },
  {
    when: 'an operator corrects to canceling without a cancel time',
    state: account('active'),
    data: {
      kind: 'manual.correction',
      status: 'canceling',
      reason: 'x',
      actor: 'ops',
      scheduled_cancel_at: null,
    },
    outcome: 'rejected',
    status: 'active',
  },
];

function myasp(code: '1' | '2' | '3' | '4'): EventData {
  return {
    kind: 'myasp.status_changed',
    myasp_user_id: 'u42',
    provider_status: code,
    email: null,
    plan: 'standard',
    amount: 1980,
  };
}

describe('transition (SPEC §3)', () => {
  it.each(rows)('when $when, then $outcome → $status', (row) => {
    const e = event(row.data, { occurred_at: row.at ?? AFTER_TRIAL });
    const d = transition(row.state, e);
    expect(d.outcome).toBe(row.outcome);
    expect(d.state?.status ?? null).toBe(row.status);
    if (row.outcome === 'applied' && d.state) {
      expect(d.state.last_event_id).toBe(e.event_id);
      row.check?.(d.state);
    } else {
      expect(d.state).toBe(row.state);
    }
  });
});

describe('ordering', () => {
  it('when an older event on the same subscription arrives after a newer one, then it is stale and state does not move back', () => {
    const afterDelete = transition(
      account('active'),
      event(deleted, { occurred_at: '2026-06-10T00:00:00.000Z' }),
    ).state;
    const late = transition(
      afterDelete,
      event(updated('active', PERIOD_END), { occurred_at: '2026-06-09T00:00:00.000Z' }),
    );
    expect(late.outcome).toBe('stale');
    expect(late.state?.status).toBe('canceled');
    expect(late.audit.action).toBe('billing.event_stale');
  });

  it('when two events on one object share the same second, then both apply in arrival order', () => {
    const at = '2026-06-10T00:00:00.000Z';
    const s1 = transition(account('active'), event(failed, { occurred_at: at })).state;
    const s2 = transition(s1, event(paid, { occurred_at: at }));
    expect(s2.outcome).toBe('applied');
    expect(s2.state?.status).toBe('active');
  });

  it('when events come in reverse order, then the newest wins', () => {
    const created = event(started('customer.subscription.created'), {
      occurred_at: '2026-06-01T00:00:00.000Z',
    });
    const cancel = event(updated('active', PERIOD_END), {
      occurred_at: '2026-06-02T00:00:00.000Z',
    });
    const del = event(deleted, { occurred_at: '2026-06-03T00:00:00.000Z' });
    let s: AccountState | null = null;
    const outcomes = [del, cancel, created].map((e) => {
      const d = transition(s, e);
      s = d.state;
      return d.outcome;
    });
    expect(outcomes).toEqual(['applied', 'stale', 'stale']);
    expect((s as AccountState | null)?.status).toBe('canceled');
  });

  it('when MyASP posts an older ts after a newer one, then the state does not go back', () => {
    const stopped = transition(null, {
      ...event(myasp('2')),
      object_key: 'myasp:u42',
      occurred_at: '2026-06-02T00:00:00.000Z',
    }).state;
    const old = transition(stopped, {
      ...event(myasp('1')),
      object_key: 'myasp:u42',
      occurred_at: '2026-06-01T00:00:00.000Z',
    });
    expect(old.outcome).toBe('stale');
    expect(old.state?.status).toBe('stopped');
  });
});

describe('dunning grace', () => {
  const graceFailed: EventData = { ...failed, past_due_grace_ms: 3 * 86_400_000 };

  it('when a payment fails with a grace period, then grace_until is set and a grace timer is next', () => {
    const d = transition(
      account('active'),
      event(graceFailed, { occurred_at: '2026-06-01T00:00:00.000Z' }),
    );
    expect(d.state?.status).toBe('past_due');
    expect(d.state?.grace_until).toBe('2026-06-04T00:00:00.000Z');
    expect(nextTimer(d.state)).toEqual({ timer: 'grace_end', due_at: '2026-06-04T00:00:00.000Z' });
  });

  it('when the payment succeeds during grace, then the grace is cleared with the past_due', () => {
    const s = transition(
      account('active'),
      event(graceFailed, { occurred_at: '2026-06-01T00:00:00.000Z' }),
    ).state;
    const d = transition(s, event(paid, { occurred_at: '2026-06-02T00:00:00.000Z' }));
    expect(d.state?.status).toBe('active');
    expect(d.state?.grace_until).toBeNull();
    expect(nextTimer(d.state)).toBeNull();
  });

  it('when the grace timer fires, then the account stays past_due without grace', () => {
    const s = transition(
      account('active'),
      event(graceFailed, { occurred_at: '2026-06-01T00:00:00.000Z' }),
    ).state;
    const d = transition(
      s,
      event(timer('grace_end', '2026-06-04T00:00:00.000Z'), {
        occurred_at: '2026-06-04T00:00:00.000Z',
      }),
    );
    expect(d.outcome).toBe('applied');
    expect(d.state?.status).toBe('past_due');
    expect(d.state?.grace_until).toBeNull();
    expect(d.audit.action).toBe('billing.grace_ended');
  });
});

describe('bookkeeping', () => {
  it('when an invoice with tax fails, then the subscription price stays the account amount', () => {
    const invoice: EventData = { ...failed, amount: 2178 };
    const d = transition(account('active'), event(invoice));
    expect(d.state?.amount).toBe(1980);
  });

  it('when the status changes, then status_since and status_event_id point at the event', () => {
    const e = event(failed, { occurred_at: '2026-06-05T00:00:00.000Z' });
    const d = transition(account('active'), e);
    expect(d.state?.status_since).toBe('2026-06-05T00:00:00.000Z');
    expect(d.state?.status_event_id).toBe(e.event_id);
    expect(d.state?.object_versions['stripe:sub_1#invoice']).toBe('2026-06-05T00:00:00.000Z');
  });

  it('when the same events are folded twice, then the projections are identical (rebuild is exact)', () => {
    const events = [
      event(
        {
          kind: 'account.registered',
          trial_end: TRIAL_END,
          email: null,
          stripe_customer_id: null,
          myasp_user_id: null,
        },
        { occurred_at: T0 },
      ),
      event(started(), { occurred_at: IN_TRIAL }),
      event(updated('active', PERIOD_END), { occurred_at: AFTER_TRIAL }),
    ];
    const fold = () => events.reduce<AccountState | null>((s, e) => transition(s, e).state, null);
    expect(fold()).toEqual(fold());
    expect(fold()?.status).toBe('canceling');
  });
});
