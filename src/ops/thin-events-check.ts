// The daily check's item on Stripe thin events (SPEC §3 rule 11): stored, waiting for the fetch
// of their full event and object. Without STRIPE_API_KEY they wait for the key: that fails, and
// names the setting; with it, one still waiting after BACKLOG_AGE_MS means Stripe is not answering.
import { thinEventsWaiting } from '../db/queries/thin-events';
import { type CheckOutcome, fail, ok } from './check-item';
import { DAILY_CHECK_THRESHOLDS as T, type DailyCheckCtx } from './daily-check-context';

export async function thinEvents(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const waiting = await thinEventsWaiting(ctx.pool);
  const value = { ...waiting, stripe_api_key_set: ctx.stripeApiKeySet };
  if (waiting.count === 0) return ok(value, 'No Stripe thin event waits for its fetch.');
  if (ctx.stripeApiKeySet !== true) {
    return fail(
      value,
      `${waiting.count} Stripe thin event(s) wait, stored, since ${waiting.oldest_received_at}: thin events are fetched from Stripe's API, and STRIPE_API_KEY is ${ctx.stripeApiKeySet === false ? 'not set' : 'needed where the service runs'}; set it (a restricted key with read access is enough) and restart: they are then applied in order.`,
    );
  }
  const ageMs = ctx.now.getTime() - Date.parse(waiting.oldest_received_at ?? '');
  if (ageMs > T.BACKLOG_AGE_MS) {
    return fail(
      value,
      `${waiting.count} Stripe thin event(s) are still not fetched after 5 min (oldest ${waiting.oldest_received_at}); Stripe's API is not answering or refuses STRIPE_API_KEY: see the service log.`,
    );
  }
  return ok(value, `${waiting.count} Stripe thin event(s) are being fetched.`);
}
