// The integrity check and the projection rebuild (SPEC §4) over the operator fixture: every
// invariant holds when the workflows wrote everything, and a damaged projection is named column
// by column and restored.
import { getAccount, listAllAccounts } from '../../src/db/queries/billing-accounts';
import { dedupeCheck, integrityCheck, rebuildProjection } from '../../src/ops/integrity';
import type { TestDatabase } from '../helpers/db';
import { at, DAY, useOpsFixture } from '../helpers/ops-fixture';

let db: TestDatabase;
useOpsFixture((fixture) => {
  db = fixture.db;
});

describe('integrity check and rebuild', () => {
  it('when the workflows wrote everything, then every invariant holds and dedupe finds nothing', async () => {
    const result = await integrityCheck(db.pool);
    expect(result.items.filter((i) => i.status !== 'ok')).toEqual([]);
    expect(result.ok).toBe(true);
    expect(await dedupeCheck(db.pool)).toEqual({ ok: true, duplicates: 0, keys: [] });
  });

  it('when folded from billing_events, then the rebuild reproduces billing_accounts exactly', async () => {
    const progress: [number, number][] = [];
    const result = await rebuildProjection(db.pool, {
      apply: false,
      pageSize: 4,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(result).toMatchObject({
      ok: true,
      events: 11,
      accounts: 3,
      matching: 3,
      differing: [],
      missing: [],
      extra: [],
      outcome_mismatches: [],
    });
    expect(progress[progress.length - 1]).toEqual([11, 11]);
    const rows = await listAllAccounts(db.pool);
    expect(rows.map((r) => r.account_id)).toEqual(['acct_a', 'acct_c', 'myasp:42']);
    expect(rows.find((r) => r.account_id === 'acct_a')).toMatchObject({
      status: 'canceling',
      scheduled_cancel_at: at(30 * DAY),
      amount: 980,
      object_versions: { 'stripe:sub_a': at(2 * DAY), 'stripe:sub_a#invoice': at(4 * DAY) },
    });
  });

  it('when a row was written before per-object status (no objects), then --apply brings it to the derived rule exactly', async () => {
    const before = await listAllAccounts(db.pool);
    await db.pool.query(
      `UPDATE billing_accounts SET objects = NULL, as_of = NULL, status_object = NULL, status_reason = NULL
        WHERE account_id = 'acct_a'`,
    );
    const dry = await rebuildProjection(db.pool, { apply: false });
    expect(dry.differing.map((d) => d.column).sort()).toEqual(
      ['as_of', 'objects', 'status_object', 'status_reason'].sort(),
    );
    const fixed = await rebuildProjection(db.pool, { apply: true });
    expect(fixed).toMatchObject({ ok: true, written: ['acct_a'] });
    expect(await listAllAccounts(db.pool)).toEqual(before);
  });

  it('when a row is edited by hand or deleted, then the rebuild names each column and --apply restores it', async () => {
    const before = await listAllAccounts(db.pool);
    await db.pool.query(
      `UPDATE billing_accounts SET status = 'active', amount = 1, object_versions = '{}' WHERE account_id = 'acct_a'`,
    );
    await db.pool.query(`DELETE FROM billing_accounts WHERE account_id = 'myasp:42'`);
    const dry = await rebuildProjection(db.pool, { apply: false });
    expect(dry.differing.map((d) => [d.column, d.projection, d.rebuilt])).toEqual([
      ['status', 'active', 'canceling'],
      ['amount', 1, 980],
      ['object_versions', {}, { 'stripe:sub_a': at(2 * DAY), 'stripe:sub_a#invoice': at(4 * DAY) }],
    ]);
    expect(dry).toMatchObject({ ok: false, matching: 1, missing: ['myasp:42'], written: [] });
    expect((await integrityCheck(db.pool)).ok).toBe(false);
    const fixed = await rebuildProjection(db.pool, { apply: true });
    expect(fixed).toMatchObject({ ok: true, written: ['acct_a', 'myasp:42'], skipped: [] });
    expect(await listAllAccounts(db.pool)).toEqual(before);
    expect((await rebuildProjection(db.pool, { apply: false })).ok).toBe(true);
    expect((await integrityCheck(db.pool)).ok).toBe(true);
  });

  it('when the fold is split over worker threads, then every finding is the same as on one thread and --apply restores the rows', async () => {
    const before = await listAllAccounts(db.pool);
    await db.pool.query(
      `UPDATE billing_accounts SET status = 'active' WHERE account_id = 'acct_a'`,
    );
    await db.pool.query(`DELETE FROM billing_accounts WHERE account_id = 'myasp:42'`);
    await db.pool.query(
      `INSERT INTO billing_accounts (account_id, provider, status, last_event_id)
       SELECT 'ghost', 'none', 'active', id FROM billing_events WHERE dedupe_key = 'evt_5'`,
    );
    try {
      const onOne = await rebuildProjection(db.pool, { apply: false, pageSize: 4 });
      expect(onOne).toMatchObject({
        ok: false,
        events: 11,
        accounts: 3,
        matching: 1,
        differing: [{ account_id: 'acct_a', column: 'status', projection: 'active' }],
        missing: ['myasp:42'],
        extra: ['ghost'],
      });
      for (const threads of [2, 3]) {
        const progress: number[] = [];
        const split = await rebuildProjection(db.pool, {
          apply: false,
          pageSize: 2,
          parallel: { databaseUrl: db.databaseUrl, threads },
          onProgress: (done) => progress.push(done),
        });
        expect(split).toEqual(onOne);
        expect(progress.at(-1)).toBe(11);
      }
      const fixed = await rebuildProjection(db.pool, {
        apply: true,
        parallel: { databaseUrl: db.databaseUrl, threads: 2 },
      });
      expect(fixed).toMatchObject({
        written: ['acct_a', 'myasp:42'],
        skipped: [],
        extra: ['ghost'],
      });
    } finally {
      await db.pool.query(`DELETE FROM billing_accounts WHERE account_id = 'ghost'`);
      await rebuildProjection(db.pool, { apply: true });
    }
    expect(await listAllAccounts(db.pool)).toEqual(before);
  });

  it('when a thread cannot reach the database, then the rebuild fails with the database’s answer', async () => {
    const wrong = db.databaseUrl.replace(/\/[^/]*$/, '/no_such_database');
    await expect(
      rebuildProjection(db.pool, {
        apply: true,
        parallel: { databaseUrl: wrong, threads: 2 },
      }),
    ).rejects.toThrow(/no_such_database/);
  });

  it('when a row points at another account’s event, then integrity fails and rebuild reports it as extra without deleting it', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT id::text AS id FROM billing_events WHERE dedupe_key = 'evt_5'`,
    );
    await db.pool.query(
      `INSERT INTO billing_accounts (account_id, provider, status, last_event_id) VALUES ('ghost', 'none', 'active', $1::bigint)`,
      [rows[0]?.id],
    );
    try {
      const integrity = await integrityCheck(db.pool);
      expect(integrity.items.find((i) => i.name === 'projection_last_event')).toMatchObject({
        status: 'fail',
        value: { rows: [{ account_id: 'ghost', problem: 'other_account' }] },
      });
      const rebuilt = await rebuildProjection(db.pool, { apply: true });
      expect(rebuilt).toMatchObject({ ok: false, extra: ['ghost'], written: [] });
      expect(await getAccount(db.pool, 'ghost')).not.toBeNull();
    } finally {
      await db.pool.query(`DELETE FROM billing_accounts WHERE account_id = 'ghost'`);
    }
  });
});
