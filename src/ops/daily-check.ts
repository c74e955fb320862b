// The operations checklist's "daily 5-minute check" (SPEC §5, §7) as data: one small check per
// line of the checklist, each ok / warn / fail, and every run kept in daily_check_runs. Runs from
// the CLI, from GET /v1/ops/daily-check and from the Temporal Schedule `billing-daily-check`.
// The items live in their own modules, by what they look at; DAILY_CHECKS lists them in order.
import type pg from 'pg';

import { insertDailyCheckRun } from '../db/queries/daily-check-runs';
import { type Check, type CheckItem, type CheckStatus, runChecks, worstStatus } from './check-item';
import { duplicates, lastEventJoin } from './consistency-checks';
import {
  DAILY_CHECK_THRESHOLDS as T,
  type DailyCheckCtx,
  type TemporalProbe,
} from './daily-check-context';
import { eventsToday, lastSync, rejections } from './intake-checks';
import { notifications } from './notification-checks';
import { backlog, deadLetters, overdue, temporal } from './processing-checks';
import { reconciliation } from './reconciliation-check';
import { gateProbe, massStop, recentStops, statusDistribution } from './status-checks';
import { tableGrowth } from './table-growth';
import { thinEvents } from './thin-events-check';
import { defaultThresholds, loadThresholds, type Thresholds } from './thresholds';

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
  /** Whether STRIPE_API_KEY is set where the check runs (Stripe thin events need it). */
  stripeApiKeySet?: boolean;
}

// One line per checklist item, in the checklist's order. A new item is one more line here (its
// function in its own module when it needs more than a query), e.g. reconciliation with Stripe.
export const DAILY_CHECKS: readonly Check<DailyCheckCtx>[] = [
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
  { name: 'stripe_thin_events', run: thinEvents },
  { name: 'notifications', run: notifications },
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
    stripeApiKeySet: opts.stripeApiKeySet ?? null,
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
