// The daily check's items on what arrives: any event today, the last provider webhook, and the
// share of webhooks refused in the last day.
import { countEventsSince, lastProviderSync } from '../db/queries/billing-events-checks';
import { startOfDay } from '../db/queries/daily-check';
import { countProviderEvents } from '../db/queries/daily-check';
import { rejectionsSince } from '../db/queries/webhook-rejections';
import { type CheckOutcome, ok, warn } from './check-item';
import {
  ago,
  DAILY_CHECK_THRESHOLDS as T,
  type DailyCheckCtx,
  percent,
} from './daily-check-context';

export async function eventsToday(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const since = await startOfDay(ctx.pool, ctx.now.toISOString(), T.DAY_TIME_ZONE);
  const bySource = await countEventsSince(ctx.pool, since);
  const total = bySource.reduce((sum, s) => sum + s.n, 0);
  const value = {
    since,
    total,
    by_source: Object.fromEntries(bySource.map((s) => [s.source, s.n])),
  };
  if (total === 0) {
    return warn(
      value,
      `No event was received since ${since} (start of today, ${T.DAY_TIME_ZONE}); check that Stripe and MyASP still reach us (RUNBOOK.md, "Billing not reflected").`,
    );
  }
  return ok(
    value,
    `${total} event(s) received since ${since} (start of today, ${T.DAY_TIME_ZONE}).`,
  );
}

export async function lastSync(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const last = await lastProviderSync(ctx.pool);
  const newest = Object.values(last).sort().pop() ?? null;
  const value = { last_received_at: newest, by_source: last };
  if (newest === null)
    return warn(
      value,
      'No Stripe or MyASP webhook has ever been stored; check the webhook endpoints.',
    );
  const ageMs = ctx.now.getTime() - Date.parse(newest);
  if (ageMs > T.QUIET_PROVIDER_MS) {
    return warn(
      value,
      `The last provider webhook arrived ${(ageMs / 3_600_000).toFixed(1)} h ago (${newest}); check that Stripe and MyASP still reach us.`,
    );
  }
  return ok(value, `The last provider webhook arrived at ${newest}.`);
}

export async function rejections(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const since = ago(ctx, T.REJECTION_WINDOW_MS);
  const [rows, accepted] = await Promise.all([
    rejectionsSince(ctx.pool, since),
    countProviderEvents(ctx.pool, since, ctx.now.toISOString()),
  ]);
  const total = rows.reduce((sum, r) => sum + r.n, 0);
  const byReason: Record<string, number> = {};
  for (const r of rows) byReason[r.reason] = (byReason[r.reason] ?? 0) + r.n;
  const errorRate = total === 0 ? 0 : total / (total + accepted);
  const value = {
    total,
    accepted,
    error_rate: errorRate,
    by_reason: byReason,
    by_source_reason: rows,
  };
  if (total === 0) return ok(value, 'No webhook was rejected in the last 24 h.');
  const reasons = Object.entries(byReason)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const line = `${total} of ${total + accepted} webhook(s) (${percent(errorRate)}) were rejected in the last 24 h: ${reasons}`;
  if (errorRate > ctx.thresholds.webhook_error_rate_max) {
    return warn(
      value,
      `${line}; above ${percent(ctx.thresholds.webhook_error_rate_max)}: check the webhook secret and token (\`SELECT * FROM webhook_rejections ORDER BY id DESC\`).`,
    );
  }
  return ok(value, `${line}.`);
}
