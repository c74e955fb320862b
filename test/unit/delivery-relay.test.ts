// The relay's queue when nothing may be sent (the process is stopping): every waiting account is
// let go with `unavailable`, however many there are, without touching PostgreSQL or Temporal —
// their events stay stored for the sweeper. Integration tests cover the relay with both.
import type pg from 'pg';
import pino from 'pino';

import type { StoredEvent } from '../../src/db/queries/billing-events';
import { DeliveryRelay } from '../../src/delivery/relay';
import type { BillingTemporal } from '../../src/temporal/client';

/** Stands where PostgreSQL and Temporal would: any use of it fails the test. */
function untouchable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      throw new Error(`the relay used ${what}.${String(prop)} while stopping`);
    },
  });
}

function storedEvent(id: number, accountId: string): StoredEvent {
  return {
    id: String(id),
    source: 'stripe',
    dedupe_key: `stripe:evt_${id}`,
    event_type: 'invoice.payment_failed',
    account_id: accountId,
    occurred_at: '2026-12-01T00:00:00.000Z',
    received_at: '2026-12-01T00:00:00.000Z',
    object_key: `stripe:sub_${id}`,
    payload: {},
    data: {},
    outcome: null,
    processed_at: null,
    processed_seq: null,
  } as StoredEvent;
}

describe('delivery relay, stopping with accounts waiting their turn', () => {
  it('when 30,000 accounts wait and the process stops, then every one is let go and nothing is sent', async () => {
    const relay = new DeliveryRelay(
      untouchable<pg.Pool>('PostgreSQL'),
      untouchable<BillingTemporal>('Temporal'),
      pino({ level: 'silent' }),
      { waitMs: 0, maxInFlight: 1 },
      () => false,
    );
    const accounts = Array.from({ length: 30_000 }, (_, i) => `acct_${i}`);
    // Queued in one turn of the event loop; the relay's first send is due on the next.
    const answers = await Promise.all(
      accounts.map((a, i) => relay.deliverSoon(storedEvent(i + 1, a))),
    );
    expect(new Set(answers)).toEqual(new Set(['pending']));
    relay.markStopping();
    // Let the relay work through its queue: each send settles before the next account's turn.
    let outcomes: PromiseSettledResult<unknown>[] = [];
    for (let round = 0; round < 10 && accounts.some((a) => relay.hasInHand(a)); round++) {
      await new Promise((resolve) => setImmediate(resolve));
      outcomes = outcomes.concat(await Promise.allSettled(relay.pending()));
    }
    const failures = outcomes.filter((o) => o.status === 'rejected');
    expect(failures.map((f) => String(f.reason))).toEqual([]);
    expect(accounts.filter((a) => relay.hasInHand(a))).toEqual([]);
  });
});
