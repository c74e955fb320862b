// A year of events, then the checklist's monthly 肥大化 check and its "archive later": the daily
// check reports table sizes and growth per month, `archive-events <YYYY-MM>` moves closed months'
// payloads into the append-only archive, and nothing is lost — every row stays in billing_events,
// billing_events_full returns every payload as stored, integrity, dedupe and rebuild still see
// every event, and the database refuses any other change.
import '../../src/db/pool';

import { type Activities, createActivities } from '../../activities';
import { insertEvent, type StoredEvent } from '../../src/db/queries/billing-events';
import type { EventData } from '../../src/domain/types';
import { createLogger } from '../../src/log';
import { archiveMonth } from '../../src/ops/archive';
import { runDailyCheck } from '../../src/ops/daily-check';
import { dedupeCheck, integrityCheck, rebuildProjection } from '../../src/ops/integrity';
import { runTsx } from '../helpers/cli';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

const TZ = 'Asia/Tokyo';
const MEMBERS = 20;
const MONTHS = Array.from({ length: 12 }, (_, i) => `2025-${String(i + 1).padStart(2, '0')}`);
/** The archive runs "as of" mid-January 2026: every month of 2025 is closed. */
const NOW = new Date('2026-01-15T03:00:00Z');

let db: TestDatabase;
let activities: Activities;
/** Every payload as it was stored, by event id. */
const stored = new Map<string, unknown>();
let unprocessedId = '';

/** Stores an event received at `receivedAt` (as a webhook in that month would have been). */
async function storeAt(receivedAt: string, user: string, code: '1' | '2' | '3', n: number) {
  const data: EventData = {
    kind: 'myasp.status_changed',
    myasp_user_id: user,
    provider_status: code,
    email: `${user}@example.jp`,
    plan: 'standard',
    amount: 1980,
  };
  const payload = {
    user_id: user,
    status: code,
    ts: receivedAt,
    event_id: `ev-${user}-${n}`,
    氏名: '山田 太郎',
  };
  const r = await db.pool.query<StoredEvent>(
    `INSERT INTO billing_events (source, dedupe_key, event_type, account_id, occurred_at, received_at, object_key, payload, data)
     VALUES ('myasp', $1, $2, $3, $4, $4, $3, $5::jsonb, $6::jsonb) RETURNING *`,
    [
      `myasp:${user}:${n}`,
      `myasp.status.${code}`,
      `myasp:${user}`,
      receivedAt,
      JSON.stringify(payload),
      JSON.stringify(data),
    ],
  );
  const row = r.rows[0] as StoredEvent;
  stored.set(String(row.id), payload);
  return row;
}

/** What a wake-up of the account workflow does: apply the account's pending events. */
async function apply(row: StoredEvent) {
  await activities.applyPendingEvents({ account_id: row.account_id });
}

