// The operations checklist's "daily 5-minute check" (SPEC §5, §7) as data: one small check per
// line of the checklist, each ok / warn / fail, and every run kept in daily_check_runs. Runs from
// the CLI, from GET /v1/ops/daily-check and from the Temporal Schedule `billing-daily-check`.
import type pg from 'pg';
import { lastEventMismatches, overdueCancels } from '../db/queries/billing-accounts';
import {
  countEventsSince,
  duplicateDedupeKeys,
  lastProviderSync,
} from '../db/queries/billing-events';
import { insertDailyCheckRun } from '../db/queries/daily-check-runs';
import { rejectionsSince } from '../db/queries/webhook-rejections';
import {
  countDeadLetters,
  listDeadLetters,
  unprocessedBacklog,
} from '../db/queries/event-deliveries';
import { latestReconciliationRuns } from '../db/queries/reconciliation';
import { countProviderEvents, startOfDay } from '../db/queries/daily-check';
import {
  fail,
  ok,
  runChecks,
  warn,
  worstStatus,
  type Check,
  type CheckItem,
  type CheckStatus,
} from './check-item';
import { ago, percent, type DailyCheckCtx, type TemporalProbe } from './daily-check-context';
import { gateProbe, massStop, recentStops, statusDistribution } from './status-checks';
import { tableGrowth } from './table-growth';
import { defaultThresholds, loadThresholds, type Thresholds } from './thresholds';

// Thresholds, and why:
// - QUIET_PROVIDER_MS 24 h: a small SaaS can have quiet hours, but a whole day without a single
//   Stripe or MyASP webhook usually means an endpoint, secret or firewall changed. Warn, since a
//   genuinely quiet day is possible.
// - Events today = 0: the checklist's first query; a day without a single event (webhook,
//   registration, timer) means nothing reaches us. Warn.
// - REJECTION_WINDOW_MS 24 h: the webhook error rate (rejections ÷ all webhooks that arrived)
//   over the last day; above `webhook_error_rate_max` (5 %) a secret or a MyASP form is likely
//   wrong. Warn, because rejected requests were never acknowledged and the provider retries.
// - The status distribution, the mass-stop alarm and the gate probe judge by the thresholds in
//   src/ops/thresholds.ts (the checklist's numbers; operators change them with
//   `npm run ops -- thresholds set`).
// - BACKLOG_AGE_MS 5 min: the webhook path signals at once and the sweeper retries every few
//   seconds (backing off to at most 5 min), so an event still unprocessed after 5 min means
//   Temporal or the worker is not doing its job. Fail: entitlements are stale.
// - BACKLOG_WARN_MS 1 min: events normally reach their workflow within seconds; a minute means
//   delivery is struggling before it is failing. Warn. Any backlog while Temporal is unreachable
//   fails at once, whatever its age: nothing is being processed.
// - Dead letters: any event that cannot be delivered fails the check until an operator retries
//   it (`npm run ops -- dead-letters`); its account's entitlements are stale.
// - OVERDUE_CANCEL_MS 1 h: the cancel timer fires at scheduled_cancel_at; an hour of slack covers
//   worker restarts. Still `canceling` after that means a timer did not fire. Warn.
// - TEMPORAL_TIMEOUT_MS 5 s: a reachable frontend answers GetSystemInfo in milliseconds.
// "Today" is the calendar day in Japan, where the operators of this service work.
export const DAILY_CHECK_THRESHOLDS = {
  QUIET_PROVIDER_MS: 24 * 3_600_000,
  REJECTION_WINDOW_MS: 24 * 3_600_000,
  BACKLOG_AGE_MS: 5 * 60_000,
  BACKLOG_WARN_MS: 60_000,
  OVERDUE_CANCEL_MS: 3_600_000,
  TEMPORAL_TIMEOUT_MS: 5_000,
  DAY_TIME_ZONE: 'Asia/Tokyo',
} as const;

const T = DAILY_CHECK_THRESHOLDS;

