// The settings a what-if proposes (src/domain/policy.ts): parsed with one sentence per problem,
// and applied to stored events as if they had been in force when each was stored.
import { parsePolicySettings, underPolicy } from '../../src/domain/policy';
import type { BillingEvent, EventData } from '../../src/domain/types';

const event = (data: EventData, occurred_at = '2026-11-01T00:00:00.000Z'): BillingEvent => ({
  event_id: '1',
  source: 'stripe',
  dedupe_key: 'evt_1',
  event_type: data.kind,
  account_id: 'acct_1',
  occurred_at,
  object_key: null,
  data,
});
const links = { customer_id: null, subscription_id: 'sub_1', plan: null, amount: null };

describe('policy settings', () => {
  it('when every key is known and every value valid, then they are parsed as the service reads them', () => {
    expect(
      parsePolicySettings([
        'PAST_DUE_GRACE=3d',
        'GATED_ACTIONS=Confirm, export',
        'DEFAULT_TRIAL_DAYS=30',
      ]),
    ).toEqual({
      settings: {
        past_due_grace_ms: 3 * 86_400_000,
        gated_actions: ['confirm', 'export'],
        default_trial_days: 30,
      },
      errors: [],
    });
    expect(parsePolicySettings(['PAST_DUE_GRACE=none']).settings).toEqual({
      past_due_grace_ms: null,
    });
  });

  it('when values are bad, then each gets its own sentence', () => {
    const { errors } = parsePolicySettings([
      'DEFAULT_TRIAL_DAYS=-1',
      'DEFAULT_TRIAL_DAYS=1.5',
      'GATED_ACTIONS=export,propose',
    ]);
    expect(errors).toEqual([
      'DEFAULT_TRIAL_DAYS="-1" is not a whole number of days from 0 to 3650.',
      'DEFAULT_TRIAL_DAYS="1.5" is not a whole number of days from 0 to 3650.',
      'GATED_ACTIONS="export,propose" lists propose, which the gate never stops (SPEC §2); remove it.',
    ]);
  });

  it('when a grace is proposed, then every payment failure and snapshot carries it and other events stay the same object', () => {
    const failed = event({ kind: 'stripe.payment_failed', past_due_grace_ms: null, ...links });
    const paid = event({ kind: 'stripe.payment_succeeded', ...links });
    const settings = { past_due_grace_ms: 86_400_000 };
    expect(underPolicy(failed, settings).data).toEqual({
      ...failed.data,
      past_due_grace_ms: 86_400_000,
    });
    expect(underPolicy(paid, settings)).toBe(paid);
    expect(underPolicy(failed, {})).toBe(failed);
    const pastDue = event({
      kind: 'stripe.subscription_updated',
      subscription_status: 'past_due',
      cancel_at: null,
      ...links,
    });
    expect(underPolicy(pastDue, settings).data).toMatchObject({ past_due_grace_ms: 86_400_000 });
  });

  it('when a default trial is proposed, then only registrations that took the default get it', () => {
    const registered = event({
      kind: 'account.registered',
      trial_end: '2026-11-08T00:00:00.000Z',
      email: null,
      stripe_customer_id: null,
      myasp_user_id: null,
    });
    const settings = { default_trial_days: 30 };
    expect(underPolicy(registered, settings, { default_trial: true }).data).toMatchObject({
      trial_end: '2026-12-01T00:00:00.000Z',
    });
    expect(
      underPolicy(registered, { default_trial_days: 0 }, { default_trial: true }).data,
    ).toMatchObject({
      trial_end: null,
    });
    expect(underPolicy(registered, settings, { default_trial: false })).toBe(registered);
  });
});
