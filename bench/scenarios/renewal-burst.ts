// Scale scenario: a renewal day, every account's renewal webhooks at once.
import type { Figure } from '../figure';
import {
  accountOf,
  type Accounts,
  epochMs,
  type GateProbe,
  type ProbeResult,
  RENEWAL_EVENTS,
  webhooks,
} from '../load-plan';
import type { ScaleContext } from './context';

/**
 * A renewal day: every account's `invoice.paid`, `invoice.payment_succeeded` and
 * `customer.subscription.updated` at once (concurrency 16), against the classic design taking the
 * same burst. Worst staleness: the longest any acknowledged event waited to be applied. Meanwhile
 * a host app asks the gate about each account right after each 200 (SPEC §6, read your writes):
 * how many answers were from before the event just acknowledged (target 0), how many needed the
 * fold, and the gate's latency under the burst.
 */
export async function renewalBurst(
  ctx: ScaleContext,
  classicUrl: string,
  who: Accounts,
  accounts: number,
): Promise<Figure> {
  const n = accounts * RENEWAL_EVENTS;
  const burst = (url: string, to: Accounts, probe?: GateProbe) =>
    webhooks(url, { ...to, per: RENEWAL_EVENTS }, n, 16, 'renewal', probe);
  // The classic design's accounts: the same ids with a `c` in front.
  const classic: Accounts = {
    prefix: `c${who.prefix}`,
    ...(who.first ? { first: { ...who.first, prefix: `c${who.first.prefix}` } } : {}),
  };
  const base = await burst(`${classicUrl}/webhooks/stripe`, classic);
  const since = new Date();
  const acks = await burst(`${ctx.apiUrl}/webhooks/stripe`, who, {
    url: `${ctx.apiUrl}/v1/gate/`,
    suffix: '/confirm',
  });
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
  const probe = acks.probe;
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
      ...(probe ? await probeFigures(ctx, probe) : {}),
    },
  };
}

/**
 * The gate probes' figures. An answer based on an older event than the one just acknowledged is
 * stale when that event changed the account (outcome `applied`, known once the burst is applied);
 * one that changed nothing (stale, ignored) leaves the answer what it would have been with it.
 */
async function probeFigures(
  ctx: ScaleContext,
  probe: ProbeResult,
): Promise<Record<string, number>> {
  const r = await ctx.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM billing_events WHERE id = ANY($1::bigint[]) AND outcome = 'applied'`,
    [probe.behind.map(([eventId]) => eventId)],
  );
  return {
    gate_probes: probe.probes,
    gate_probes_stale: r.rows[0]?.n ?? NaN,
    gate_probes_folded: probe.folded,
    gate_probe_p50_ms: probe.p50,
    gate_probe_p99_ms: probe.p99,
  };
}
