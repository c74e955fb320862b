// daily_check_runs: every daily check's result, kept (SPEC §7).
import type { Db } from '../pool';

export async function insertDailyCheckRun(
  db: Db,
  run: { ran_at: string; trigger: string; ok: boolean; result: unknown },
): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO daily_check_runs (ran_at, trigger, ok, result)
     VALUES ($1::timestamptz, $2::text, $3::boolean, $4::jsonb) RETURNING id::text AS id`,
    [run.ran_at, run.trigger, run.ok, JSON.stringify(run.result)],
  );
  return r.rows[0]?.id ?? '';
}
