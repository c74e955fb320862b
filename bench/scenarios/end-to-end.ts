// Sustained end-to-end: from the first request until every acknowledged event is applied, over a
// few busy accounts or many distinct ones.
import type pg from 'pg';

import type { Figure } from '../figure';
import { drained } from '../load';
import { epochMs, webhooks } from '../load-plan';

export interface EndToEndRun {
  pool: pg.Pool;
  classicUrl: string;
  /** The service's Stripe webhook URL. */
  url: string;
  tag: string;
  events: number;
  accounts: number;
}

export async function endToEnd(run: EndToEndRun): Promise<Figure> {
  const { pool, classicUrl, url, tag, events, accounts } = run;
  const prefix = `e${tag}_${accounts}_`;
  const job = (target: string, to: string) =>
    webhooks(target, { prefix: to, modulo: accounts }, events);
  const base = await job(`${classicUrl}/webhooks/stripe`, `${prefix}c`);
  // From the first request (the generator process starts first) until every event is applied.
  const { started_at_ms } = await job(url, prefix);
  await drained(pool, prefix);
  const seconds = (epochMs() - started_at_ms) / 1000;
  // One wake-up applies every event of its account that is stored by then (one processed_at).
  const w = await pool.query<{ wakeups: number }>(
    `SELECT count(DISTINCT (account_id, processed_at))::int AS wakeups
       FROM billing_events WHERE account_id LIKE $1`,
    [`${prefix}%`],
  );
  const wakeups = w.rows[0]?.wakeups ?? 0;
  return {
    value: events / seconds,
    baseline: base.perSecond,
    unit: 'events/s applied',
    extra: { wakeups_per_s: wakeups / seconds, events_per_wakeup: events / Math.max(1, wakeups) },
  };
}
