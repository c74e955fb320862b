// The daily check as a Temporal Schedule's action (SPEC §7): one activity, its result kept in
// daily_check_runs by the activity and summarised in this workflow's result.
import type { DailyCheckSummary } from '../activities/run-daily-check';
import { opsTasks } from './proxies';

export async function dailyCheckWorkflow(): Promise<DailyCheckSummary> {
  return opsTasks.runDailyCheck();
}
