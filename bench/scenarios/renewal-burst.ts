// Scale scenario: a renewal day, every account's renewal webhooks at once.
import type { Figure } from '../figure';
import { accountOf, type Accounts, epochMs, RENEWAL_EVENTS, webhooks } from '../load-plan';
import type { ScaleContext } from './context';

/**
 * A renewal day: every account's `invoice.paid`, `invoice.payment_succeeded` and
 * `customer.subscription.updated` at once (concurrency 16), against the classic design taking the
 * same burst. Worst staleness: the longest any acknowledged event waited to be applied.
 */
export async function renewalBurst(
  ctx: ScaleContext,
  classicUrl: string,
  who: Accounts,
  accounts: number,
): Promise<Figure> {
  const n = accounts * RENEWAL_EVENTS;
  const burst = (url: string, to: Accounts) =>
    webhooks(url, { ...to, per: RENEWAL_EVENTS }, n, 16, 'renewal');
  // The classic design's accounts: the same ids with a `c` in front.
  const classic: Accounts = {
    prefix: `c${who.prefix}`,
    ...(who.first ? { first: { ...who.first, prefix: `c${who.first.prefix}` } } : {}),
  };
  const base = await burst(`${classicUrl}/webhooks/stripe`, classic);
  const since = new Date();
  const acks = await burst(`${ctx.apiUrl}/webhooks/stripe`, who);
  const accountIds = Array.from({ length: accounts }, (_, a) => accountOf(who, a));
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const r = await ctx.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM billing_events
        WHERE outcome IS NULL AND received_at >= $1::timestamptz AND account_id = ANY($2::text[])`,
      [since.toISOString(), accountIds],
    );
    if ((r.rows[0]?.n ?? 0) === 0) break;
    if (Date.now() > deadline) throw new Error('the renewal burst was not applied in 30 minutes');
    await new Promise((res) => setTimeout(res, 200));
  }
  const seconds = (epochMs() - acks.started_at_ms) / 1000;
  const s = await ctx.pool.query<{ worst: number; p50: number; wakeups: number }>(
    `SELECT extract(epoch FROM max(processed_at - received_at))::float8 AS worst,
            extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY processed_at - received_at))::float8 AS p50,
            count(DISTINCT (account_id, processed_at))::int AS wakeups
       FROM billing_events WHERE received_at >= $1::timestamptz AND account_id = ANY($2::text[])`,
    [since.toISOString(), accountIds],
  );
  const row = s.rows[0];
  return {
    value: n / seconds,
    baseline: base.perSecond,
    unit: 'events/s applied',
    extra: {
      events: n,
      seconds,
      acks_per_s: acks.perSecond,
      worst_staleness_s: row?.worst ?? NaN,
      p50_staleness_s: row?.p50 ?? NaN,
      events_per_wakeup: n / Math.max(1, row?.wakeups ?? 0),
      baseline_seconds: base.seconds,
    },
  };
}
