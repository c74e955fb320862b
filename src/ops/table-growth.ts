// The checklist's monthly 肥大化 check: how big each table is and how many events and audit rows
// each month added. Reported, not judged: growth is normal; the numbers tell an operator when
// archiving is due.
import { monthlyGrowth, tableSizes } from '../db/queries/daily-check';
import { type CheckOutcome, ok } from './check-item';
import type { DailyCheckCtx } from './daily-check-context';

export const GROWTH_TABLES = [
  'billing_events',
  'audit_logs',
  'billing_accounts',
  'webhook_rejections',
  'event_deliveries',
  'daily_check_runs',
  'billing_event_payloads_archive',
] as const;

/** A year of months, as the monthly 肥大化 check compares. */
const MONTHS = 12;

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export async function tableGrowth(ctx: DailyCheckCtx, timeZone: string): Promise<CheckOutcome> {
  const [sizes, months] = await Promise.all([
    tableSizes(ctx.pool, GROWTH_TABLES),
    monthlyGrowth(ctx.pool, ctx.now.toISOString(), MONTHS, timeZone),
  ]);
  const total = sizes.reduce((sum, t) => sum + t.total_bytes, 0);
  const thisMonth = months[months.length - 1];
  const value = { total_bytes: total, tables: sizes, months };
  const biggest = [...sizes].sort((a, b) => b.total_bytes - a.total_bytes)[0];
  return ok(
    value,
    `Tables take ${formatBytes(total)}${biggest ? ` (largest: ${biggest.table} ${formatBytes(biggest.total_bytes)})` : ''}; ` +
      `${thisMonth ? `${thisMonth.month} added ${thisMonth.events} event(s) and ${thisMonth.audit_rows} audit row(s)` : 'no events in the last months'}.`,
  );
}
