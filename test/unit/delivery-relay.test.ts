// The relay (src/delivery/relay.ts) around its scheduler, with PostgreSQL and Temporal standing
// in: what a webhook answer says about its event (`delivery`, docs/api.md), and a stop with
// thousands of accounts waiting. Integration tests cover it with both servers.
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

/** A Temporal whose signal-with-start waits until the test answers it (or refuses it). */
function temporalAnsweredByTest() {
  const signals: { accountId: string; answer(err?: Error): void }[] = [];
  const temporal = {
    taskQueue: 'q',
    client: {
      withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
      workflow: {
        signalWithStart: (_wf: string, o: { args: [{ account_id: string }] }) =>
          new Promise<void>((resolve, reject) =>
            signals.push({
              accountId: o.args[0].account_id,
              answer: (err) => (err ? reject(err) : resolve()),
            }),
          ),
      },
    },
  } as unknown as BillingTemporal;
  return { temporal, signals };
}

const pool = { query: () => Promise.resolve({ rows: [{ dead: false }] }) } as unknown as pg.Pool;
const silent = pino({ level: 'silent' });

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

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('what a webhook answer says about its event (delivery)', () => {
  it('when the relay sends at once, holds behind a wake-up in flight, waits for a turn, or Temporal is down, then the answers say sending, waiting_turn, waiting_turn and queued', async () => {
    const { temporal, signals } = temporalAnsweredByTest();
    const relay = new DeliveryRelay(
      pool,
      temporal,
      silent,
      { waitMs: 0, maxInFlight: 1 },
      () => false,
    );
    expect(await relay.deliverSoon(storedEvent(1, 'acct_a'))).toBe('sending');
    expect(await relay.deliverSoon(storedEvent(2, 'acct_b'))).toBe('sending');
    await turn();
    expect(signals.map((s) => s.accountId)).toEqual(['acct_a', 'acct_b']);
    // acct_a's wake-up is in flight: its next event rides the next one.
    expect(await relay.deliverSoon(storedEvent(3, 'acct_a'))).toBe('waiting_turn');
    // Two wake-ups are out for new accounts (twice the bound): acct_c waits its turn.
    expect(await relay.deliverSoon(storedEvent(4, 'acct_c'))).toBe('waiting_turn');
    signals[0]?.answer(Object.assign(new Error('connect ECONNREFUSED'), { code: 14 }));
    await turn();
    // Temporal did not take a wake-up: answers stop waiting for it, the sweeper delivers.
    expect(await relay.deliverSoon(storedEvent(5, 'acct_d'))).toBe('queued');
    relay.stop();
    signals.slice(1).forEach((s) => s.answer());
    await Promise.allSettled(relay.pending());
  });

  it('when the answer may wait and Temporal accepts in time, then it says accepted_by_workflow; when the account is held behind its last wake-up, waiting_turn', async () => {
    const { temporal, signals } = temporalAnsweredByTest();
    const relay = new DeliveryRelay(pool, temporal, silent, { waitMs: 50 }, () => false);
    relay.setHearingApplied(true);
    const first = relay.deliverSoon(storedEvent(1, 'acct_a'));
    await turn();
    signals[0]?.answer();
    expect(await first).toBe('accepted_by_workflow');
    // Accepted and held until its events are applied: the next event waits behind it.
    expect(await relay.deliverSoon(storedEvent(2, 'acct_a'))).toBe('waiting_turn');
    relay.stop();
    await turn();
    signals.slice(1).forEach((s) => s.answer());
    await Promise.allSettled(relay.pending());
  });
});

describe('delivery relay, stopping with accounts waiting their turn', () => {
  it('when 30,000 accounts wait and the process stops, then every one is let go and nothing is sent', async () => {
    const relay = new DeliveryRelay(
      untouchable<pg.Pool>('PostgreSQL'),
      untouchable<BillingTemporal>('Temporal'),
      silent,
      { waitMs: 0, maxInFlight: 1 },
      () => false,
    );
    const accounts = Array.from({ length: 30_000 }, (_, i) => `acct_${i}`);
    // Queued in one turn of the event loop; the relay's first send is due on the next.
    const answers = await Promise.all(
      accounts.map((a, i) => relay.deliverSoon(storedEvent(i + 1, a))),
    );
    expect(new Set(answers)).toEqual(new Set(['sending', 'waiting_turn']));
    relay.stop();
    // Let the relay work through its queue: each send settles before the next account's turn.
    let outcomes: PromiseSettledResult<unknown>[] = [];
    for (let round = 0; round < 10 && accounts.some((a) => relay.hasInHand(a)); round++) {
      await turn();
      outcomes = outcomes.concat(await Promise.allSettled(relay.pending()));
    }
    const failures = outcomes.filter((o) => o.status === 'rejected');
    expect(failures.map((f) => String(f.reason))).toEqual([]);
    expect(accounts.filter((a) => relay.hasInHand(a))).toEqual([]);
  });
});
