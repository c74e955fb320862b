// Replay (SPEC §7) over the operator fixture: an account's timeline in processed order.
import { replayTimeline } from '../../src/ops/integrity';
import type { TestDatabase } from '../helpers/db';
import { useOpsFixture } from '../helpers/ops-fixture';

let db: TestDatabase;
useOpsFixture((fixture) => {
  db = fixture.db;
});

describe('replay', () => {
  it('when an account is replayed, then its events come in processed order with outcome, action and status change, pending last', async () => {
    const t = await replayTimeline(db.pool, 'acct_a');
    expect(
      t.entries.map((e) => [e.dedupe_key, e.outcome, e.action, e.from_status, e.to_status]),
    ).toEqual([
      ['api:account.registered:acct_a', 'applied', 'billing.account_registered', null, 'free'],
      ['evt_1', 'applied', 'billing.checkout_completed', 'free', 'early_payment'],
      ['evt_2', 'applied', 'billing.subscription_updated', 'early_payment', 'canceling'],
      ['evt_old', 'stale', 'billing.event_stale', 'canceling', 'canceling'],
      ['evt_3', 'ignored', 'billing.event_ignored', 'canceling', 'canceling'],
      ['evt_4', 'applied', 'billing.payment_failed', 'canceling', 'past_due'],
      ['evt_5', 'applied', 'billing.invoice_paid', 'past_due', 'canceling'],
      ['evt_pending', null, null, null, null],
    ]);
    expect(t.entries[7]).toMatchObject({ pending: true, position: 8 });
    expect(t).toMatchObject({ pending: 1, current: { status: 'canceling' } });
    expect(t.entries[3]?.reason).toBe('older_than_newest_evidence');
  });
});
