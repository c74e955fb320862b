// Temporal Schedules the service owns. Created when missing, left alone when present, so an
// operator's pause or changed time in the Web UI survives restarts.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { dailyCheckWorkflow } from '../../workflows/daily-check';
import { DAILY_CHECK_SCHEDULE_ID } from './ids';

export interface DailyCheckScheduleOptions {
  taskQueue: string;
  /** Hour of day (UTC) to run; default 0 = 09:00 in Japan, before the operators' day starts. */
  cronHourUtc?: number;
}

/** Creates the `billing-daily-check` schedule if missing. Returns whether it was created now. */
export async function ensureDailyCheckSchedule(
  client: Client,
  opts: DailyCheckScheduleOptions,
): Promise<boolean> {
  const hour = opts.cronHourUtc ?? 0;
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) {
    throw new RangeError(`cronHourUtc must be a whole hour from 0 to 23, not ${hour}.`);
  }
  try {
    await client.schedule.create<typeof dailyCheckWorkflow>({
      scheduleId: DAILY_CHECK_SCHEDULE_ID,
      spec: { calendars: [{ hour, minute: 0, comment: 'daily 5-minute check' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'dailyCheckWorkflow',
        workflowId: `${DAILY_CHECK_SCHEDULE_ID}-run`,
        taskQueue: opts.taskQueue,
        args: [],
      },
      // One run at a time; a check missed while the cluster was down runs once when it is back.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    return true;
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return false;
    throw err;
  }
}
