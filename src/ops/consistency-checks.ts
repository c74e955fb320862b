// The daily check's items on what is stored: no event stored twice, and every account matching
// the event that last changed it.
import { lastEventMismatches } from '../db/queries/billing-accounts';
import { duplicateDedupeKeys } from '../db/queries/billing-events-checks';
import { type CheckOutcome, fail, ok } from './check-item';
import type { DailyCheckCtx } from './daily-check-context';

export async function duplicates(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const dup = await duplicateDedupeKeys(ctx.pool);
  if (dup.total > 0)
    return fail(
      dup,
      `${dup.total} dedupe_key(s) are stored more than once; events may have been applied twice.`,
    );
  return ok(dup, 'No dedupe_key is stored twice.');
}

export async function lastEventJoin(ctx: DailyCheckCtx): Promise<CheckOutcome> {
  const rows = await lastEventMismatches(ctx.pool);
  if (rows.length > 0) {
    return fail(
      { count: rows.length, rows },
      `${rows.length} account(s) do not match the event that last changed them; run integrity-check.`,
    );
  }
  return ok({ count: 0, rows }, 'Every account matches the applied event that last changed it.');
}
