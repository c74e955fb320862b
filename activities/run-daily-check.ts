import type { CheckStatus } from '../src/ops/check-item';
import { runDailyCheck } from '../src/ops/daily-check';
import type { ActivityDeps } from './deps';

export interface DailyCheckSummary {
  ok: boolean;
  status: CheckStatus;
  ran_at: string;
  /** Items that did not pass, `name: message`; the full result is in daily_check_runs. */
  problems: string[];
}

/**
 * The daily check for the Temporal Schedule `billing-daily-check`. The full result is kept in
 * daily_check_runs; the workflow history gets a short summary. Temporal is not probed here: a
 * worker running this activity is itself the proof that it is reachable.
 */
export function createRunDailyCheckActivity({ pool, logger, stripe }: ActivityDeps) {
  return async (): Promise<DailyCheckSummary> => {
    const result = await runDailyCheck(pool, {
      trigger: 'schedule',
      stripeApiKeySet: stripe !== null && stripe !== undefined,
    });
    const problems = result.items
      .filter((i) => i.status !== 'ok')
      .map((i) => `${i.name}: ${i.message}`);
    const log = result.ok ? logger.info.bind(logger) : logger.warn.bind(logger);
    log({ status: result.status, problems }, 'daily check');
    return { ok: result.ok, status: result.status, ran_at: result.ran_at, problems };
  };
}
