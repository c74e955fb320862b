// The daily check's items on processing: stored events waiting for delivery, dead letters, cancel
// timers that did not fire, and whether Temporal answers at all.
import { overdueCancels } from '../db/queries/billing-accounts';
import { unprocessedBacklog } from '../db/queries/event-deliveries';
import { countDeadLetters, listDeadLetters } from '../db/queries/event-deliveries';
import { type CheckOutcome, fail, ok, warn } from './check-item';
import { ago, DAILY_CHECK_THRESHOLDS as T, type DailyCheckCtx } from './daily-check-context';

export async function backlog(ctx: DailyCheckCtx): Promise<CheckOutcome> {
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

export async function deadLetters(ctx: DailyCheckCtx): Promise<CheckOutcome> {
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

export async function overdue(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const rows = await overdueCancels(ctx.pool, ago(ctx, T.OVERDUE_CANCEL_MS));
  if (rows.length > 0) {
    return warn(
      { count: rows.length, accounts: rows },
      `${rows.length} account(s) are still canceling more than 1 h after their cancel time; a timer did not fire.`,
    );
  }
  return ok({ count: 0, accounts: [] }, 'No account is canceling past its cancel time.');
}

export async function temporal(ctx: DailyCheckCtx): Promise<CheckOutcome> {
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
