// What one gate answer costs (SPEC §2): a single statement on a single connection — the
// projection row by primary key plus the live overrides — with the same answer as before,
// provenance included. Real PostgreSQL.
import type pg from 'pg';

import { createPool } from '../../src/db/pool';
import { upsertAccount } from '../../src/db/queries/billing-accounts';
import { insertEvent, type NewEvent } from '../../src/db/queries/billing-events';
import { insertOverride } from '../../src/db/queries/gate-overrides';
import { emptyAccount } from '../../src/domain/transition';
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
      provenance: { event: 'evt_gate_cost_1', object: 'stripe:sub_1' },
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
});
