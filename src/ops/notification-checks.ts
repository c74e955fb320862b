// The daily check's notification item (SPEC §10): endpoints that fail (disabled by a 410, or
// with messages that ran out of retries) and the oldest change not yet delivered.
import { endpointHealth } from '../db/queries/notifications';
import { type CheckOutcome, fail, ok, warn } from './check-item';
import type { DailyCheckCtx } from './daily-check-context';

/** A change undelivered this long is worth a look (the first retries are over by then). */
const UNDELIVERED_WARN_MS = 15 * 60_000;

export async function notifications(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const endpoints = await endpointHealth(ctx.pool);
  const oldest =
    endpoints
      .map((e) => e.oldest_pending_at)
      .filter((t): t is string => t !== null)
      .sort()[0] ?? null;
  const value = {
    endpoints: endpoints.map((e) => ({
      id: e.id,
      url: e.url,
      disabled_at: e.disabled_at,
      disabled_reason: e.disabled_reason,
      pending: e.pending,
      failed: e.failed,
      oldest_pending_at: e.oldest_pending_at,
      last_status: e.last_status,
    })),
    oldest_undelivered_at: oldest,
  };
  const failing = endpoints.filter((e) => e.disabled_at !== null || e.failed > 0);
  if (failing.length > 0)
    return fail(
      value,
      `${failing.length} notification endpoint(s) fail: ${failing
        .map((e) =>
          e.disabled_at
            ? `${e.id} is disabled (${e.disabled_reason ?? 'no reason'})`
            : `${e.id} has ${e.failed} failed message(s)`,
        )
        .join('; ')}; see \`npm run ops -- notifications list\`, then \`notifications retry\`.`,
    );
  if (oldest !== null && ctx.now.getTime() - Date.parse(oldest) > UNDELIVERED_WARN_MS)
    return warn(
      value,
      `The oldest undelivered change is from ${oldest}; its endpoint is retrying.`,
    );
  if (endpoints.length === 0) return ok(value, 'No notification endpoint is configured.');
  return ok(value, `${endpoints.length} notification endpoint(s), none failing.`);
}
