// Operator tools that need Temporal, over the operator fixture: the daily check's schedule, and
// corrections and overrides from the CLI applied by the real account workflow.
import { createActivities } from '../../activities';
import { createRunDailyCheckActivity } from '../../activities/run-daily-check';
import type { EventData } from '../../src/domain/types';
import { createLogger } from '../../src/log';
import { integrityCheck, rebuildProjection, replayTimeline } from '../../src/ops/integrity';
import { accountWorkflowId, DAILY_CHECK_SCHEDULE_ID } from '../../src/temporal/ids';
import { ensureDailyCheckSchedule } from '../../src/temporal/schedules';
import { WORKFLOWS_PATH } from '../../src/temporal/worker';
import type { TestDatabase } from '../helpers/db';
import {
  cli,
  type EventToStore,
  type OpsFixture,
  useOpsFixture,
  withWorker,
} from '../helpers/ops-fixture';
import { waitFor } from '../helpers/wait';

let ops: OpsFixture;
let db: TestDatabase;
useOpsFixture((fixture) => {
  ops = fixture;
  db = fixture.db;
});

const storeAndApply = (e: EventToStore) => ops.storeAndApply(e);

describe('with Temporal', () => {
  it('when the schedule is ensured twice, then it exists once and a triggered run keeps a schedule-trigger result', async () => {
    const acts = {
      runDailyCheck: createRunDailyCheckActivity({ pool: db.pool, logger: createLogger('silent') }),
    };
    await withWorker(
      require.resolve('../../workflows/daily-check'),
      acts,
      async (taskQueue, client) => {
        const handle = client.schedule.getHandle(DAILY_CHECK_SCHEDULE_ID);
        await handle.delete().catch(() => undefined); // left by another run of the suite
        try {
          expect(await ensureDailyCheckSchedule(client, { taskQueue, cronHourUtc: 0 })).toBe(true);
          expect(await ensureDailyCheckSchedule(client, { taskQueue })).toBe(false);
          const described = await handle.describe();
          expect(described.action).toMatchObject({ workflowType: 'dailyCheckWorkflow', taskQueue });
          expect(described.spec.calendars?.[0]).toMatchObject({
            hour: [{ start: 0, end: 0, step: 1 }],
          });
          const count = async () =>
            (
              await db.pool.query(
                `SELECT count(*)::int AS n FROM daily_check_runs WHERE trigger = 'schedule'`,
              )
            ).rows[0].n as number;
          const before = await count();
          await handle.trigger();
          await waitFor(async () => (await count()) > before, {
            timeoutMs: 30_000,
            what: 'a scheduled daily check',
          });
        } finally {
          await handle.delete().catch(() => undefined);
        }
      },
    );
  });

  it('when an operator corrects and overrides through the CLI, then the account workflow applies it and the rebuild still matches', async () => {
    const account = `ops-cli-${Math.random().toString(36).slice(2, 10)}`;
    const registered: EventData = {
      kind: 'account.registered',
      trial_end: '2099-01-01T00:00:00.000Z',
      email: null,
      stripe_customer_id: null,
      myasp_user_id: null,
    };
    await storeAndApply({
      source: 'api',
      dedupe_key: `api:account.registered:${account}`,
      account_id: account,
      data: registered,
    });
    const acts = createActivities({ pool: db.pool, logger: createLogger('silent') });
    await withWorker(WORKFLOWS_PATH, acts, async (taskQueue, client) => {
      const env = {
        DATABASE_URL: db.databaseUrl,
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS ?? '',
        TEMPORAL_TASK_QUEUE: taskQueue,
      };
      try {
        const corrected = await cli(
          [
            'correct',
            account,
            'past_due',
            '--reason',
            'chargeback reported by the bank',
            '--actor',
            'ops:test',
          ],
          env,
        );
        expect(corrected).toMatchObject({
          code: 0,
          stdout: expect.stringContaining(`${account} is now past_due`),
        });
        const set = await cli(
          [
            'gate-override',
            'set',
            '--account',
            account,
            '--reason',
            'bank outage',
            '--ttl',
            '2h',
            '--json',
          ],
          env,
        );
        const id = (JSON.parse(set.stdout) as { override: { id: string }; expiry_timer: string })
          .override.id;
        expect(JSON.parse(set.stdout)).toMatchObject({
          expiry_timer: 'started',
          override: { account_id: account, actions: ['confirm'] },
        });
        expect(
          (await cli(['gate-override', 'clear', id, '--reason', 'bank is back'], env)).code,
        ).toBe(0);
        const listed = await cli(['gate-override', 'list', '--all'], env);
        expect(listed.stdout).toMatch(new RegExp(`${id}\\s+cleared\\s+${account}`));
      } finally {
        await client.workflow
          .getHandle(accountWorkflowId(account))
          .terminate('test finished')
          .catch(() => undefined);
      }
    });
    expect(
      (await replayTimeline(db.pool, account)).entries.map((e) => [e.source, e.to_status, e.actor]),
    ).toEqual([
      ['api', 'free', 'api'],
      ['manual', 'past_due', 'ops:test'],
    ]);
    expect(await rebuildProjection(db.pool, { apply: false })).toMatchObject({
      ok: true,
      accounts: 4,
      differing: [],
      outcome_mismatches: [],
    });
    expect((await integrityCheck(db.pool)).ok).toBe(true);
  });
});