export type DailyCheckTrigger = 'cli' | 'api' | 'schedule';

export interface DailyCheckResult {
  /** false when any item failed (warnings alone leave it true). */
  ok: boolean;
  status: CheckStatus;
  ran_at: string;
  trigger: DailyCheckTrigger;
  items: CheckItem[];
}

export interface DailyCheckOptions {
  trigger: DailyCheckTrigger;
  temporal?: TemporalProbe;
  now?: Date;
  /** Default: the thresholds stored in daily_check_thresholds, else the checklist's defaults. */
  thresholds?: Thresholds;
  /** GATED_ACTIONS of the service; default `confirm`. */
  gatedActions?: readonly string[];
  /** false: judge without keeping the result (the read-only /ops page). Default true. */
  keep?: boolean;
}

type Ctx = DailyCheckCtx;

async function eventsToday(ctx: Ctx) {
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

async function lastSync(ctx: Ctx) {
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

async function duplicates(ctx: Ctx) {
  const dup = await duplicateDedupeKeys(ctx.pool);
  if (dup.total > 0)
    return fail(
      dup,
      `${dup.total} dedupe_key(s) are stored more than once; events may have been applied twice.`,
    );
  return ok(dup, 'No dedupe_key is stored twice.');
}

async function lastEventJoin(ctx: Ctx) {
  const rows = await lastEventMismatches(ctx.pool);
  if (rows.length > 0) {
    return fail(
      { count: rows.length, rows },
      `${rows.length} account(s) do not match the event that last changed them; run integrity-check.`,
    );
  }
  return ok({ count: 0, rows }, 'Every account matches the applied event that last changed it.');
}

async function rejections(ctx: Ctx) {
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

async function backlog(ctx: Ctx) {
  const [waiting, overdue] = await Promise.all([
    unprocessedBacklog(ctx.pool, ctx.now.toISOString()),
    unprocessedBacklog(ctx.pool, ago(ctx, T.BACKLOG_AGE_MS)),
  ]);
  const oldest = waiting.oldest_received_at;
  const oldestAgeS = oldest ? Math.max(0, (ctx.now.getTime() - Date.parse(oldest)) / 1000) : 0;
  const reachable = waiting.count > 0 ? await ctx.temporalReachable() : null;
  const value = {
    count: overdue.count,
    waiting: waiting.count,
    oldest_received_at: oldest,
    oldest_age_seconds: Math.round(oldestAgeS),
    temporal_reachable: reachable,
    sample: waiting.sample,
  };
  if (waiting.count === 0) return ok(value, 'No stored event is waiting for delivery.');
  if (reachable === false) {
    return fail(
      value,
      `${waiting.count} stored event(s) wait for delivery and Temporal is unreachable (oldest ${oldest}); nothing is processed until Temporal is back.`,
    );
  }
  if (overdue.count > 0) {
    return fail(
      value,
      `${overdue.count} stored event(s) are still unprocessed after 5 min (oldest ${overdue.oldest_received_at}); check Temporal and the worker.`,
    );
  }
  if (oldestAgeS * 1000 > T.BACKLOG_WARN_MS) {
    return warn(
      value,
      `${waiting.count} stored event(s) wait for delivery, the oldest for ${Math.round(oldestAgeS)} s; delivery is slow.`,
    );
  }
  return ok(
    value,
    `${waiting.count} event(s) on their way, the oldest for ${Math.round(oldestAgeS)} s.`,
  );
}

async function deadLetters(ctx: Ctx) {
  const [count, sample] = await Promise.all([
    countDeadLetters(ctx.pool),
    listDeadLetters(ctx.pool, 10),
  ]);
  const value = { count, sample };
  if (count > 0) {
    return fail(
      value,
      `${count} event(s) cannot be delivered to their account workflow and are dead-lettered; see \`npm run ops -- dead-letters list\`.`,
    );
  }
  return ok(value, 'No event is dead-lettered.');
}

async function overdue(ctx: Ctx) {
  const rows = await overdueCancels(ctx.pool, ago(ctx, T.OVERDUE_CANCEL_MS));
  if (rows.length > 0) {
    return warn(
      { count: rows.length, accounts: rows },
      `${rows.length} account(s) are still canceling more than 1 h after their cancel time; a timer did not fire.`,
    );
  }
  return ok({ count: 0, accounts: [] }, 'No account is canceling past its cancel time.');
}

async function temporal(ctx: Ctx) {
  if (!ctx.temporal)
    return ok({ checked: false }, 'Temporal was not checked (no connection given).');
  const reachable = (await ctx.temporalReachable()) === true;
  const value = { checked: true, reachable, namespace: ctx.temporal.namespace };
  if (!reachable)
    return fail(
      value,
      'Temporal did not answer within 5 s; events are stored but not processed until it is back.',
    );
  return ok(value, 'Temporal is reachable.');
}

// Reconciliation (SPEC §3 rule 2): when each provider was last reconciled and how many accounts
// it corrected. Warn when the last run had errors, or when Stripe's last run is more than two days
// old (the schedule is daily); never having run is fine, reconciliation is optional.
const RECONCILE_STALE_MS = 2 * 24 * 3_600_000;

async function reconciliation(ctx: Ctx) {
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

// One line per checklist item, in the checklist's order. A new item is one more line here (its
// function in its own module when it needs more than a query), e.g. reconciliation with Stripe.
export const DAILY_CHECKS: readonly Check<Ctx>[] = [
  { name: 'events_today', run: eventsToday },
  { name: 'last_sync', run: lastSync },
  { name: 'status_distribution', run: statusDistribution },
  { name: 'mass_stop', run: massStop },
  { name: 'recent_stops', run: recentStops },
  { name: 'webhook_rejections_24h', run: rejections },
  { name: 'duplicate_dedupe_keys', run: duplicates },
  { name: 'last_event_mismatch', run: lastEventJoin },
  { name: 'gate_probe', run: gateProbe },
  { name: 'delivery_backlog', run: backlog },
  { name: 'dead_letters', run: deadLetters },
  { name: 'overdue_cancels', run: overdue },
  { name: 'temporal', run: temporal },
  { name: 'reconciliation', run: reconciliation },
  { name: 'table_growth', run: (ctx) => tableGrowth(ctx, T.DAY_TIME_ZONE) },
];

/** Runs the daily check and keeps its result in daily_check_runs (unless `keep: false`). */
export async function runDailyCheck(
  pool: pg.Pool,
  opts: DailyCheckOptions,
): Promise<DailyCheckResult> {
  const now = opts.now ?? new Date();
  const temporal = opts.temporal;
  let probe: Promise<boolean | null> | undefined;
  const reachable = () =>
    (probe ??= temporal ? temporal.reachable(T.TEMPORAL_TIMEOUT_MS) : Promise.resolve(null));
  const items = await runChecks(DAILY_CHECKS, {
    pool,
    now,
    // Unreadable thresholds (database down) judge by the defaults; the items say what is wrong.
    thresholds: opts.thresholds ?? (await loadThresholds(pool).catch(() => defaultThresholds())),
    gatedActions: opts.gatedActions ?? ['confirm'],
    temporal,
    temporalReachable: reachable,
  });
  const result = summarize(items, now, opts.trigger);
  if (opts.keep === false) return result;
  try {
    await insertDailyCheckRun(pool, {
      ran_at: result.ran_at,
      trigger: result.trigger,
      ok: result.ok,
      result,
    });
    return result;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const notKept: CheckItem = {
      name: 'result_kept',
      status: 'fail',
      value: null,
      message: `The result could not be saved in daily_check_runs: ${reason}`,
    };
    return summarize([...items, notKept], now, opts.trigger);
  }
}

function summarize(items: CheckItem[], now: Date, trigger: DailyCheckTrigger): DailyCheckResult {
  const status = worstStatus(items);
  return { ok: status !== 'fail', status, ran_at: now.toISOString(), trigger, items };
}
