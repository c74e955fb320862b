// What one gate answer costs (SPEC §2, §6): a single statement on a single connection — the
// projection row by primary key, the live overrides, and whether anything is pending — with the
// same answer as before, provenance included. Only when the account has an event its workflow
// has not applied, or a deadline has passed, does a second statement read the row with its
// pending events to fold them. Real PostgreSQL.
import type pg from 'pg';

import { createPool } from '../../src/db/pool';
import { upsertAccount } from '../../src/db/queries/billing-accounts';
import {
  insertEvent,
  type NewEvent,
  toBillingEvent,
  writeOutcomes,
} from '../../src/db/queries/billing-events';
import { insertOverride } from '../../src/db/queries/gate-overrides';
import { nextDeadlineAt } from '../../src/domain/fold';
import { emptyAccount, transition } from '../../src/domain/transition';
import type { AccountState } from '../../src/domain/types';
import { checkGate } from '../../src/services/gate';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { uid } from '../helpers/ids';

let db: TestDatabase;
/** The service's own pool: its type parsers give times as ISO strings, as in production. */
let service: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  service = createPool(db.databaseUrl);
});
afterAll(async () => {
  await service.end();
  await db.drop();
});

/** The pool as the gate sees it, counting every statement sent and every connection taken. */
function counting(pool: pg.Pool) {
  const counts = { queries: 0, connects: 0 };
  const wrapped = {
    query: (...args: Parameters<pg.Pool['query']>) => {
      counts.queries += 1;
      return (pool.query as (...a: unknown[]) => unknown)(...args);
    },
    connect: () => {
      counts.connects += 1;
      return pool.connect();
    },
  } as unknown as pg.Pool;
  return { pool: wrapped, counts };
}

/** An account whose status was set by one stored event with `payload`. */
async function accountSetBy(
  status: 'past_due' | 'active',
  event: Pick<NewEvent, 'source' | 'dedupe_key' | 'payload'>,
): Promise<string> {
  const accountId = uid('gate_cost');
  const { event: stored } = await insertEvent(db.pool, {
    event_type: 'invoice.payment_failed',
    account_id: accountId,
    occurred_at: '2026-03-01T00:00:00.000Z',
    object_key: null,
    data: { kind: 'unhandled' },
    ...event,
  });
  await writeOutcomes(db.pool, [{ id: stored.id, outcome: 'applied' }]);
  await upsertAccount(
    db.pool,
    {
      ...emptyAccount(accountId, 'stripe'),
      status,
      status_since: '2026-03-01T00:00:00.000Z',
      status_event_id: stored.id,
      last_event_id: stored.id,
      status_object: 'stripe:sub_1',
      status_reason: 'payment_failed',
    },
    null,
  );
  return accountId;
}

const gatedActions = ['confirm'];

describe('the cost of one gate answer', () => {
  it('when confirm is asked of a past_due account, then one statement answers, naming the provider event', async () => {
    const id = await accountSetBy('past_due', {
      source: 'stripe',
      dedupe_key: 'stripe:evt_gate_cost_1',
      payload: { id: 'evt_gate_cost_1', type: 'invoice.payment_failed' },
    });
    const { pool, counts } = counting(service);
    const d = await checkGate({ pool, gatedActions }, id, 'confirm');
    expect(d).toMatchObject({
      allowed: false,
      reason: 'status:past_due',
      provenance: {
        event: 'evt_gate_cost_1',
        event_id: expect.any(String),
        object: 'stripe:sub_1',
      },
    });
    expect(counts).toEqual({ queries: 1, connects: 0 });
  });

  it('when a live override covers the account, then the same single statement finds it', async () => {
    const id = await accountSetBy('past_due', {
      source: 'myasp',
      dedupe_key: `myasp:${uid('k')}`,
      payload: { event_id: 'myasp-evt-7', user_id: '7' },
    });
    const expires = new Date(Date.now() + 3_600_000);
    await insertOverride(db.pool, {
      id: uid('ovr'),
      account_id: id,
      actions: ['confirm'],
      reason: 'incident',
      created_by: 'test',
      expires_at: expires.toISOString(),
    });
    const { pool, counts } = counting(service);
    const d = await checkGate({ pool, gatedActions }, id, 'confirm');
    expect(d).toMatchObject({ allowed: true, reason: expect.stringMatching(/^override:/) });
    expect(d.message).toContain(`until ${expires.toISOString()} (incident)`);
    expect(d.provenance).toMatchObject({ event: 'myasp-evt-7' });
    expect(counts).toEqual({ queries: 1, connects: 0 });
  });

  it('when the account has no billing record, then one statement answers no_billing_account', async () => {
    const { pool, counts } = counting(service);
    const d = await checkGate({ pool, gatedActions }, uid('nobody'), 'Confirm');
    expect(d).toMatchObject({ allowed: false, reason: 'no_billing_account', status: null });
    expect(counts).toEqual({ queries: 1, connects: 0 });
  });

  it('when an acknowledged event of the account is not applied yet, then a second statement reads it and the answer folds it in', async () => {
    const id = await accountSetBy('active', {
      source: 'stripe',
      dedupe_key: `stripe:${uid('evt_active')}`,
      payload: {},
    });
    const pending = await insertEvent(db.pool, {
      source: 'stripe',
      dedupe_key: 'stripe:evt_gate_cost_pending',
      event_type: 'invoice.payment_failed',
      account_id: id,
      occurred_at: '2026-03-02T00:00:00.000Z',
      object_key: 'stripe:sub_1',
      payload: { id: 'evt_gate_cost_pending' },
      data: {
        kind: 'stripe.payment_failed',
        customer_id: 'cus_1',
        subscription_id: 'sub_1',
        plan: null,
        amount: null,
        past_due_grace_ms: null,
      },
    });
    const { pool, counts } = counting(service);
    const d = await checkGate({ pool, gatedActions }, id, 'confirm');
    expect(d).toMatchObject({
      allowed: false,
      reason: 'status:past_due',
      pending_events_folded: 1,
      as_of_event_id: pending.event.id,
      provenance: {
        event: 'evt_gate_cost_pending',
        event_id: pending.event.id,
        pending: true,
      },
    });
    expect(counts).toEqual({ queries: 2, connects: 0 });
  });

  it('when the trial ended and its timer has not fired, then a second statement reads the row and the answer honours the deadline', async () => {
    const accountId = uid('gate_cost_trial');
    const trialEnd = new Date(Date.now() - 60_000).toISOString();
    const data = {
      kind: 'account.registered' as const,
      trial_end: trialEnd,
      email: null,
      stripe_customer_id: null,
      myasp_user_id: null,
    };
    const { event } = await insertEvent(db.pool, {
      source: 'api',
      dedupe_key: `api:${accountId}`,
      event_type: 'account.registered',
      account_id: accountId,
      occurred_at: new Date(Date.now() - 14 * 86_400_000).toISOString(),
      object_key: null,
      payload: data,
      data,
    });
    const state = transition(null, toBillingEvent(event)).state as AccountState;
    expect(state.status).toBe('free');
    await writeOutcomes(db.pool, [{ id: event.id, outcome: 'applied' }]);
    await upsertAccount(db.pool, state, nextDeadlineAt(state));
    const { pool, counts } = counting(service);
    const d = await checkGate({ pool, gatedActions }, accountId, 'confirm');
    expect(d).toMatchObject({
      allowed: false,
      status: 'past_due',
      deadlines_passed: [{ timer: 'trial_end', due_at: trialEnd }],
      provenance: { reason: 'trial_over', pending: true },
    });
    expect(counts).toEqual({ queries: 2, connects: 0 });
  });
});
