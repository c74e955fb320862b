// The daily check (SPEC §7) over the operator fixture's real PostgreSQL: each checklist item
// against what the database holds, its kept result, and the Temporal probe.
import { type DailyCheckResult, runDailyCheck } from '../../src/ops/daily-check';
import { connectTemporal, temporalProbe } from '../../src/temporal/client';
import type { TestDatabase } from '../helpers/db';
import { DAY, item, useOpsFixture } from '../helpers/ops-fixture';

let db: TestDatabase;
useOpsFixture((fixture) => {
  db = fixture.db;
});

describe('daily check', () => {
  it('when run now, then each checklist item reports what the database holds', async () => {
    const result = await runDailyCheck(db.pool, { trigger: 'cli' });
    expect(item(result, 'events_today')).toMatchObject({
      status: 'ok',
      value: { total: 12, by_source: { stripe: 7, api: 2, myasp: 2, manual: 1 } },
    });
    expect(item(result, 'last_sync').status).toBe('ok');
    expect(item(result, 'status_distribution')).toMatchObject({
      // 1 of 3 stopped is above the checklist's 10 %.
      status: 'warn',
      value: {
        total: 3,
        // acct_a: paid again after past_due while a cancel is scheduled, so it is canceling.
        by_status: { stopped: 1, canceling: 2 },
      },
    });
    expect(item(result, 'duplicate_dedupe_keys')).toMatchObject({
      status: 'ok',
      value: { total: 0 },
    });
    expect(item(result, 'last_event_mismatch')).toMatchObject({
      status: 'ok',
      value: { count: 0 },
    });
    expect(item(result, 'webhook_rejections_24h')).toMatchObject({
      status: 'warn',
      value: { total: 1, by_reason: { bad_signature: 1 } },
    });
    expect(item(result, 'delivery_backlog')).toMatchObject({ status: 'ok', value: { count: 0 } });
    expect(item(result, 'overdue_cancels')).toMatchObject({
      status: 'warn',
      // acct_a's cancel passed with no workflow timer here (its events were applied directly).
      value: { count: 2, accounts: [{ account_id: 'acct_a' }, { account_id: 'acct_c' }] },
    });
    expect(result).toMatchObject({ ok: true, status: 'warn', trigger: 'cli' });
  });

  it('when an event has waited more than 5 minutes, then the delivery backlog fails the check', async () => {
    const result = await runDailyCheck(db.pool, {
      trigger: 'api',
      now: new Date(Date.now() + 10 * 60_000),
    });
    expect(item(result, 'delivery_backlog')).toMatchObject({
      status: 'fail',
      value: { count: 1, sample: [{ event_type: 'invoice.upcoming' }] },
    });
    expect(result).toMatchObject({ ok: false, status: 'fail' });
  });

  it('when no provider webhook arrived for two days, then last sync warns and old rejections no longer count', async () => {
    const result = await runDailyCheck(db.pool, {
      trigger: 'cli',
      now: new Date(Date.now() + 2 * DAY),
    });
    expect(item(result, 'last_sync').status).toBe('warn');
    expect(item(result, 'webhook_rejections_24h').status).toBe('ok');
  });

  it('when it runs, then its result is kept in daily_check_runs', async () => {
    const result = await runDailyCheck(db.pool, { trigger: 'schedule' });
    const { rows } = await db.pool.query<{
      trigger: string;
      ok: boolean;
      result: DailyCheckResult;
    }>(`SELECT trigger, ok, result FROM daily_check_runs ORDER BY id DESC LIMIT 1`);
    expect(rows[0]).toEqual({
      trigger: 'schedule',
      ok: result.ok,
      result: JSON.parse(JSON.stringify(result)),
    });
  });

  it('when Temporal is reachable or not, then the temporal item says so', async () => {
    const up = connectTemporal({
      address: process.env.TEST_TEMPORAL_ADDRESS ?? '',
      namespace: 'default',
      taskQueue: 'ops-test',
    });
    const down = connectTemporal({
      address: '127.0.0.1:1',
      namespace: 'default',
      taskQueue: 'ops-test',
    });
    try {
      expect(
        item(
          await runDailyCheck(db.pool, { trigger: 'cli', temporal: temporalProbe(up) }),
          'temporal',
        ).status,
      ).toBe('ok');
      expect(
        item(
          await runDailyCheck(db.pool, { trigger: 'cli', temporal: temporalProbe(down) }),
          'temporal',
        ).status,
      ).toBe('fail');
    } finally {
      await Promise.allSettled([up.connection.close(), down.connection.close()]);
    }
  });
});
