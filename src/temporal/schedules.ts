// Temporal Schedules the service owns. Created when missing, left alone when present, so an
// operator's pause or changed time in the Web UI survives restarts.
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';

import type { dailyCheckWorkflow } from '../../workflows/daily-check';
import type { reconcileStripeWorkflow } from '../../workflows/reconcile-stripe';
import type { ReconcileSchedule } from '../config';
import { DAILY_CHECK_SCHEDULE_ID, RECONCILE_SCHEDULE_ID } from './ids';

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

export interface ReconcileScheduleOptions {
  taskQueue: string;
  /** RECONCILE_SCHEDULE / RECONCILE_TIMEZONE as configured. */
  schedule: ReconcileSchedule;
  /** Default `billing-reconcile-stripe`; tests use their own. */
  scheduleId?: string;
}

function reconcileSpec(s: ReconcileSchedule): ScheduleSpec {
  if (s.kind === 'cron') return { cronExpressions: [s.expression], timezone: s.timezone };
  return {
    calendars: [{ hour: s.hour, minute: s.minute, comment: 'daily Stripe reconciliation' }],
    timezone: s.timezone,
  };
}

function reconcileAction(taskQueue: string, scheduleId: string, s: ReconcileSchedule) {
  return {
    type: 'startWorkflow' as const,
    workflowType: 'reconcileStripeWorkflow',
    workflowId: `${scheduleId}-run`,
    taskQueue,
    args: [] as [],
    // The configured time travels with the action: a restart with the same setting leaves the
    // schedule (and an operator's edits in the Web UI) alone; a changed setting moves it.
    memo: { reconcile_schedule: s.text },
  };
}

/**
 * Creates the daily Stripe reconciliation schedule if missing, or moves it when RECONCILE_SCHEDULE
 * changed since it was created (the configured value is kept in the action's memo). Its state
 * (paused by an operator, with a note) is never touched.
 */
export async function ensureReconcileSchedule(
  client: Client,
  opts: ReconcileScheduleOptions,
): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = opts.scheduleId ?? RECONCILE_SCHEDULE_ID;
  const spec = reconcileSpec(opts.schedule);
  const action = reconcileAction(opts.taskQueue, scheduleId, opts.schedule);
  try {
    await client.schedule.create<typeof reconcileStripeWorkflow>({
      scheduleId,
      spec,
      action,
      // One run at a time (a long run is never doubled); a run missed while the cluster was down
      // runs once when it is back.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const configured =
    current.action.type === 'startWorkflow' ? current.action.memo?.reconcile_schedule : undefined;
  if (configured === opts.schedule.text) return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec, action }));
  return 'updated';
}
