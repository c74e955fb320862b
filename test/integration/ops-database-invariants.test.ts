// The invariants PostgreSQL enforces by itself (SPEC §4): append-only events and audit rows,
// outcomes written once, unique dedupe keys. These write outcomes by hand, which the checks in
// the other ops-*.test.ts files would rightly flag: this file's database is its own.
import { insertEvent } from '../../src/db/queries/billing-events';
import { dedupeCheck } from '../../src/ops/integrity';
import type { TestDatabase } from '../helpers/db';
import { at, type EventToStore, type OpsFixture, useOpsFixture } from '../helpers/ops-fixture';

let ops: OpsFixture;
let db: TestDatabase;
useOpsFixture((fixture) => {
  ops = fixture;
  db = fixture.db;
});

const store = (e: EventToStore) => ops.store(e);

describe('the database enforces the invariants itself', () => {
  const refused = /append-only/;

  it('when billing_events is updated, deleted or truncated, then PostgreSQL refuses', async () => {
    await expect(
      db.pool.query(`UPDATE billing_events SET event_type = 'x' WHERE dedupe_key = 'evt_1'`),
    ).rejects.toThrow(refused);
    await expect(
      db.pool.query(`DELETE FROM billing_events WHERE dedupe_key = 'evt_1'`),
    ).rejects.toThrow(refused);
    await expect(db.pool.query('TRUNCATE billing_events CASCADE')).rejects.toThrow(refused);
  });

  it('when audit_logs is updated, deleted or truncated, then PostgreSQL refuses', async () => {
    await expect(db.pool.query(`UPDATE audit_logs SET actor = 'x'`)).rejects.toThrow(refused);
    await expect(db.pool.query('DELETE FROM audit_logs')).rejects.toThrow(refused);
    await expect(db.pool.query('TRUNCATE audit_logs')).rejects.toThrow(refused);
  });

  it('when an outcome is written, then it is accepted once and never changed or written with other columns', async () => {
    const e = await store({
      account_id: 'acct_z',
      dedupe_key: 'evt_once',
      data: { kind: 'unhandled' },
    });
    const write = (outcome: string, extra = '') =>
      db.pool.query(
        `UPDATE billing_events SET outcome = $2::text, processed_at = now(), processed_seq = nextval('billing_events_processed_seq')${extra} WHERE id = $1::bigint`,
        [e.id, outcome],
      );
    await expect(write('ignored', `, payload = '{}'`)).rejects.toThrow(refused);
    await expect(write('ignored')).resolves.toMatchObject({ rowCount: 1 });
    await expect(write('applied')).rejects.toThrow(refused);
  });

  it('when a dedupe_key is stored twice, then the UNIQUE constraint refuses the second row', async () => {
    const insert = () =>
      db.pool.query(
        `INSERT INTO billing_events (source, dedupe_key, event_type, account_id, occurred_at, payload, data)
         VALUES ('stripe', 'evt_1', 'x', 'acct_a', now(), '{}', '{}')`,
      );
    await expect(insert()).rejects.toMatchObject({ code: '23505' });
    const again = await insertEvent(db.pool, {
      source: 'stripe',
      dedupe_key: 'evt_1',
      event_type: 'x',
      account_id: 'acct_a',
      occurred_at: at(0),
      object_key: null,
      payload: {},
      data: { kind: 'unhandled' },
    });
    expect(again.duplicate).toBe(true);
    expect((await dedupeCheck(db.pool)).duplicates).toBe(0);
  });
});
