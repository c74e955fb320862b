// Scale scenario: open-loop load at a fixed fraction of the classic design's rate.
import { performance } from 'node:perf_hooks';

import type { Figure } from '../figure';
import { drained, pendingCount, post } from '../load';
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
  const t0 = performance.now();
  const samples: [number, number][] = [];
  let sending = true;
  const sampler = (async () => {
    while (sending) {
      samples.push([(performance.now() - t0) / 1000, await pendingCount(ctx.pool, prefix)]);
      await new Promise((res) => setTimeout(res, 1000));
    }
  })();
  let inFlight = 0;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    // Bounded: at most 64 requests in flight; a request whose turn finds them all busy is skipped.
    if (inFlight >= 64) continue;
    inFlight += 1;
    sends.push(
      post(`${ctx.apiUrl}/webhooks/stripe`, `${prefix}${i % 1000}`).finally(
        () => void (inFlight -= 1),
      ),
    );
  }
  await Promise.all(sends);
  sending = false;
  await sampler;
  const window = (performance.now() - t0) / 1000;
  const pendingEnd = await pendingCount(ctx.pool, prefix);
  const tDrain = performance.now();
  await drained(ctx.pool, prefix);
  const drainSeconds = (performance.now() - tDrain) / 1000;
  const stats = await ctx.pool.query<{ sent: number; wakeups: number }>(
    `SELECT count(*)::int AS sent, count(DISTINCT (account_id, processed_at))::int AS wakeups
       FROM billing_events WHERE account_id LIKE $1 AND received_at >= $2::timestamptz`,
    [`${prefix}%`, since.toISOString()],
  );
  const sent = stats.rows[0]?.sent ?? 0;
  const secondHalf = samples.filter(([t]) => t >= window / 2);
  return {
    value: (sent - pendingEnd) / window,
    baseline: sent / window,
    unit: 'events/s applied while sending',
    extra: {
      offered_per_s: rate,
      sent,
      pending_end: pendingEnd,
      pending_max: Math.max(0, ...samples.map(([, y]) => y)),
      pending_growth_per_s_second_half: slope(secondHalf),
      events_per_wakeup: sent / Math.max(1, stats.rows[0]?.wakeups ?? 0),
      drain_seconds_after: drainSeconds,
    },
  };
}