const count = async (sql: string, params: unknown[] = []) =>
  Number(
    (await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${sql}) q`, params))
      .rows[0]?.n,
  );

beforeAll(async () => {
  db = await createTestDatabase();
  activities = createActivities({ pool: db.pool, logger: createLogger('silent') });
  // Each member registers in January, then stops or comes back once a month: 240 events.
  for (const [m, month] of MONTHS.entries()) {
    for (let u = 0; u < MEMBERS; u += 1) {
      const code = m === 0 ? '1' : m % 2 === 1 ? '2' : '3';
      const at = `${month}-${String(10 + (u % 15)).padStart(2, '0')}T0${u % 10}:00:00.000Z`;
      await apply(await storeAt(at, `u${u}`, code, m));
    }
  }
  // One event of March is stored but not processed yet: it must keep its payload.
  unprocessedId = String((await storeAt('2025-03-28T00:00:00.000Z', 'late', '1', 0)).id);
}, 120_000);

afterAll(async () => {
  await db.drop();
});

describe('table growth and archiving, over a year of events', () => {
  it('when the daily check runs, then it reports table sizes and the events of each month', async () => {
    const r = await runDailyCheck(db.pool, { trigger: 'cli', now: NOW, keep: false });
    const growth = r.items.find((i) => i.name === 'table_growth');
    expect(growth?.status).toBe('ok');
    const value = growth?.value as {
      total_bytes: number;
      tables: { table: string; total_bytes: number }[];
      months: { month: string; events: number; archived: number; audit_rows: number }[];
    };
    expect(value.tables.map((t) => t.table)).toEqual(
      expect.arrayContaining(['billing_events', 'audit_logs', 'billing_event_payloads_archive']),
    );
    expect(value.tables.find((t) => t.table === 'billing_events')?.total_bytes).toBeGreaterThan(0);
    // Twelve months back from January 2026: February to December 2025 (January 2026 is empty).
    expect(value.months.map((m) => m.month)).toEqual(MONTHS.slice(1));
    expect(value.months.find((m) => m.month === '2025-03')).toEqual({
      month: '2025-03',
      events: MEMBERS + 1,
      archived: 0,
      audit_rows: expect.any(Number) as number,
    });
    expect(growth?.message).toContain('billing_events');
  });

  it('when the current month is to be archived, then it is refused in one sentence', async () => {
    await expect(archiveMonth(db.pool, '2026-01', { timeZone: TZ, now: NOW })).rejects.toThrow(
      '2026-01 is not over yet (it is 2026-01 in Asia/Tokyo); only closed months are archived.',
    );
  });

  it('when March is archived from the CLI, then its processed payloads move and the late event keeps its own', async () => {
    const rowsBefore = await count('SELECT 1 FROM billing_events');
    const r = await runTsx('src/cli/index.ts', ['archive-events', '2025-03', '--json'], {
      DATABASE_URL: db.databaseUrl,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      month: '2025-03',
      archived_now: MEMBERS,
      before: { events: MEMBERS + 1, archived: 0, archivable: MEMBERS, unprocessed: 1 },
      after: { events: MEMBERS + 1, archived: MEMBERS, archivable: 0, unprocessed: 1 },
    });
    expect(await count('SELECT 1 FROM billing_events')).toBe(rowsBefore);
    const late = await db.pool.query<{ payload: unknown }>(
      'SELECT payload FROM billing_events WHERE id = $1::bigint',
      [unprocessedId],
    );
    expect(late.rows[0]?.payload).toEqual(stored.get(unprocessedId));
  });

  it('when the first half of the year is archived, then every event and payload is still there', async () => {
    for (const month of MONTHS.slice(0, 6)) {
      const r = await archiveMonth(db.pool, month, { timeZone: TZ, now: NOW, batchSize: 7 });
      expect(r.after.archivable).toBe(0);
    }
    expect(await count(`SELECT 1 FROM billing_event_payloads_archive`)).toBe(6 * MEMBERS);
    const stub = await db.pool.query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM billing_events WHERE dedupe_key = 'myasp:u3:1'`,
    );
    expect(stub.rows[0]?.payload).toEqual({
      $archived: { table: 'billing_event_payloads_archive', month: '2025-02' },
      event_id: 'ev-u3-1',
    });
    const full = await db.pool.query<{
      id: string;
      payload: unknown;
      archived_month: string | null;
    }>('SELECT id::text AS id, payload, archived_month FROM billing_events_full ORDER BY id');
    expect(full.rows).toHaveLength(stored.size);
    for (const row of full.rows) expect(row.payload).toEqual(stored.get(row.id));
    expect(full.rows.filter((r) => r.archived_month !== null)).toHaveLength(6 * MEMBERS);

    const again = await archiveMonth(db.pool, '2025-03', { timeZone: TZ, now: NOW });
    expect(again.archived_now).toBe(0);
  });

  it('when archived, then integrity, dedupe and rebuild still see every event', async () => {
    const integrity = await integrityCheck(db.pool);
    expect(integrity.items.filter((i) => i.status !== 'ok')).toEqual([]);
    expect(integrity.items.find((i) => i.name === 'archived_payloads')?.status).toBe('ok');
    expect((await dedupeCheck(db.pool)).ok).toBe(true);
    const rebuilt = await rebuildProjection(db.pool, { apply: false });
    expect(rebuilt).toMatchObject({
      ok: true,
      events: 12 * MEMBERS,
      accounts: MEMBERS,
      differing: [],
    });
    const again = await insertEvent(db.pool, {
      source: 'myasp',
      dedupe_key: 'myasp:u3:1',
      event_type: 'myasp.status.2',
      account_id: 'myasp:u3',
      occurred_at: '2025-02-10T03:00:00.000Z',
      object_key: 'myasp:u3',
      payload: {},
      data: { kind: 'unhandled' },
    });
    expect(again.duplicate).toBe(true);
    const r = await runDailyCheck(db.pool, { trigger: 'cli', now: NOW, keep: false });
    const months = (
      r.items.find((i) => i.name === 'table_growth')?.value as {
        months: { month: string; archived: number }[];
      }
    ).months;
    expect(months.find((m) => m.month === '2025-03')?.archived).toBe(MEMBERS);
    expect(months.find((m) => m.month === '2025-07')?.archived).toBe(0);
  });

  it('when anything but archiving touches the payloads, then PostgreSQL refuses', async () => {
    const refused = (sql: string) => expect(db.pool.query(sql)).rejects.toThrow(/append-only/);
    await refused(
      `UPDATE billing_event_payloads_archive SET payload = '{}' WHERE month = '2025-03'`,
    );
    await refused(`DELETE FROM billing_event_payloads_archive WHERE month = '2025-03'`);
    await refused('TRUNCATE billing_event_payloads_archive');
    // A stub without its payload in the archive (July is not archived).
    await refused(
      `UPDATE billing_events SET payload = billing_event_payload_stub(payload, '2025-07') WHERE dedupe_key = 'myasp:u1:6'`,
    );
    // Putting an archived payload back, or deleting the row.
    await refused(
      `UPDATE billing_events e SET payload = a.payload FROM billing_event_payloads_archive a WHERE a.event_id = e.id AND e.dedupe_key = 'myasp:u1:2'`,
    );
    await refused(`DELETE FROM billing_events WHERE dedupe_key = 'myasp:u1:2'`);
    // Archiving an unprocessed event by hand: copied first, the stub is still refused.
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO billing_event_payloads_archive (event_id, month, payload)
         SELECT id, '2025-03', payload FROM billing_events WHERE id = $1::bigint`,
        [unprocessedId],
      );
      await expect(
        client.query(
          `UPDATE billing_events SET payload = billing_event_payload_stub(payload, '2025-03') WHERE id = $1::bigint`,
          [unprocessedId],
        ),
      ).rejects.toThrow(/append-only/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
