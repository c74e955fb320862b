// Scale scenario: open-loop load at a fixed fraction of the classic design's rate.
import { performance } from 'node:perf_hooks';

import type { Figure } from '../figure';
import { drained, pendingCount } from '../load';
import { epochMs, loadElsewhere } from '../load-plan';
import type { ScaleContext } from './context';

/** Least-squares slope of (t, y): how fast the backlog grows, in events per second. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [t, y]) => s + (t - mt) * (y - my), 0);
  const den = points.reduce((s, [t]) => s + (t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/**
 * Open-loop load at `fraction` of the classic design's rate over 1,000 distinct accounts for
 * `seconds`: does the backlog stop growing, and how many events does each wake-up carry?
 */
export async function fixedRate(
  ctx: ScaleContext,
  fraction: number,
  seconds: number,
): Promise<Figure> {
  const rate = fraction * (await ctx.classic16());
  const prefix = `h${ctx.tag}_${Math.round(fraction * 100)}_`;
  const n = Math.max(1, Math.round(rate * seconds));
  const since = new Date();
  const stamped: [number, number][] = [];
  let sending = true;
  const sampler = (async () => {
    while (sending) {
      stamped.push([epochMs(), await pendingCount(ctx.pool, prefix)]);
      await new Promise((res) => setTimeout(res, 1000));
    }
  })();
  // Bounded: at most 64 requests in flight; a request whose turn finds them all busy is skipped.
  const sent = await loadElsewhere({
    requests: n,
    pace: { rate, maxInFlight: 64 },
    plan: {
      kind: 'stripe',
      url: `${ctx.apiUrl}/webhooks/stripe`,
      accounts: { prefix, modulo: 1000 },
    },
  });
  sending = false;
  await sampler;
  // Seconds since the generator's first request (its process starts first).
  const samples = stamped.map(([t, y]): [number, number] => [(t - sent.started_at_ms) / 1000, y]);
  const window = (epochMs() - sent.started_at_ms) / 1000;
  const pendingEnd = await pendingCount(ctx.pool, prefix);
  const tDrain = performance.now();
  await drained(ctx.pool, prefix);
  const drainSeconds = (performance.now() - tDrain) / 1000;
  const stats = await ctx.pool.query<{ sent: number; wakeups: number }>(
    `SELECT count(*)::int AS sent, count(DISTINCT (account_id, processed_at))::int AS wakeups
       FROM billing_events WHERE account_id LIKE $1 AND received_at >= $2::timestamptz`,
    [`${prefix}%`, since.toISOString()],
  );
  const stored = stats.rows[0]?.sent ?? 0;
  const secondHalf = samples.filter(([t]) => t >= window / 2);
  return {
    value: (stored - pendingEnd) / window,
    baseline: stored / window,
    unit: 'events/s applied while sending',
    extra: {
      offered_per_s: rate,
      sent: stored,
      skipped: sent.skipped,
      pending_end: pendingEnd,
      pending_max: Math.max(0, ...samples.map(([, y]) => y)),
      pending_growth_per_s_second_half: slope(secondHalf),
      events_per_wakeup: stored / Math.max(1, stats.rows[0]?.wakeups ?? 0),
      drain_seconds_after: drainSeconds,
    },
  };
}
