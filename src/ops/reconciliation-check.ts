// The daily check's item on reconciliation (SPEC §3 rule 2): when each provider was last
// reconciled and how many accounts it corrected. Warn when the last run had errors, or when
// Stripe's last run is more than two days old (the schedule is daily); never having run is fine,
// reconciliation is optional.
import { latestReconciliationRuns } from '../db/queries/reconciliation';
import { type CheckOutcome, ok, warn } from './check-item';
import type { DailyCheckCtx } from './daily-check-context';

const RECONCILE_STALE_MS = 2 * 24 * 3_600_000;

export async function reconciliation(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const runs = await latestReconciliationRuns(ctx.pool);
  if (runs.length === 0) {
    return ok(
      {},
      'Reconciliation has not run yet (`npm run ops -- reconcile`, needs STRIPE_API_KEY).',
    );
  }
  const value = Object.fromEntries(runs.map((r) => [r.provider, r]));
  const name = (p: string) => (p === 'myasp' ? 'MyASP' : 'Stripe');
  const lines = runs.map(
    (r) =>
      `${name(r.provider)} reconciliation last ran at ${r.finished_at} (${r.scope}): ${r.accounts_corrected} of ${r.accounts_checked} account(s) corrected${r.errors > 0 ? `, ${r.errors} error(s)` : ''}.`,
  );
  const stripe = runs.find((r) => r.provider === 'stripe');
  const old = stripe && Date.parse(stripe.finished_at) < ctx.now.getTime() - RECONCILE_STALE_MS;
  if (runs.some((r) => r.errors > 0) || old) {
    const why = old ? ' It has not run for more than two days; is the daily schedule paused?' : '';
    return warn(value, `${lines.join(' ')}${why}`);
  }
  return ok(value, lines.join(' '));
}
