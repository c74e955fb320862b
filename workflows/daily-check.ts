// The daily check as a Temporal Schedule's action (SPEC §7): one activity, its result kept in
// daily_check_runs by the activity and summarised in this workflow's result.
import { proxyActivities } from '@temporalio/workflow';
import type { DailyCheckSummary, runDailyCheckActivity } from '../activities/run-daily-check';

const ops = proxyActivities<{ runDailyCheck: ReturnType<typeof runDailyCheckActivity> }>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '10 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 5,
  },
});

export async function dailyCheckWorkflow(): Promise<DailyCheckSummary> {
  return ops.runDailyCheck();
}
