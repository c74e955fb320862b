// The gate's decision (SPEC §2) from projection facts: which actions are gated, and how the answer
// names the provider object that decided the status.
import { decideGate, type GateAccount, isGated } from '../../src/domain/gate';

const NOW = new Date('2026-03-01T00:00:00.000Z');

function account(overrides: Partial<GateAccount> = {}): GateAccount {
  return {
    status: 'active',
    status_since: '2026-02-01T00:00:00.000Z',
    status_event_ref: 'evt_1',
    grace_until: null,
    status_object: 'stripe:sub_123',
    status_reason: 'subscription_active',
    ...overrides,
  };
}

const decide = (action: string, a: GateAccount | null, gatedActions = ['confirm']) =>
  decideGate({ accountId: 'acct_1', action, account: a, gatedActions, overrides: [], now: NOW });

describe('gate actions', () => {
  it.each(['Confirm', 'CONFIRM', ' confirm '])(
    'when the action is spelled %j, then it is gated like confirm',
    (action) => {
      expect(isGated(action, ['confirm'])).toBe(true);
      const d = decide(action, account({ status: 'past_due' }));
      expect(d.allowed).toBe(false);
      expect(d.action).toBe('confirm');
    },
  );

  it('when the policy spells an action in capitals, then it still gates that action', () => {
    expect(isGated('confirm', ['Confirm'])).toBe(true);
  });

  it.each(['propose', 'Propose', 'VOTE'])('when the action is %s, then it is never gated', (a) => {
    expect(isGated(a, ['confirm', 'propose', 'vote'])).toBe(false);
    expect(decide(a, account({ status: 'canceled' }), ['confirm', a]).allowed).toBe(true);
  });
});

describe('gate provenance', () => {
  it('when a subscription keeps the account active, then the answer names it', () => {
    const d = decide('confirm', account());
    expect(d.allowed).toBe(true);
    expect(d.message).toBe('active by stripe:sub_123 since 2026-02-01T00:00:00.000Z (evt_1).');
    expect(d.provenance).toMatchObject({ object: 'stripe:sub_123', reason: 'subscription_active' });
  });

  it('when a failed payment makes the account past_due, then the answer names the subscription and the event', () => {
    const d = decide(
      'confirm',
      account({
        status: 'past_due',
        status_object: 'stripe:sub_9',
        status_reason: 'payment_failed',
        status_event_ref: 'evt_failed',
      }),
    );
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe('status:past_due');
    expect(d.message).toBe(
      'past_due: stripe:sub_9 payment failed since 2026-02-01T00:00:00.000Z (evt_failed), so confirm is denied.',
    );
  });

  it('when the latest invoice decided the denial, then the answer names that invoice', () => {
    const d = decide(
      'confirm',
      account({
        status: 'past_due',
        status_object: 'stripe:sub_9',
        status_reason: 'payment_failed:in_renewal2',
        status_event_ref: 'evt_failed',
      }),
    );
    expect(d.reason).toBe('status:past_due');
    expect(d.message).toBe(
      'past_due: stripe:sub_9 payment failed (invoice in_renewal2) since 2026-02-01T00:00:00.000Z (evt_failed), so confirm is denied.',
    );
    expect(d.provenance).toMatchObject({
      object: 'stripe:sub_9',
      reason: 'payment_failed:in_renewal2',
      invoice: 'in_renewal2',
    });
  });

  it('when a paid invoice keeps the account active, then the answer names that invoice', () => {
    const d = decide('confirm', account({ status_reason: 'invoice_paid:in_checkout' }));
    expect(d.allowed).toBe(true);
    expect(d.message).toBe(
      'active by stripe:sub_123: invoice paid (invoice in_checkout) since 2026-02-01T00:00:00.000Z (evt_1).',
    );
    expect(d.provenance?.invoice).toBe('in_checkout');
  });
});

describe('gate answers folded from what the workflow has not applied (SPEC §6)', () => {
  const read = {
    pending_events_folded: 2,
    deadlines_passed: [],
    pending_event_not_folded: null,
    as_of_event_id: '42',
  };
  const decideRead = (a: GateAccount, r: typeof read | Record<string, unknown> = read) =>
    decideGate({
      accountId: 'acct_1',
      action: 'confirm',
      account: a,
      gatedActions: ['confirm'],
      overrides: [],
      now: NOW,
      read: { ...read, ...r },
    });

  it('when the deciding event is acknowledged but not applied, then provenance and message say so, and the answer counts what it folded', () => {
    const d = decideRead(
      account({
        status: 'past_due',
        status_reason: 'payment_failed',
        status_event_ref: 'evt_9',
        status_pending: 'event',
      }),
    );
    expect(d).toMatchObject({
      allowed: false,
      reason: 'status:past_due',
      pending_events_folded: 2,
      as_of_event_id: '42',
      provenance: { event: 'evt_9', reason: 'payment_failed', pending: true },
    });
    expect(d.message).toBe(
      'past_due: stripe:sub_123 payment failed since 2026-02-01T00:00:00.000Z (evt_9, acknowledged, not yet applied), so confirm is denied.',
    );
  });

  it('when a passed deadline decided and its timer has not fired, then the message says so instead of naming an event', () => {
    const d = decideRead(
      account({
        status: 'canceled',
        status_reason: 'canceled_at_period_end',
        status_event_ref: 'timer:acct_1:cancel_at_period_end:2026-02-01T00:00:00.000Z:41',
        status_pending: 'deadline',
      }),
      { deadlines_passed: [{ timer: 'cancel_at_period_end', due_at: '2026-02-01T00:00:00.000Z' }] },
    );
    expect(d.message).toBe(
      'canceled: stripe:sub_123 canceled at period end since 2026-02-01T00:00:00.000Z (deadline passed; its timer has not fired yet), so confirm is denied.',
    );
    expect(d.provenance?.pending).toBe(true);
    expect(d.deadlines_passed).toHaveLength(1);
  });

  it('when a pending event could not be folded, then the message says the answer reflects the events before it', () => {
    const notFolded = {
      event_id: '43',
      event: 'evt_thin',
      event_type: 'v1.customer.subscription.updated',
      reason: 'unknown_event_kind',
    };
    const d = decideRead(account(), { pending_event_not_folded: notFolded });
    expect(d.pending_event_not_folded).toEqual(notFolded);
    expect(d.message).toContain(
      'Pending event evt_thin (v1.customer.subscription.updated) could not be included yet (unknown_event_kind); this answer reflects the events before it.',
    );
  });

  it('when nothing was pending, then the answer says none was folded and provenance is not pending', () => {
    const d = decide('confirm', account());
    expect(d).toMatchObject({
      pending_events_folded: 0,
      deadlines_passed: [],
      pending_event_not_folded: null,
      as_of_event_id: null,
      provenance: { pending: false },
    });
  });
});
